"""Count and ordinal outcomes end to end: the R references (glm poisson, MASS::glm.nb,
ordinal::clm) through ``effectmod.analyze`` and the command line, the plan checks (exit 2 with one
line per problem), `per`, exposure and the report labels."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import effectmod as em
from effectmod.errors import DataError, PlanError

REF = Path(__file__).parent / "reference"
REL = 1e-6


def _plan(case: str, **analysis) -> dict:
    plan = yaml.safe_load((REF / case / "plan.yaml").read_text())
    plan.setdefault("analysis", {}).update(analysis)
    return plan


def _compare(got: pd.DataFrame, ref: pd.DataFrame) -> int:
    got = got.assign(timepoint=got["timepoint"].astype(str), term=got["term"].astype(object).fillna("").astype(str))
    ref = ref.assign(timepoint=ref["timepoint"].astype(str), term=ref["term"].astype(object).fillna("").astype(str))
    keys = ["outcome", "timepoint", "moderator", "term", "model"]
    merged = ref.merge(got, on=keys, suffixes=("_r", "_e"), how="left", validate="one_to_one")
    assert len(merged) == len(ref)
    for _, r in merged.iterrows():
        for col in ("estimate", "std_error", "ci_low", "ci_high"):
            want, have = r[f"{col}_r"], r[f"{col}_e"]
            if isinstance(want, float) and math.isnan(want):
                assert math.isnan(have)
                continue
            assert have == pytest.approx(want, rel=REL, abs=1e-6 * (r["std_error_r"] if r["term"] != "joint" else 1)), (keys, col)
        assert abs(r["p_value_e"] - r["p_value_r"]) < 1e-6
        assert r["n_e"] == r["n_r"] and r["tier_e"] == r["tier_r"]
    return len(merged)


@pytest.mark.parametrize("model", ["poisson", "negative_binomial"])
def test_count_models_agree_with_r(model):
    ref = pd.read_csv(REF / "epil_count" / "reference.csv", keep_default_na=False, na_values=[""])
    ref = ref[ref["model"] == model]
    res = em.analyze(REF / "epil_count" / "data.csv", _plan("epil_count", count_model=model))
    assert set(res.table["model"]) == {model}
    assert _compare(res.table, ref) == 10
    notes = res.table.loc[res.table["model"] == model, "note"]
    if model == "poisson":
        # the trial's counts are overdispersed: every Poisson row says so and recommends NB
        assert all("overdispersion" in n and "negative_binomial" in n for n in notes)
        s = next(f.summary for f in res.fitted if f.spec.moderator == "age" and f.spec.outcome == "seizures4")
        assert s["dispersion_ratio"] > 2 and s["overdispersion_p"] < 1e-3
    else:
        assert not any("overdispersion" in n for n in notes)
        s = next(f.summary for f in res.fitted if f.spec.moderator == "age" and f.spec.outcome == "seizures4")
        extras = pd.read_csv(REF / "epil_count" / "extras.csv")
        want = extras[(extras.outcome == "seizures4") & (extras.moderator == "age") & (extras.model == model)]["theta"].iloc[0]
        assert s["theta"] == pytest.approx(want, rel=REL)


def test_count_per_scales_the_interaction():
    plan = _plan("epil_count", count_model="negative_binomial")
    plan["moderators"] = [dict(plan["moderators"][0], per=10)]
    res = em.analyze(REF / "epil_count" / "data.csv", plan)
    ref = pd.read_csv(REF / "epil_count" / "reference.csv")
    r = ref[(ref.model == "negative_binomial") & (ref.moderator == "age") & (ref.outcome == "seizures4")].iloc[0]
    row = res.table[res.table["outcome"] == "seizures4"].iloc[0]
    assert row["estimate"] == pytest.approx(10 * r.estimate, rel=REL)
    assert row["std_error"] == pytest.approx(10 * r.std_error, rel=REL)
    assert row["p_value"] == pytest.approx(r.p_value, abs=1e-6)
    assert row["per"] == 10


def test_ordinal_agrees_with_clm():
    res = em.analyze(REF / "btheb_ordinal" / "data.csv", yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text()))
    ref = pd.read_csv(REF / "btheb_ordinal" / "reference.csv", keep_default_na=False, na_values=[""])
    assert _compare(res.table, ref) == 6
    po = next(f.summary["proportional_odds"] for f in res.fitted if f.spec.moderator == "drug" and f.spec.timepoint == "2")
    extras = pd.read_csv(REF / "btheb_ordinal" / "extras.csv", dtype={"timepoint": str})
    e = extras[(extras.timepoint == "2") & (extras.moderator == "drug")].iloc[0]
    assert po["treat"]["statistic"] == pytest.approx(e.nominal_lr_treat, rel=1e-5)
    assert po["treat:mod"]["p_value"] == pytest.approx(e.nominal_p_interaction, abs=1e-6)


@pytest.mark.slow
def test_ordinal_agrees_with_clm_through_the_command_line(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "effectmod", "analyze", str(REF / "btheb_ordinal" / "data.csv"),
                          "--plan", str(REF / "btheb_ordinal" / "plan.yaml"), "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "Ratio of ORs" in run.stdout and "Proportional-odds regression" in run.stdout
    got = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    ref = pd.read_csv(REF / "btheb_ordinal" / "reference.csv", keep_default_na=False, na_values=[""])
    assert _compare(got, ref) == 6
    html = (out / "report.html").read_text()
    assert "proportional" in html.lower()


def _epil_frame():
    return pd.read_csv(REF / "epil_count" / "data.csv")


def test_count_and_ordinal_plan_problems_exit_2(tmp_path):
    data = _epil_frame()
    bad = data.astype({"y4": float, "weeks": float})
    bad.loc[0, "y4"] = 2.5
    bad.loc[1, "y4"] = -1
    bad.loc[2, "weeks"] = 0
    with pytest.raises(DataError) as err:
        em.analyze(bad, _plan("epil_count"))
    text = str(err.value)
    assert "whole numbers" in text and "y4" in text and "outcomes[1].exposure" in text
    plan = _plan("epil_count", model="mixed")
    with pytest.raises(PlanError, match="mixed models are not defined for count"):
        em.analyze(data, plan)
    plan = _plan("epil_count")
    plan["outcomes"][0]["levels"] = ["a", "b"]
    with pytest.raises(PlanError, match="levels: only ordinal"):
        em.analyze(data, plan)
    ordinal = yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text())
    ordinal["outcomes"][0]["levels"] = ["minimal", "mild", "moderate"]
    with pytest.raises(DataError, match="not among outcomes\\[0\\].levels"):
        em.analyze(REF / "btheb_ordinal" / "data.csv", ordinal)
    del ordinal["outcomes"][0]["levels"]
    with pytest.raises(DataError, match="levels: required"):
        em.analyze(REF / "btheb_ordinal" / "data.csv", ordinal)
    p = tmp_path / "plan.yaml"
    p.write_text(yaml.safe_dump(_plan("epil_count", count_model="zip")))
    run = subprocess.run([sys.executable, "-m", "effectmod", "validate", str(REF / "epil_count" / "data.csv"), "--plan", str(p)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "count_model" in run.stderr and "Traceback" not in run.stderr


def test_zero_counts_in_a_subgroup_give_a_note_not_a_crash():
    data = _epil_frame()
    data.loc[(data.trt == "progabide") & (data.age_group == "<25"), "y4"] = 0
    res = em.analyze(data, _plan("epil_count"))
    rows = res.table[(res.table.outcome == "seizures4") & (res.table.moderator == "age_group") & (res.table.term == "<25")]
    assert "no events" in rows["note"].iloc[0]


def test_numeric_ordinal_categories_and_unused_levels():
    d = pd.read_csv(REF / "btheb_ordinal" / "data.csv")
    levels = ["minimal", "mild", "moderate", "severe"]
    for c in ("bdi_cat_pre", "bdi_cat_2m", "bdi_cat_8m"):
        d[c] = d[c].map({lv: 10 * (i + 1) for i, lv in enumerate(levels)})
    plan = yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text())
    del plan["outcomes"][0]["levels"]
    res = em.analyze(d, plan)
    ref = pd.read_csv(REF / "btheb_ordinal" / "reference.csv")
    np.testing.assert_allclose(res.table["estimate"].to_numpy(float),
                               ref.set_index(["timepoint", "moderator"]).loc[
                                   list(zip(res.table["timepoint"].astype(int), res.table["moderator"]))]["estimate"].to_numpy(float),
                               rtol=REL)
    # a declared level nobody has is dropped from the model (as clm with droplevels)
    plan = yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text())
    plan["outcomes"][0]["levels"] = ["none", "minimal", "mild", "moderate", "severe", "extreme"]
    again = em.analyze(REF / "btheb_ordinal" / "data.csv", plan)
    np.testing.assert_allclose(again.table["estimate"].to_numpy(float), res.table["estimate"].to_numpy(float), rtol=1e-9)


def test_report_words_name_the_ratio_scales():
    from effectmod.report.key_findings import average_lines
    from effectmod.report.paragraph import methods_text, result_text
    res = em.analyze(REF / "epil_count" / "data.csv", _plan("epil_count", count_model="negative_binomial"))
    methods = " ".join(methods_text(res))
    assert "negative binomial (NB2)" in methods and "ratios of rate ratios" in methods and "rate difference" in methods
    assert all(line.split(": ")[1].startswith("rate ratio") for line in average_lines(res))
    r = next(res.table.itertuples())
    text = result_text(r, 0.95, 0.05)
    assert text.startswith(f"ratio of rate ratios = {math.exp(r.estimate):.2f}")
    assert set(res.sections["rate_scale"]["quantity"]) == {"rd_interaction", "rate_difference", "rate"}
    ordinal = em.analyze(REF / "btheb_ordinal" / "data.csv", yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text()))
    assert "proportional-odds" in " ".join(methods_text(ordinal))
    assert "rd_estimate" not in ordinal.table


def test_long_data_exposure_is_per_visit_row():
    wide = _epil_frame()
    rng = np.random.default_rng(11)
    long = pd.concat([wide[["subject", "trt", "base", "age"]].assign(period=p, y=wide[f"y{p}"], weeks=rng.integers(1, 4, len(wide)))
                      for p in (1, 2, 3, 4)], ignore_index=True)
    plan = {"data": {"id": "subject", "treatment": "trt", "treated": "progabide", "control": "placebo", "time": "period"},
            "outcomes": [{"name": "y", "type": "count", "column": "y", "baseline": 1, "exposure": "weeks"}],
            "moderators": [{"name": "age", "column": "age", "type": "continuous"}],
            "analysis": {"count_model": "negative_binomial"}}
    res = em.analyze(long, plan)
    for t in ("2", "4"):
        at = long[long.period == int(t)].set_index("subject")
        first = long[long.period == 1].set_index("subject")
        w = wide.set_index("subject").assign(y_t=at["y"], y_1=first["y"], weeks_t=at["weeks"]).reset_index()
        wplan = {"data": {"id": "subject", "treatment": "trt", "treated": "progabide", "control": "placebo"},
                 "outcomes": [{"name": "y", "type": "count", "baseline": "y_1", "followups": {t: "y_t"}, "exposure": "weeks_t"}],
                 "moderators": plan["moderators"], "analysis": plan["analysis"]}
        want = em.analyze(w, wplan).table.iloc[0]
        got = res.table[res.table["timepoint"].astype(str) == t].iloc[0]
        assert got["estimate"] == pytest.approx(want["estimate"], rel=1e-9)
        assert got["std_error"] == pytest.approx(want["std_error"], rel=1e-9)


def test_standardised_category_probabilities():
    res = em.analyze(REF / "btheb_ordinal" / "data.csv", yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text()))
    cp = res.sections["category_probabilities"]
    sums = cp.groupby(["timepoint", "moderator", "level", "arm"])["probability"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)
    fm = next(f for f in res.fitted if f.spec.moderator == "drug" and f.spec.timepoint == "2")
    d = fm.design
    Z = d.X.copy()
    Z[:, d.index("treat")] = 1.0
    Z[:, d.index("mod")] = 1.0
    Z[:, d.index("treat:mod")] = 1.0
    want = fm.fit.probabilities(Z @ fm.fit.coef).mean(axis=0)
    got = cp[(cp.timepoint == "2") & (cp.moderator == "drug") & (cp.level == "Yes") & (cp.arm == "treated")]
    np.testing.assert_allclose(got["probability"].to_numpy(), want, rtol=1e-12)
    assert (got["std_error"] > 0).all() and list(got["category"]) == ["minimal", "mild", "moderate", "severe"]


def test_bootstrap_refits_count_models_with_their_exposures():
    from effectmod.engines.negbin import fit_negbin
    from effectmod.inference.bootstrap import bootstrap_draws
    res = em.analyze(REF / "epil_count" / "data.csv", _plan("epil_count", count_model="negative_binomial"))
    fm = next(f for f in res.fitted if f.spec.outcome == "seizures" and f.spec.moderator == "age")
    d = fm.design
    rng = np.random.default_rng(4)
    counts = rng.multinomial(d.n, np.full(d.n, 1.0 / d.n), size=2)
    draws = bootstrap_draws(fm, counts, res.plan)
    for b in range(2):
        idx = np.repeat(np.arange(d.n), counts[b])
        want = fit_negbin(d.X[idx], d.y[idx], d.names, offset=d.offset[idx]).coef[d.index("treat:mod")]
        assert draws[("total", "")][b] == pytest.approx(want, rel=1e-9)


def test_multiple_imputation_of_count_and_ordinal_outcomes():
    from effectmod.inference.imputed_data import imputation_frame
    data = _epil_frame().astype({"y4": float})
    data.loc[::6, "y4"] = np.nan
    plan = _plan("epil_count", count_model="negative_binomial", imputations=3)
    res = em.analyze(data, plan)
    rows = res.table[res.table["term"] != "joint"]
    assert np.isfinite(rows["estimate"]).all() and set(res.table["n"]) == {59}
    frame = imputation_frame(res.trial, res.plan)
    counts = [v for v in frame.variables if v.name.startswith("outcome:seizures4")]
    assert counts and all(v.method == "pmm" and v.integer for v in counts)
    ordinal = em.analyze(REF / "btheb_ordinal" / "data.csv",
                         dict(yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text()), analysis={"imputations": 3}))
    assert np.isfinite(ordinal.table["estimate"]).all() and set(ordinal.table["n"]) == {100}
    kinds = {v.name: v.kind for v in imputation_frame(ordinal.trial, ordinal.plan).variables}
    assert kinds["outcome:bdi_cat:8"] == "categorical" and kinds["baseline:bdi_cat"] == "categorical"
