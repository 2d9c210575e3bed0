"""Count and ordinal models under multiple imputation: the rate differences (``rate_scale`` and the
``rd_*`` columns) and the category probabilities are computed in each completed dataset and pooled
by Rubin's rules; checked against a hand pooling of each dataset's own numbers."""
from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import special, stats

import effectmod as em
from effectmod.inference.count_effects import model_rate_rows
from effectmod.inference.imputed_effects import rubin

REF = Path(__file__).parent / "reference"


def _hand(q, se, level=0.95):
    """Rubin's rules written out: T = Ubar + (1 + 1/m) B, df = (m - 1) / lambda^2."""
    q, u = np.asarray(q, float), np.asarray(se, float) ** 2
    m = len(q)
    b = q.var(ddof=1)
    t = u.mean() + (1 + 1 / m) * b
    df = (m - 1) / ((1 + 1 / m) * b / t) ** 2
    half = stats.t.ppf(1 - (1 - level) / 2, df) * math.sqrt(t)
    return q.mean(), math.sqrt(t), q.mean() - half, q.mean() + half, 2 * stats.t.sf(abs(q.mean()) / math.sqrt(t), df)


def test_rubin_scalar_matches_the_hand_formula_and_z_without_between_variance():
    got = rubin([1.0, 1.4, 0.7, 1.2], [0.5, 0.6, 0.55, 0.4], 0.9)
    assert (got["estimate"], got["std_error"], got["ci_low"], got["ci_high"], got["p_value"]) == pytest.approx(
        _hand([1.0, 1.4, 0.7, 1.2], [0.5, 0.6, 0.55, 0.4], 0.9), rel=1e-12)
    same = rubin([2.0, 2.0], [0.5, 0.7], 0.95)
    assert same["std_error"] == pytest.approx(math.sqrt((0.25 + 0.49) / 2)) and math.isinf(same["df"])
    assert same["ci_high"] - 2.0 == pytest.approx(stats.norm.ppf(0.975) * same["std_error"])


def test_count_rate_scale_is_pooled_over_the_completed_datasets():
    data = pd.read_csv(REF / "epil_count" / "data.csv").astype({"y4": float})
    data.loc[::6, "y4"] = np.nan
    plan = yaml.safe_load((REF / "epil_count" / "plan.yaml").read_text())
    plan["moderators"] = [m for m in plan["moderators"] if m["name"] in ("base", "age_group")]
    plan["outcomes"] = plan["outcomes"][:1]
    plan["analysis"].update(imputations=4, count_model="negative_binomial")
    res = em.analyze(data, plan)
    rs = res.sections["rate_scale"]
    assert not rs.empty and {"rd_interaction", "rate", "rate_difference"} <= set(rs["quantity"])
    for mod in ("base", "age_group"):
        model = next(f for f in res.fitted if f.spec.moderator == mod)
        m = res.trial.moderators[mod]
        each = [model_rate_rows(SimpleNamespace(design=d, fit=f, spec=model.spec), m.type, m.levels, 0.95)
                for d, f in zip(model.fit.designs, model.fit.fits)]
        assert len(each) == 4
        got = rs[rs["moderator"] == mod].reset_index(drop=True)
        assert len(got) == len(each[0])
        for k, row in got.iterrows():
            q, se = [e[k]["estimate"] for e in each], [e[k]["std_error"] for e in each]
            est, sd, lo, hi, p = _hand(q, se)
            assert (row["estimate"], row["std_error"]) == pytest.approx((est, sd), rel=1e-10)
            if row["quantity"] != "rate":
                assert (row["ci_low"], row["ci_high"], row["p_value"]) == pytest.approx((lo, hi, p), rel=1e-9)
            else:                                   # the interval on the log scale
                assert row["ci_low"] * row["ci_high"] == pytest.approx(est * est, rel=1e-9)
        # the table's rd_* columns hold the pooled rd_interaction rows
        ints = got[got["quantity"] == "rd_interaction"]
        t = res.table[(res.table["moderator"] == mod) & (res.table["term"] != "joint")]
        assert np.allclose(np.sort(t["rd_estimate"].to_numpy()), np.sort(ints["estimate"].to_numpy()), rtol=1e-12)
    # each dataset's rate difference is the standardised one of that dataset's own fit
    model = next(f for f in res.fitted if f.spec.moderator == "age_group")
    d, f = model.fit.designs[1], model.fit.fits[1]
    X1, X0 = d.X.copy(), d.X.copy()
    for X, t in ((X1, 1.0), (X0, 0.0)):
        X[:, d.index("treat")] = t
        for nm in d.mod_names:
            X[:, d.index(nm)] = 0.0
            X[:, d.index(f"treat:{nm}")] = 0.0
    want = np.exp(X1 @ f.coef).mean() - np.exp(X0 @ f.coef).mean()
    row = next(r for r in model_rate_rows(SimpleNamespace(design=d, fit=f, spec=model.spec), "categorical",
                                          res.trial.moderators["age_group"].levels, 0.95)
               if r["quantity"] == "rate_difference" and r["level"] == "25-31")
    assert row["estimate"] == pytest.approx(want, rel=1e-10)


def test_ordinal_category_probabilities_are_pooled_over_the_completed_datasets():
    from effectmod.inference.additive import _set
    from effectmod.inference.ordinal_effects import _with_se
    data = pd.read_csv(REF / "btheb_ordinal" / "data.csv")
    plan = yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text())
    plan["moderators"] = [m for m in plan["moderators"] if m["name"] == "drug"]
    plan["outcomes"][0]["followups"] = {"8": "bdi_cat_8m"}
    plan["analysis"] = {"imputations": 3}
    res = em.analyze(data, plan)
    cp = res.sections["category_probabilities"]
    model = next(f for f in res.fitted if f.spec.kind == "ordinal")
    assert len(cp) == 2 * 2 * 4 and np.isfinite(cp["probability"]).all()
    # each (level, arm): probabilities sum to 1 in every dataset, so the pooled ones do too
    assert np.allclose(cp.groupby(["level", "arm"])["probability"].sum(), 1.0)
    levels = res.trial.moderators["drug"].levels
    for (lv, arm), got in cp.groupby(["level", "arm"], sort=False):
        j, t = levels.index(lv), 1.0 if arm == "treated" else 0.0
        per = []
        for d, f in zip(model.fit.designs, model.fit.fits):
            X = _set(d.X, d.index("treat"), t, [d.index(nm) for nm in d.mod_names],
                     [d.index(f"treat:{nm}") for nm in d.mod_names], [1.0 if j == 1 else 0.0])
            keep = [nm != "(Intercept)" for nm in f.names]
            eta = X[:, keep] @ np.asarray(f.coef)[keep]
            cum = special.expit(np.asarray(f.thresholds)[None, :] - eta[:, None])
            probs = np.diff(np.column_stack([np.zeros(len(eta)), cum, np.ones(len(eta))]), axis=1).mean(axis=0)
            est, se = _with_se(f, X)
            assert np.allclose(est, probs, rtol=1e-12)
            per.append((probs, se))
        for c in range(4):
            est, sd, lo, hi, _ = _hand([p[0][c] for p in per], [p[1][c] for p in per])
            row = got.iloc[c]
            assert (row["probability"], row["std_error"]) == pytest.approx((est, sd), rel=1e-10)
            assert (row["ci_low"], row["ci_high"]) == pytest.approx((max(lo, 0.0), min(hi, 1.0)), rel=1e-9)
