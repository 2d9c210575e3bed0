"""Multiple imputation through the pipeline (effectmod.inference.imputation): pooled rows checked
against R on the run's exported completed datasets, determinism, the row contract (n, fmi,
riv, D1 joint rows), the missing-data sections, and MAR-dropout simulations."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

import effectmod as em
from effectmod.data.load import read_data
from effectmod.data.prepare import prepare_trial
from effectmod.errors import PlanError
from effectmod.inference.imputation import PooledMixedFit, _pooled_model, completed_datasets, completed_trials, imputation_frame
from effectmod.inference.pooling import PooledFit
from effectmod.models.fit import fit_model
from effectmod.models.spec import ModelSpec, model_specs
from effectmod.plan.load import load_plan
from effectmod.plan.schema import Plan
from effectmod.report.sentences import interval, number

REF = Path(__file__).parent / "reference" / "mi_e2e"
KEY = ["outcome", "timepoint", "moderator", "term", "model"]
# Linear rows are closed-form arithmetic on both sides (lm + mice::pool): measured 2e-14.
LINEAR_REL_TOL = 1e-10
# Logistic and mixed rows come from iterative fits on both sides. Estimates, SEs and P agree
# to 1e-8 (measured: 1e-9 and 4e-9 relative, P 9e-9 absolute). Their df are looser (measured
# 3e-8): the logistic df are 1e2-2e5, where the between-imputation variance is a difference of
# nearly equal estimates, and the mixed df go through lmerTest's numerical derivatives.
ITERATIVE_TOL = 1e-8
ITERATIVE_DF_REL_TOL = 1e-7
TRUE_INTERACTION = 0.5


def _reference() -> pd.DataFrame:
    ref = pd.read_csv(REF / "reference.csv", dtype={"timepoint": str, "term": str}, keep_default_na=False,
                      na_values=[""])
    ref["term"] = ref["term"].fillna("")
    return ref


def _pool_from_csvs() -> pd.DataFrame:
    """Every model of both plans refitted on the committed completed datasets and pooled."""
    rows = []
    for name in ("plan.yaml", "plan_mixed.yaml"):
        plan = load_plan(REF / name)
        completed = [prepare_trial(read_data(f), plan) for f in sorted(REF.glob("completed_*.csv"))]
        for spec in model_specs(plan, completed[0]):
            rows += _pooled_model(spec, completed, plan, completed[0].n).rows
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def pooled_vs_r():
    merged = _reference().merge(_pool_from_csvs(), on=KEY, how="left", suffixes=("_r", ""), indicator=True)
    assert (merged["_merge"] == "both").all(), "every R row has its effectmod row"
    return merged


@pytest.fixture(scope="module")
def imputed_run():
    return em.analyze(REF / "data.csv", REF / "plan.yaml")


def _rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = ~np.isnan(a)
    assert np.array_equal(ok, ~np.isnan(b)), "the same cells are empty"
    return np.abs(a[ok] - b[ok]) / np.maximum(np.abs(a[ok]), 1e-300)


# ----------------------------------------------------------------------------- pooling == R
def test_linear_rows_match_mice_pool_and_d1(pooled_vs_r):
    lin = pooled_vs_r[pooled_vs_r.model == "linear"]
    assert len(lin) == 20 and (lin.term == "joint").sum() == 4
    for col in ("estimate", "std_error", "df", "p_value", "riv", "fmi", "statistic"):
        assert _rel(lin[f"{col}_r"], lin[col]).max() < LINEAR_REL_TOL, col


@pytest.mark.parametrize("model", ["logistic", "mixed"])
def test_iterative_rows_match_r(pooled_vs_r, model):
    s = pooled_vs_r[pooled_vs_r.model == model]
    assert len(s) == 20 and (s.term == "joint").sum() == 4
    for col in ("estimate", "std_error", "statistic"):
        assert _rel(s[f"{col}_r"], s[col]).max() < ITERATIVE_TOL, col
    assert np.nanmax(np.abs(s.p_value_r - s.p_value)) < ITERATIVE_TOL
    assert _rel(s.df_r, s.df).max() < ITERATIVE_DF_REL_TOL


def test_run_exports_the_committed_completed_datasets():
    # Pins the run to the datasets R pooled. After a deliberate change to the imputation
    # algorithm, regenerate: python make_completed.py && Rscript ref.R (tests/reference/mi_e2e).
    plan = load_plan(REF / "plan.yaml")
    trial = prepare_trial(read_data(REF / "data.csv"), plan)
    frames = completed_datasets(trial, plan)
    files = sorted(REF.glob("completed_*.csv"))
    assert len(frames) == len(files) == plan.analysis.imputations
    for frame, f in zip(frames, files):
        assert frame.to_csv(index=False) == f.read_text(), f.name
    # the responder outcome is derived after imputation, so it does not change what is imputed
    mixed = load_plan(REF / "plan_mixed.yaml")
    for a, b in zip(frames, completed_datasets(prepare_trial(read_data(REF / "data.csv"), mixed), mixed)):
        pd.testing.assert_frame_equal(a, b)


def test_analyze_reports_the_pooled_rows(imputed_run):
    ref = _reference()
    got = imputed_run.table.merge(ref, on=KEY, suffixes=("", "_r"))
    assert len(got) == (ref.model != "mixed").sum()
    assert np.nanmax(np.abs(got.estimate - got.estimate_r)) < ITERATIVE_TOL
    assert np.nanmax(np.abs(got.p_value - got.p_value_r)) < ITERATIVE_TOL


# ----------------------------------------------------------------------------- the rows
def test_rows_n_fmi_riv_and_d1_joint(imputed_run):
    t = imputed_run.table
    assert (t["n"] == 100).all(), "with imputation n is everyone randomised (CONTRACT §4)"
    cols = list(t.columns)
    assert cols.index("fmi") > cols.index("tier") and cols.index("riv") > cols.index("tier")
    level = t[t.term != "joint"]
    assert level[["fmi", "riv", "df"]].notna().all().all() and (level.fmi > 0).all()
    # bdi at 8 months is missing for 48 of 100: the information lost shows
    assert level[(level.timepoint == "8") & (level.model == "linear")].fmi.min() > 0.3
    joint = t[t.term == "joint"]
    assert len(joint) == 8 and (joint.df_num == 2).all() and joint.p_value.between(0, 1).all()
    assert joint.estimate.isna().all() and joint.riv.notna().all()
    # t-based CI on the Barnard-Rubin df
    q = stats.t.ppf(0.975, level.df)
    lin = level.model == "linear"
    assert np.allclose((level.ci_high - level.estimate)[lin], (q * level.std_error)[lin], rtol=1e-12)
    summary = imputed_run.models[0]
    assert summary["imputations"] == 10 and summary["imputation_method"] == "norm"
    assert summary["imputation_iterations"] > 0


def test_missing_data_sections(imputed_run):
    cc = imputed_run.sections["complete_case"]
    assert list(cc.columns) == [*KEY, "estimate", "std_error", "ci_low", "ci_high", "p_value", "n"]
    assert cc[KEY].equals(imputed_run.table[KEY])
    n_cc = cc[(cc.model == "linear") & (cc.outcome == "bdi")].groupby("timepoint")["n"].first()
    assert n_cc.to_dict() == {"2": 97, "4": 73, "6": 58, "8": 52}    # btheb's observed counts
    miss = imputed_run.sections["missingness"]
    eight = miss[miss.variable == "bdi.8m"].set_index("arm")
    assert eight.n_missing.sum() == 48 and set(eight.index) == {"BtheB", "TAU"}
    assert set(miss.role) == {"moderator", "outcome"}    # bdi.pre is a moderator and the baseline
    pat = imputed_run.sections["missing_patterns"]
    assert pat["count"].iloc[:-1].sum() == 100 and pat["n_missing"].iloc[-1] == 3 + 27 + 42 + 48


def test_complete_case_analysis_is_an_etable_beside_the_imputed_table2(imputed_run):
    from effectmod.report.etables import etables
    from effectmod.report.sentences import interval, number
    from effectmod.report.tables import jama_table
    cc = imputed_run.sections["complete_case"]
    found = {e.title: e for e in etables(imputed_run)}
    e = found["Treatment × moderator interactions: complete-case analysis"]
    r = cc[(cc.model == "linear") & cc.estimate.notna()].iloc[0]
    text = f"{number(r.estimate)} ({interval(r.ci_low, r.ci_high)})"
    assert any(c is not None and c.text == text for line in e.table.cells for c in line)
    assert {m for _, _, m in e.table.columns} <= {imputed_run.plan.analysis.model, "logistic"}
    assert not any(c is not None and c.text == text for line in jama_table(imputed_run).cells for c in line)


def test_conditional_effects_use_the_pooled_fit(imputed_run):
    ce = imputed_run.sections["conditional_effects"]
    assert (ce.n == 100).all() and ce.effect.notna().all()
    model = next(f for f in imputed_run.fitted if f.spec.moderator == "bdi_pre" and f.spec.timepoint == "8")
    assert isinstance(model.fit, PooledFit)
    row = ce[(ce.moderator == "bdi_pre") & (ce.timepoint == "8") & (ce.model == "linear")].iloc[0]
    c = model.fit.contrast(model.design.effect_L(np.array([row.moderator_value])))
    assert c.estimate == pytest.approx(row.effect, rel=1e-12) and c.df == pytest.approx(row.df, rel=1e-12)


def test_same_seed_same_files_other_seed_other_numbers(imputed_run, tmp_path):
    def files(res):
        from effectmod.writing import write_csv
        write_csv(res.table, tmp_path / "results.csv")       # as Results.write writes it
        return ((tmp_path / "results.csv").read_text(encoding="utf-8"),
                json.dumps(res.to_dict(), indent=2, ensure_ascii=False, allow_nan=False))

    again = em.analyze(REF / "data.csv", REF / "plan.yaml")
    assert files(again) == files(imputed_run)
    # and the seed matters: another seed imputes other values
    plan = imputed_run.plan
    other = completed_datasets(imputed_run.trial, plan, seed=7)[0]
    assert not other.equals(completed_datasets(imputed_run.trial, plan)[0])


def test_mixed_fit_takes_each_contrasts_mean_satterthwaite_df():
    plan = load_plan(REF / "plan_mixed.yaml")
    trial = prepare_trial(read_data(REF / "data.csv"), plan)
    completed = completed_trials(trial, plan, np.random.default_rng(plan.analysis.seed))[:4]
    spec = ModelSpec("mixed", "bdi", "drug", None)
    model = _pooled_model(spec, completed, plan, trial.n)
    assert isinstance(model.fit, PooledMixedFit)
    L = model.design.interaction_L(0, "6")
    mean_df = np.mean([f.satterthwaite_df(L) for f in model.fit.fits])
    assert np.mean(model.fit.satterthwaite_dfs(L)) == pytest.approx(mean_df, rel=1e-12)
    assert model.fit.contrast(L).df < mean_df            # Barnard-Rubin shrinks the complete-data df
    pooled = PooledFit.contrast(PooledFit(**{k: getattr(model.fit, k) for k in
                                             ("coef", "vcov", "names", "m", "within", "between")},
                                          df_complete=mean_df), L)
    assert model.fit.contrast(L).df == pooled.df


# ----------------------------------------------------------------------------- plan handling
def _plan(**analysis) -> Plan:
    raw = load_plan(REF / "plan.yaml").model_dump(by_alias=True)
    raw["analysis"].update(analysis)
    return Plan.model_validate(raw)


def test_method_key_and_too_few_imputations():
    with pytest.raises(ValueError):
        _plan(imputation_method="mean")
    assert Plan.model_validate({**_plan().model_dump(by_alias=True), "analysis": {}}).analysis.imputation_method == "norm"
    raw = load_plan(REF / "plan.yaml").model_dump(by_alias=True)
    raw["analysis"]["imputations"] = 1          # refused when the plan is read, before any fit
    with pytest.raises(PlanError, match="at least 2"):
        em.analyze(REF / "data.csv", raw)


def test_pmm_imputes_observed_values_only():
    plan = _plan(imputation_method="pmm", imputations=3)
    trial = prepare_trial(read_data(REF / "data.csv"), plan)
    observed = set(trial.outcomes["bdi"].followups["8"][~np.isnan(trial.outcomes["bdi"].followups["8"])])
    for c in completed_trials(trial, plan, np.random.default_rng(1)):
        assert set(c.outcomes["bdi"].followups["8"]) <= observed


def test_imputation_frame_roles():
    plan = load_plan(REF / "plan.yaml")
    trial = prepare_trial(read_data(REF / "data.csv"), plan)
    imp = imputation_frame(trial, plan)
    kinds = {v.name: v for v in imp.variables}
    assert kinds["moderator:drug"].kind == "binary" and kinds["moderator:severity"].kind == "categorical"
    y8 = kinds["outcome:bdi:8"]
    assert (y8.kind, y8.lower, y8.upper, y8.integer) == ("continuous", 0.0, 63.0, True)
    assert imp.baseline_of["bdi"] == imp.moderator_of["bdi_pre"]       # one column, not two
    assert not any(k.startswith("outcome:response") for k in kinds)     # derived, not imputed


def test_bootstrap_beside_imputation_is_complete_case_and_says_so():
    plan = _plan(imputations=2, bootstrap=20)
    plan = plan.model_copy(update={"outcomes": plan.outcomes[:1]})   # linear models: batched bootstrap
    res = em.analyze(REF / "data.csv", plan)
    assert res.table.boot_ci_low.notna().any()
    assert res.table.note.str.contains("bootstrap CI is of the complete-case analysis").all()


# ----------------------------------------------------------------------------- simulations
def _sim_arrays(rng, n):
    """Moderator x, baseline y0, follow-ups y1, y2 with a true treat x x interaction; y2 drops
    out (MAR) mostly when the observed y1 is high. effectmod's complete-case model of y2
    (treat * x + y0) does not contain y1, so selecting on y1 selects on y2's error; the
    imputation model contains y1."""
    arm = rng.permutation(np.r_[np.ones(n // 2), np.zeros(n - n // 2)])
    x, y0, e1 = rng.normal(0, 1, (3, n))
    y1 = 0.5 * y0 + 0.3 * x + 0.4 * arm + TRUE_INTERACTION * arm * x + e1
    y2 = 0.3 * y0 + 0.2 * x + 0.5 * arm + TRUE_INTERACTION * arm * x + 0.8 * e1 + rng.normal(0, 0.6, n)
    y2[rng.random(n) < 0.05 + 0.8 * expit(3.0 * (y1 - 0.5))] = np.nan
    return arm, x, y0, y1, y2


def _sim_trials(rng, n, replicates, plan):
    """The first replicate is coded by prepare_trial; the others reuse its coding with new values
    (data coding is not what is studied here, and it would dominate the run time)."""
    arm, x, y0, y1, y2 = _sim_arrays(rng, n)
    frame = pd.DataFrame({"id": np.arange(n), "arm": np.where(arm == 1, "T", "C"), "x": x, "y0": y0, "y1": y1, "y2": y2})
    first = prepare_trial(frame, plan)
    yield first
    o, mod = first.outcomes["y"], first.moderators["x"]
    for _ in range(replicates - 1):
        arm, x, y0, y1, y2 = _sim_arrays(rng, n)
        yield dataclasses.replace(first, treat=arm, moderators={"x": dataclasses.replace(mod, values=x)},
                                  outcomes={"y": dataclasses.replace(o, baseline=y0, followups={"1": y1, "2": y2})})


def _sim_plan(m: int) -> Plan:
    return Plan.model_validate({
        "data": {"id": "id", "treatment": "arm", "treated": "T", "control": "C"},
        "outcomes": [{"name": "y", "baseline": "y0", "followups": {"1": "y1", "2": "y2"}}],
        "moderators": [{"name": "x", "column": "x", "type": "continuous"}],
        "analysis": {"imputations": m}})


def _mar_study(seed: int, replicates: int, n: int, m: int):
    """Complete-case and imputed interaction at the last follow-up, through the pipeline."""
    plan = _sim_plan(m)
    spec = ModelSpec("linear", "y", "x", "2")
    rng = np.random.default_rng(seed)
    out = []
    for trial in _sim_trials(rng, n, replicates, plan):
        cc = fit_model(spec, trial, plan).rows[0]
        mi = _pooled_model(spec, completed_trials(trial, plan, rng), plan, trial.n).rows[0]
        out.append([cc["estimate"], cc["ci_low"], cc["ci_high"], mi["estimate"], mi["ci_low"], mi["ci_high"]])
    r = np.array(out)

    def summary(est, lo, hi):
        return est.mean() - TRUE_INTERACTION, np.mean((lo <= TRUE_INTERACTION) & (TRUE_INTERACTION <= hi))

    return summary(*r[:, :3].T), summary(*r[:, 3:].T), r[:, 0].std() / math.sqrt(replicates)


def test_mar_dropout_complete_case_biased_imputed_covers():
    (cc_bias, cc_cover), (mi_bias, mi_cover), mcse = _mar_study(2024, 100, 500, 5)
    # Measured (100 replicates, n = 500, m = 5, ~40% dropout at y2, ~8 s): complete cases bias
    # -0.062, 95% CI coverage 0.87; imputed (norm) bias -0.008, coverage 0.94; Monte Carlo SE
    # of the complete-case mean 0.012.
    assert cc_bias < -3 * mcse
    assert abs(mi_bias) < abs(cc_bias) / 2
    assert mi_cover >= 0.92 and mi_cover > cc_cover


@pytest.mark.slow
def test_mar_dropout_simulation_large():
    (cc_bias, cc_cover), (mi_bias, mi_cover), mcse = _mar_study(2025, 500, 1000, 20)
    # Measured (500 replicates, n = 1000, m = 20, ~1-2 min): complete cases bias -0.060,
    # coverage 0.864; imputed bias +0.002, coverage 0.936; Monte Carlo SE of a mean bias 0.004
    # and of a coverage ~0.011.
    assert cc_bias < -6 * mcse
    assert abs(mi_bias) < 3 * mcse
    assert mi_cover >= 0.92 and cc_cover < mi_cover - 0.03


def test_resolve_mar_demo_shows_the_difference():
    # the simulator's data and plan without its truth file (the estimands take ~10 s to compute)
    from effectmod.simulation import _frame, build_plan, scenario_with
    from effectmod.simulation.generate import draw
    scenario = scenario_with("resolve", dropout="mar")
    data = _frame(scenario, draw(scenario, 276, np.random.default_rng(2024), "mar"))
    raw = build_plan(scenario, 2024)
    raw["analysis"] = {**raw["analysis"], "imputations": 5, "sensitivity": []}
    plan = Plan.model_validate(raw)
    trial = prepare_trial(data, plan)
    spec = ModelSpec("linear", "pain", "back_perception", "52")
    cc = fit_model(spec, trial, plan).rows[0]
    mi = _pooled_model(spec, completed_trials(trial, plan, np.random.default_rng(2024)), plan, trial.n).rows[0]
    assert cc["n"] < mi["n"] == trial.n
    # measured: complete cases 0.1306 (n = 243), imputed 0.1242 (n = 276), fmi 0.04
    assert abs(cc["estimate"] - mi["estimate"]) > 1e-3 and mi["fmi"] > 0.01


@pytest.mark.parametrize("se", ["classical", "HC3"])
def test_stacked_linear_fits_equal_single_fits(se):
    from effectmod.engines.ols import fit_ols
    from effectmod.inference.imputation import _fit_all
    from effectmod.models.fit import build_design

    plan = _plan(se=se)
    completed = [prepare_trial(read_data(f), plan) for f in sorted(REF.glob("completed_*.csv"))[:3]]
    spec = ModelSpec("linear", "bdi", "severity", "8")
    designs = [build_design(spec, c, plan) for c in completed]
    stacked, df, _ = _fit_all(spec, designs, plan)
    for fit, d in zip(stacked, designs):
        single = fit_ols(d.X, d.y, d.names, se=se)
        assert df == single.df_resid
        np.testing.assert_allclose(fit.coef, single.coef, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fit.vcov, single.vcov, rtol=1e-9, atol=1e-14)


def test_covariates_and_moderators_imputed_on_their_scales():
    d = pd.read_csv(REF / "data.csv")
    k = np.arange(len(d))
    d["age"] = np.where(k % 7 == 0, np.nan, 30 + k % 20)        # whole numbers 30-49, 15 missing
    d["site"] = np.where(k % 9 == 0, None, np.array(["a", "b", "c"])[k % 3])
    d.loc[k % 11 == 0, "drug"] = None
    raw = load_plan(REF / "plan.yaml").model_dump(by_alias=True)
    raw["covariates"] = ["age", "site"]
    plan = Plan.model_validate(raw)
    trial = prepare_trial(d, plan)
    for c in completed_trials(trial, plan, np.random.default_rng(3)):
        age = c.covariates.matrix[:, c.covariates.names.index("age")]
        assert np.all((age >= 30) & (age <= 49) & (age == np.round(age)))
        sites = c.covariates.matrix[:, [c.covariates.names.index("site=b"), c.covariates.names.index("site=c")]]
        assert np.isin(sites, (0, 1)).all() and (sites.sum(axis=1) <= 1).all()    # one site each
        assert np.isin(c.moderators["drug"].values, (0, 1)).all()
    frame = completed_datasets(trial, plan, seed=3)[0]
    assert frame["site"].isin(["a", "b", "c"]).all() and frame["drug"].isin(["No", "Yes"]).all()


def test_model_not_estimable_keeps_its_rows_with_the_reason():
    d = pd.read_csv(REF / "data.csv").assign(const=5.0)
    raw = load_plan(REF / "plan.yaml").model_dump(by_alias=True)
    raw["outcomes"] = raw["outcomes"][:1]
    raw["moderators"] = [{"name": "const", "column": "const", "type": "continuous"}]
    raw["analysis"]["imputations"] = 2
    res = em.analyze(d, Plan.model_validate(raw))
    assert len(res.table) == 4 and res.table.estimate.isna().all() and (res.table.tier == "not-estimable").all()
    assert res.table.note.str.contains("single value").all() and (res.table.n == 100).all()


# ----------------------------------------------------------------------------- out-of-range diagnostics
def test_imputations_outside_the_observed_range_are_counted_and_the_other_method_reported():
    """Beat the Blues: many BDI dropouts are predicted below 0 (the observed floor), so the norm
    draws fall outside the observed range for 8-11% of the imputed values at 4-8 months."""
    plan = _plan()
    plan = plan.model_copy(update={"outcomes": plan.outcomes[:1]})       # the linear BDI models
    res = em.analyze(REF / "data.csv", plan)
    diag = res.sections["imputation_diagnostics"].set_index("variable")
    raw = pd.read_csv(REF / "data.csv")
    for t, col in (("2", "bdi.2m"), ("4", "bdi.4m"), ("6", "bdi.6m"), ("8", "bdi.8m")):
        assert diag.loc[col, "imputed"] == plan.analysis.imputations * raw[col].isna().sum()
        assert diag.loc[col, "observed_min"] == raw[col].min() and diag.loc[col, "observed_max"] == raw[col].max()
        assert (diag.loc[col, "truncated_low"], diag.loc[col, "truncated_high"]) == (0.0, 63.0)
    # measured: 2 months 0 of 30; 4 months 25 of 270 (9%); 6 months 48 of 420 (11%); 8 months 39 of 480 (8%)
    assert list(diag["sensitivity"]) == [False, True, True, True]
    assert diag.loc["bdi.6m", "pct_outside"] == pytest.approx(
        100 * (diag.loc["bdi.6m", "below_observed"] + diag.loc["bdi.6m", "above_observed"]) / diag.loc["bdi.6m", "imputed"])
    sens = res.sections["imputation_sensitivity"]
    assert set(sens["timepoint"]) == {"4", "6", "8"} and set(sens["method"]) == {"pmm"}
    # the sensitivity rows are exactly what a run with imputation_method: pmm reports
    other = em.analyze(REF / "data.csv", plan.model_copy(update={"analysis": plan.analysis.model_copy(
        update={"imputation_method": "pmm"})}))
    merged = sens.merge(other.table, on=KEY, suffixes=("", "_pmm"))
    assert len(merged) == len(sens)
    np.testing.assert_allclose(merged["estimate"], merged["estimate_pmm"], rtol=1e-12)
    np.testing.assert_allclose(merged["p_value"], merged["p_value_pmm"], rtol=1e-12)
    # the main numbers are those of a run without the diagnostics (the R-checked ones): the
    # sensitivity run does not consume the run's random numbers
    six = res.table[(res.table.timepoint == "6") & (res.table.moderator == "bdi_pre")].iloc[0]
    assert six["note"].startswith("pmm imputation gives β = ")
    assert "bdi.6m 11%" in six["note"]
    two = res.table[(res.table.timepoint == "2") & (res.table.moderator == "bdi_pre")].iloc[0]
    assert "imputation gives" not in two["note"]
    from effectmod.report.html import render_report
    from effectmod.report.paragraph import methods_text
    methods = " ".join(methods_text(res))
    assert "redrawn" in methods and "rounded" in methods and "bdi.6m 48 of 420 (11%)" in methods
    html = render_report(res, [])
    assert "Imputed values outside the observed range" in html and "Imputation sensitivity" in html
    assert json.loads(json.dumps(res.to_dict()))["imputation_diagnostics"][2]["variable"] == "bdi.6m"


def test_reference_imputed_rows_unchanged_by_the_diagnostics(imputed_run):
    # the R comparison above uses the same run; here: its rows' numbers do not depend on whether
    # the sensitivity run happened (the plan's seed drives both, from fresh generators)
    plan = _plan()
    trial = prepare_trial(read_data(REF / "data.csv"), plan)
    completed = completed_trials(trial, plan, np.random.default_rng(plan.analysis.seed))
    spec = ModelSpec("linear", "bdi", "bdi_pre", "6")
    row = _pooled_model(spec, completed, plan, trial.n).rows[0]
    got = imputed_run.table[(imputed_run.table.model == "linear") & (imputed_run.table.timepoint == "6")
                            & (imputed_run.table.moderator == "bdi_pre")].iloc[0]
    assert got["estimate"] == row["estimate"] and got["std_error"] == row["std_error"]


def test_no_sensitivity_when_imputations_stay_inside_the_observed_range():
    rng = np.random.default_rng(8)
    n = 300
    x = rng.uniform(0, 10, n)
    y0 = x + rng.uniform(-0.2, 0.2, n)
    y1 = x + rng.uniform(-0.2, 0.2, n)
    y1[(rng.random(n) < 0.25) & (x > 2) & (x < 8)] = np.nan      # missing mid-range only
    frame = pd.DataFrame({"id": np.arange(n), "arm": np.where(np.arange(n) % 2, "T", "C"), "x": x, "y0": y0, "y1": y1})
    plan = Plan.model_validate({
        "data": {"id": "id", "treatment": "arm", "treated": "T", "control": "C"},
        "outcomes": [{"name": "y", "baseline": "y0", "followups": {"1": "y1"}, "range": [-1, 11]}],
        "moderators": [{"name": "x", "column": "x", "type": "continuous"}],
        "analysis": {"imputations": 3}})
    res = em.analyze(frame, plan)
    diag = res.sections["imputation_diagnostics"]
    assert list(diag["variable"]) == ["y1"] and diag["pct_outside"].iloc[0] <= 5
    assert "imputation_sensitivity" not in res.sections
    assert not res.table["note"].str.contains("imputation gives").any()


def test_the_other_methods_estimate_in_a_note_is_per_k_units_too():
    """moderators[].per: the note quoting the other imputation method's estimate uses the row's scale."""
    plan = _plan()
    mods = [m.model_copy(update={"per": 10.0, "units": "points"}) if m.name == "bdi_pre" else m for m in plan.moderators]
    plan = plan.model_copy(update={"outcomes": plan.outcomes[:1], "moderators": mods})
    res = em.analyze(REF / "data.csv", plan)
    sens = res.sections["imputation_sensitivity"].set_index(KEY)
    six = res.table[(res.table.timepoint == "6") & (res.table.moderator == "bdi_pre")].iloc[0]
    s = sens.loc[tuple(six[k] for k in KEY)]
    assert six["per"] == 10.0
    assert six["note"].startswith(f"pmm imputation gives β per 10 points = {number(s['estimate'])} "
                                  f"[95% CI, {interval(s['ci_low'], s['ci_high'])}]")
