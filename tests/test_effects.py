"""Conditional effects, Johnson-Neyman regions, per-SD interactions (effectmod.inference.effects)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import effectmod as em
from effectmod.data.trial import ModeratorData
from effectmod.engines.base import Contrast
from effectmod.engines.logistic import fit_logistic
from effectmod.engines.ols import fit_ols
from effectmod.inference.additive import additive_interaction
from effectmod.inference.effects import conditional_effects, forest_values, jn_boundaries, johnson_neyman, risk_difference
from effectmod.inference.pooling import pool
from effectmod.models.design import Design
from effectmod.models.fit import FittedModel
from effectmod.models.spec import ModelSpec

REF = Path(__file__).parent / "reference" / "btheb_effects"
# lm/emmeans and effectmod both solve least squares exactly; R prints 17 digits.
LINEAR_RTOL = 1e-8
# lmerTest optimises REML with bobyqa (rhoend 1e-12); effectmod converges to 1e-10 relative
# (CONTRACT §3), so estimates agree to about 1e-7 and Satterthwaite df to about 1e-6.
MIXED_RTOL = 1e-5
# R's uniroot on the mixed JN criterion was run with tol 1e-13 on moderator values of ~20-60.
MIXED_JN_ATOL = 1e-5
# Boundaries found by two different algorithms in double precision (closed form vs brentq).
ROOT_ATOL = 1e-8


@pytest.fixture(scope="module")
def btheb():
    return em.analyze(REF / "data.csv", REF / "plan.yaml")


def _ref_key(df):
    return df.assign(timepoint=df["timepoint"].astype(str))


# ------------------------------------------------------------------ R references
def test_conditional_effects_match_r(btheb):
    ref = _ref_key(pd.read_csv(REF / "conditional_effects.csv", keep_default_na=False))
    ours = btheb.sections["conditional_effects"]
    assert len(ours) == len(ref) == 64
    merged = ref.merge(ours, on=["model", "timepoint", "moderator", "percentile"], suffixes=("_r", ""))
    assert len(merged) == len(ref)
    for model, rtol in (("linear", LINEAR_RTOL), ("mixed", MIXED_RTOL)):
        m = merged[merged["model"] == model]
        for col in ("effect", "std_error", "df", "ci_low", "ci_high", "p_value"):
            np.testing.assert_allclose(m[col].astype(float), m[f"{col}_r"].astype(float), rtol=rtol, err_msg=f"{model} {col}")
        cont = m[m["moderator"] == "bdi_pre"]
        np.testing.assert_allclose(cont["moderator_value"].astype(float), cont["moderator_value_r"].astype(float), rtol=1e-12)
    assert set(ours.loc[ours["moderator"] == "drug", "moderator_value"]) == {"No", "Yes"}


def test_johnson_neyman_matches_r(btheb):
    ref = _ref_key(pd.read_csv(REF / "jn.csv"))
    ours = btheb.sections["johnson_neyman"]
    merged = ref.merge(ours, on=["model", "timepoint", "moderator"], suffixes=("_r", ""))
    assert len(merged) == len(ref) == 8
    for _, r in merged.iterrows():
        if np.isnan(r["lower_r"]):   # no root found by R on [-200, 300]
            assert r["significant_region"] == "nowhere" or not (-200 < r["lower"] < 300)
            continue
        atol = ROOT_ATOL if r["model"] == "linear" else MIXED_JN_ATOL
        assert r["lower"] == pytest.approx(r["lower_r"], abs=atol)
        assert r["upper"] == pytest.approx(r["upper_r"], abs=atol)
        assert r["df"] == pytest.approx(r["df_lower"], rel=MIXED_RTOL)
        assert r["df_upper"] == pytest.approx(r["df_upper_r"], rel=MIXED_RTOL)
    # the mixed model's df differs between the two boundaries (iterated per boundary)
    m4 = merged[(merged["model"] == "mixed") & (merged["timepoint"] == "4")].iloc[0]
    assert abs(m4["df"] - m4["df_upper"]) > 1.0


# ------------------------------------------------------------------ independent closed form
def test_linear_effects_and_jn_from_coef_and_vcov(btheb):
    """Refit by numpy least squares and find the JN roots by bracketing, not the quadratic."""
    fm = next(f for f in btheb.fitted if f.spec.kind == "linear" and f.spec.moderator == "bdi_pre" and f.spec.timepoint == "4")
    X, y = fm.design.X, fm.design.y
    b, *_ = np.linalg.lstsq(X, y, rcond=None)
    df = X.shape[0] - X.shape[1]
    V = (np.sum((y - X @ b) ** 2) / df) * np.linalg.inv(X.T @ X)
    it, ii = fm.design.index("treat"), fm.design.index("treat:mod")
    q = stats.t.ppf(0.975, df)

    def eff(m):
        # the design holds the moderator centred (Design.mod_centre); m is in raw units
        L = np.zeros(len(b))
        L[it], L[ii] = 1.0, fm.design.centred([m])[0]
        return L @ b, math.sqrt(L @ V @ L)

    ce = btheb.sections["conditional_effects"]
    rows = ce[(ce["model"] == "linear") & (ce["moderator"] == "bdi_pre") & (ce["timepoint"] == "4")]
    for _, r in rows.iterrows():
        e, s = eff(float(r["moderator_value"]))
        assert r["effect"] == pytest.approx(e, rel=1e-9)
        assert r["std_error"] == pytest.approx(s, rel=1e-9)
        assert r["ci_low"] == pytest.approx(e - q * s, rel=1e-9)
    crit = lambda m: abs(eff(m)[0]) / eff(m)[1] - q  # noqa: E731
    grid = np.linspace(-100, 200, 3001)
    g = np.array([crit(m) for m in grid])
    roots = [optimize.brentq(crit, grid[i], grid[i + 1], xtol=1e-13) for i in np.flatnonzero(np.diff(np.sign(g)))]
    jn = btheb.sections["johnson_neyman"]
    r = jn[(jn["model"] == "linear") & (jn["timepoint"] == "4")].iloc[0]
    assert [r["lower"], r["upper"]] == pytest.approx(roots, abs=ROOT_ATOL)


def test_mixed_boundaries_satisfy_their_own_df(btheb):
    """At each mixed-model boundary, |t| equals the t quantile at that point's own Satterthwaite df."""
    fm = next(f for f in btheb.fitted if f.spec.kind == "mixed" and f.spec.moderator == "bdi_pre")
    jn = btheb.sections["johnson_neyman"]
    bounded = jn[jn["model"] == "mixed"].dropna(subset=["lower", "upper"])
    assert sorted(bounded["timepoint"].astype(str)) == ["2", "4"]     # as R's jn.csv: not a vacuous loop
    for _, r in bounded.iterrows():
        for m, df in ((r["lower"], r["df"]), (r["upper"], r["df_upper"])):
            c = fm.fit.contrast(fm.design.effect_L(np.array([m]), r["timepoint"]))
            assert c.df == pytest.approx(df, rel=1e-12)
            assert abs(c.statistic) == pytest.approx(c.quantile(0.95), rel=1e-9)


# ------------------------------------------------------------------ constructed cases: signs, clipping
@dataclass(frozen=True)
class FakeFit:
    coef: np.ndarray
    vcov: np.ndarray
    names: tuple
    df: float = math.inf

    def contrast(self, L):
        L = np.asarray(L, float)
        return Contrast(float(L @ self.coef), math.sqrt(float(L @ self.vcov @ L)), self.df)


def _case(b1, b3, v11, v13, v33, observed, df=math.inf):
    names = ("(Intercept)", "treat", "mod", "treat:mod")
    V = np.zeros((4, 4))
    V[1, 1], V[1, 3], V[3, 1], V[3, 3] = v11, v13, v13, v33
    V[0, 0] = V[2, 2] = 1.0
    fit = FakeFit(np.array([0.0, b1, 0.0, b3]), V, names, df)
    n = len(observed)
    design = Design(np.zeros((n, 4)), np.zeros(n), names, np.arange(n), ("mod",), ("",), timepoints=("1",))
    fm = FittedModel(ModelSpec("linear", "y", "m", "1"), design, fit)
    trial = SimpleNamespace(moderators={"m": ModeratorData("m", "M", "continuous", np.asarray(observed, float), "m")})
    plan = SimpleNamespace(analysis=SimpleNamespace(ci_level=0.95),
                           moderators=[SimpleNamespace(name="m", label="M", at=[])])
    return johnson_neyman([fm], trial, plan).iloc[0], conditional_effects([fm], trial, plan)


def test_sign_labels_when_effect_crosses_zero():
    r, _ = _case(-3.0, 0.5, 0.04, 0.0, 0.0004, np.linspace(0, 12, 50))
    assert r["significant_region"] == "outside"
    assert r["lower"] < 6 < r["upper"]
    assert r["sign_description"].startswith(f"effect < 0 for M below {r['lower']:.4g}; effect > 0 for M above")


def test_negative_region_is_labelled_negative():
    # effect -2 everywhere, precise only near m = 0: the significant region is inside the roots
    r, ce = _case(-2.0, 0.0, 0.25, 0.0, 0.25, np.linspace(-5, 5, 40))
    assert r["significant_region"] == "inside"
    assert "effect < 0 for M between" in r["sign_description"]
    assert "effect > 0" not in r["sign_description"]
    half = math.sqrt(16 / stats.norm.ppf(0.975) ** 2 - 1)   # 4 = q^2 (0.25 + 0.25 m^2)
    assert [r["lower"], r["upper"]] == pytest.approx([-half, half], abs=1e-12)
    # and a positive region mirrored is labelled positive
    r2, _ = _case(2.0, 0.0, 0.25, 0.0, 0.25, np.linspace(-5, 5, 40))
    assert "effect > 0 for M between" in r2["sign_description"] and "effect < 0" not in r2["sign_description"]


def test_everywhere_and_nowhere():
    r, _ = _case(-2.0, 0.0, 0.01, 0.0, 0.0, np.linspace(0, 10, 20))
    assert r["significant_region"] == "everywhere" and np.isnan(r["lower"])
    assert r["sign_description"].startswith("effect < 0 across the whole observed range 0 to 10")
    # significant inside roots (about -102 and 102) that enclose the whole observed range
    r, _ = _case(-2.0, 0.0, 0.01, 0.0, 0.0001, np.linspace(0, 10, 20))
    assert r["significant_region"] == "inside" and r["lower"] < 0 and r["upper"] > 10
    assert r["sign_description"].startswith("effect < 0 across the whole observed range 0 to 10")
    r, _ = _case(0.1, 0.0, 1.0, 0.0, 1.0, np.linspace(0, 10, 20))
    assert r["significant_region"] == "nowhere" and r["significant_observed"] == "none"
    assert r["sign_description"].startswith("CI includes 0 across the observed range")


def test_clipping_to_the_observed_range():
    # crossing case (roots near 5.1 and 6.9) observed only between 5.5 and 6.5: nothing significant there
    r, _ = _case(-3.0, 0.5, 0.04, 0.0, 0.0004, np.linspace(5.5, 6.5, 30))
    assert r["significant_region"] == "outside" and 4 < r["lower"] < 5.5 and 6.5 < r["upper"] < 8
    assert r["significant_observed"] == "none"
    assert "CI includes 0 across the observed range 5.5 to 6.5" in r["sign_description"]
    # observed between 0 and 6: only the negative part, clipped at the observed minimum
    r, _ = _case(-3.0, 0.5, 0.04, 0.0, 0.0004, np.linspace(0, 6, 30))
    assert r["significant_observed"] == f"[0, {r['lower']:.4g}]"
    assert "effect > 0" not in r["sign_description"]


def test_quadratic_roots_closed_form():
    # (b1 + m b3)^2 = q^2 (v11 + m^2 v33) with b1 = 0: m = +-q sqrt(v11) / sqrt(b3^2 - q^2 v33)
    q = 2.0
    roots = jn_boundaries(0.0, 1.0, 1.0, 0.0, 0.01, q)
    x = q / math.sqrt(1.0 - q * q * 0.01)
    assert roots == pytest.approx((-x, x), rel=1e-14)
    assert jn_boundaries(1.0, 0.0, 1.0, 0.0, 1.0, 2.0) == ()


# ------------------------------------------------------------------ pooled (MI) fits: Barnard-Rubin df per point
def test_pooled_fit_boundaries_use_the_df_at_each_boundary(btheb):
    fm = next(f for f in btheb.fitted if f.spec.kind == "linear" and f.spec.moderator == "bdi_pre" and f.spec.timepoint == "2")
    rng = np.random.default_rng(7)
    X, y = fm.design.X, fm.design.y
    fits = [fit_ols(X, y + rng.normal(0, 3, len(y)), fm.design.names) for _ in range(5)]
    pooled = pool(fits, df_complete=fits[0].df_resid)
    pfm = FittedModel(fm.spec, fm.design, pooled)
    jn = johnson_neyman([pfm], btheb.trial, btheb.plan).iloc[0]
    assert not np.isnan(jn["lower"])
    for m, df in ((jn["lower"], jn["df"]), (jn["upper"], jn["df_upper"])):
        if np.isnan(m):
            continue
        c = pooled.contrast(fm.design.effect_L(np.array([m])))
        assert c.df == pytest.approx(df, rel=1e-12) and c.df < fits[0].df_resid
        assert abs(c.statistic) == pytest.approx(c.quantile(0.95), rel=1e-9)
    ce = conditional_effects([pfm], btheb.trial, btheb.plan)
    assert ce["df"].nunique() > 1   # Barnard-Rubin df differs between moderator values


# ------------------------------------------------------------------ logistic: risk difference per level
def test_logistic_risk_difference_rows_agree_with_additive_interaction():
    rng = np.random.default_rng(3)
    n = 400
    t, mod, cov = rng.integers(0, 2, n), rng.integers(0, 2, n), rng.normal(size=n)
    eta = -0.5 + 0.8 * t + 0.3 * mod - 0.9 * t * mod + 0.5 * cov
    yv = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    names = ("(Intercept)", "treat", "mod", "cov[x]", "treat:mod")
    X = np.column_stack([np.ones(n), t, mod, cov, t * mod]).astype(float)
    fit = fit_logistic(X, yv, names=names)
    design = Design(X, yv, names, np.arange(n), ("mod",), ("",), timepoints=("1",))
    rd1, rd0 = risk_difference(fit, design, np.array([1.0])), risk_difference(fit, design, np.array([0.0]))
    both = additive_interaction(fit, X, "treat", "mod", "treat:mod", "binary")
    assert rd1.estimate - rd0.estimate == pytest.approx(both.estimate, rel=1e-12)
    trial = SimpleNamespace(moderators={"m": ModeratorData("m", "M", "binary", mod.astype(float), "m", ("no", "yes"))})
    plan = SimpleNamespace(analysis=SimpleNamespace(ci_level=0.95), moderators=[SimpleNamespace(name="m", label="M", at=[])])
    ce = conditional_effects([FittedModel(ModelSpec("logistic", "y", "m", "1"), design, fit)], trial, plan)
    assert list(ce["scale"]) == ["log odds ratio", "risk difference"] * 2
    rd = ce[(ce["scale"] == "risk difference") & (ce["moderator_value"] == "yes")].iloc[0]
    assert rd["effect"] == pytest.approx(rd1.estimate) and math.isinf(rd["df"])
    # the delta-method SE against a numerical gradient
    eps = 1e-6
    grad = np.array([(risk_difference(SimpleNamespace(coef=fit.coef + eps * e, vcov=fit.vcov), design, np.array([1.0])).estimate
                      - rd1.estimate) / eps for e in np.eye(len(names))])
    assert rd1.std_error == pytest.approx(math.sqrt(grad @ fit.vcov @ grad), rel=1e-4)


# ------------------------------------------------------------------ per-SD interaction and forest values
def test_per_sd_columns(btheb):
    data = pd.read_csv(REF / "data.csv")
    sd = data.loc[data["bdi.2m"].notna(), "bdi.pre"].std(ddof=1)
    t = btheb.table
    r = t[(t["model"] == "linear") & (t["moderator"] == "bdi_pre") & (t["timepoint"] == "2")].iloc[0]
    assert r["moderator_sd"] == pytest.approx(sd, rel=1e-12)
    assert r["estimate_per_sd"] == pytest.approx(r["estimate"] * sd, rel=1e-12)
    assert r["ci_high_per_sd"] == pytest.approx(r["ci_high"] * sd, rel=1e-12)
    assert t.loc[t["moderator"] == "drug", "estimate_per_sd"].isna().all()
    assert list(t.columns[-4:]) == ["estimate_per_sd", "ci_low_per_sd", "ci_high_per_sd", "moderator_sd"]


def test_forest_values_scales(btheb):
    raw, per_sd = forest_values(btheb.table, "raw"), forest_values(btheb.table, "per_sd")
    cont = per_sd["moderator"] == "bdi_pre"
    np.testing.assert_allclose(per_sd.loc[cont, "estimate"], btheb.table.loc[btheb.table["moderator"] == "bdi_pre", "estimate_per_sd"])
    np.testing.assert_array_equal(per_sd.loc[~cont, "estimate"], raw.loc[~cont, "estimate"])
    assert set(per_sd.loc[cont, "unit"]) == {"per SD"} and set(raw.loc[~cont, "unit"]) == {"level vs reference"}
    with pytest.raises(ValueError):
        forest_values(btheb.table, "log")
    with pytest.raises(ValueError):
        forest_values(btheb.table.drop(columns=["moderator_sd"]), "per_sd")


def test_sections_are_written(btheb, tmp_path, no_figures):
    out = btheb.write(tmp_path / "out")
    for name in ("conditional_effects", "johnson_neyman", "credibility"):
        written = pd.read_csv(out / f"{name}.csv", keep_default_na=False, na_values=[""])
        assert len(written) == len(btheb.sections[name]) > 0, name
    ce = pd.read_csv(out / "conditional_effects.csv")
    assert list(ce.columns[:9]) == ["outcome", "timepoint", "moderator", "moderator_value", "effect", "std_error",
                                   "ci_low", "ci_high", "p_value"]
    jn = pd.read_csv(out / "johnson_neyman.csv")
    assert list(jn.columns[:8]) == ["outcome", "timepoint", "moderator", "lower", "upper", "significant_region",
                                   "observed_min", "observed_max"]


# ------------------------------------------------------------------ figures
def test_effect_figures(btheb):
    from effectmod.report.effect_figures import figures_for
    from effectmod.report.figures import svg_bytes

    every = figures_for(btheb, include="all")
    stems = [s for s, _, _ in every]
    assert sorted(stems) == sorted([f"effect_bdi_{t}_bdi_pre" for t in "2468"] + ["subgroups_drug"])
    claims = figures_for(btheb)
    tiers = btheb.table.set_index(["model", "timepoint", "moderator"])["tier"]
    for stem, caption, fig in claims[:-1]:
        t = stem.split("_")[2]
        assert tiers[("linear", t, "bdi_pre")] in ("evidence", "hypothesis-generating")
        assert "Johnson-Neyman" in caption and "BtheB minus TAU" in caption
        assert fig.axes[0].get_xlabel() == "Baseline BDI-II"
        assert "Treatment effect on Beck Depression Inventory II (0-63)" in fig.axes[0].get_ylabel()
    assert claims[-1][0] == "subgroups_drug"
    same = dict((s, f) for s, _, f in every)[claims[0][0]]
    assert svg_bytes(claims[0][2]) == svg_bytes(same)   # deterministic: drawn twice, same bytes
    with pytest.raises(ValueError):
        figures_for(btheb, include="some")


def test_multiply_imputed_pipeline_gives_barnard_rubin_effects_and_boundaries():
    import yaml
    plan = yaml.safe_load((REF / "plan.yaml").read_text())
    plan["analysis"].update(imputations=5, sensitivity=[])
    res = em.analyze(REF / "data.csv", plan)
    ce, jn = res.sections["conditional_effects"], res.sections["johnson_neyman"]
    assert set(ce["n"]) == {100}                      # everyone randomised, after imputation
    assert ce.loc[ce["moderator"] == "bdi_pre", "df"].nunique() > 4
    checked = 0
    for _, r in jn.dropna(subset=["lower", "upper"]).iterrows():
        fm = next(f for f in res.fitted if f.spec.moderator == "bdi_pre" and f.spec.timepoint == r["timepoint"])
        for m, df in ((r["lower"], r["df"]), (r["upper"], r["df_upper"])):
            c = fm.fit.contrast(fm.design.effect_L(np.array([m])))
            assert c.df == pytest.approx(df, rel=1e-12)
            assert abs(c.statistic) == pytest.approx(c.quantile(0.95), rel=1e-9)
            checked += 1
    assert checked >= 2


# A moderator on 1e9 + x holds x to about 1.2e-7 (double precision), so effects computed from it
# agree to about 1e-8 relative; JN boundaries near 1e9 agree to 1e-9 relative.
OFFSET = 1e9
OFFSET_EFFECT_RTOL = 1e-7
OFFSET_JN_RTOL = 1e-9


@pytest.mark.parametrize("model", ["linear", "mixed"])
def test_moderator_offset_shifts_jn_and_leaves_conditional_effects(model):
    from effectmod.simulation import simulate
    sim = simulate("resolve", 276, 3)
    plan = dict(sim.plan)
    plan["moderators"] = [m for m in plan["moderators"] if m["name"] == "back_beliefs"]
    plan["analysis"] = {**plan["analysis"], "sensitivity": [], "model": model}
    shifted = sim.data.copy()
    shifted["bbq"] = shifted["bbq"] + OFFSET
    r0, r1 = em.analyze(sim.data, plan), em.analyze(shifted, plan)
    cols = ["estimate", "std_error", "p_value"]
    np.testing.assert_allclose(r1.table[cols].to_numpy(float), r0.table[cols].to_numpy(float), rtol=1e-6)
    c0, c1 = r0.sections["conditional_effects"], r1.sections["conditional_effects"]
    assert len(c0) == len(c1) > 0
    np.testing.assert_allclose(c1["moderator_value"].to_numpy(float) - OFFSET, c0["moderator_value"].to_numpy(float))
    for col in ("effect", "std_error", "ci_low", "ci_high", "p_value", "df"):
        np.testing.assert_allclose(c1[col].to_numpy(float), c0[col].to_numpy(float), rtol=OFFSET_EFFECT_RTOL)
    j0, j1 = r0.sections["johnson_neyman"], r1.sections["johnson_neyman"]
    assert (j0["significant_region"] == j1["significant_region"]).all()
    for col in ("lower", "upper"):
        a, b = j0[col].to_numpy(float), j1[col].to_numpy(float)
        assert np.array_equal(np.isnan(a), np.isnan(b))
        ok = ~np.isnan(a)
        assert ok.any()
        np.testing.assert_allclose(b[ok], a[ok] + OFFSET, rtol=OFFSET_JN_RTOL)
