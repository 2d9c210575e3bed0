"""Predictive heterogeneity (PATH; CONTRACT §6.4): risk-group effects against statsmodels GLMs,
the c-for-benefit against Hmisc::rcorr.cens, shrinkage against the closed-form normal-normal
posterior, the plan's checks, and the output files through the command line."""
import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml

from effectmod.predictive.benefit import c_for_benefit, calibration_for_benefit, harrell_c, match_pairs
from effectmod.predictive.risk import group_effect, risk_groups, risk_interaction
from effectmod.predictive.shrinkage import reml_tau2, shrink

REF = Path(__file__).parent / "reference"
HEADERS = {
    "risk_groups.csv": "outcome,timepoint,risk_group,n_treated,n_control,mean_predicted_risk,absolute_effect,absolute_ci_low,"
                       "absolute_ci_high,relative_effect,relative_ci_low,relative_ci_high",
    "benefit_metrics.csv": "outcome,timepoint,model,metric,estimate,ci_low,ci_high",
    "shrunken_subgroups.csv": "outcome,timepoint,moderator,level,estimate,ci_low,ci_high,shrunken_estimate,shrunken_ci_low,shrunken_ci_high",
}


# ------------------------------------------------------------------ risk groups: hand-fitted GLMs
def _group_data(seed, binary):
    rng = np.random.default_rng(seed)
    n = 157
    treat = (rng.random(n) < 0.5).astype(float)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x - 0.4 * treat)))).astype(float) if binary else 2 + x - 0.7 * treat + rng.normal(size=n)
    return y, treat


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_continuous_group_effect_is_ols_of_y_on_treat(seed):
    y, treat = _group_data(seed, binary=False)
    e = group_effect(y, treat, "continuous", 0.9)
    fit = sm.OLS(y, sm.add_constant(treat)).fit()
    lo, hi = fit.conf_int(alpha=0.1)[1]
    np.testing.assert_allclose(e.absolute, (fit.params[1], lo, hi), rtol=1e-8, atol=1e-10)
    assert all(math.isnan(v) for v in e.relative)
    assert (e.n_treated, e.n_control) == (int(treat.sum()), int((1 - treat).sum()))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_binary_group_effects_are_lpm_hc0_and_logistic_glm(seed):
    y, treat = _group_data(seed, binary=True)
    e = group_effect(y, treat, "binary", 0.95)
    X = sm.add_constant(treat)
    lpm = sm.OLS(y, X).fit(cov_type="HC0")
    lo, hi = lpm.conf_int()[1]
    np.testing.assert_allclose(e.absolute, (lpm.params[1], lo, hi), rtol=1e-8, atol=1e-10)
    glm = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-14)
    lo, hi = glm.conf_int()[1]
    np.testing.assert_allclose(e.relative, np.exp([glm.params[1], lo, hi]), rtol=1e-8)


def test_a_group_without_events_in_an_arm_has_no_odds_ratio():
    y = np.array([0, 0, 0, 1, 0, 1, 0.0])
    treat = np.array([1, 1, 1, 0, 0, 0, 0.0])
    e = group_effect(y, treat, "binary", 0.95)
    assert math.isnan(e.relative[0]) and "no events" in e.note and math.isfinite(e.absolute[0])


def test_risk_groups_quantiles_and_cut_points():
    r = np.arange(1, 101, dtype=float)
    index, bounds = risk_groups(r, 4)
    assert np.bincount(index).tolist() == [25, 25, 25, 25] and bounds[0][0] == -math.inf
    index, bounds = risk_groups(r, [10.0, 50.0])
    assert np.bincount(index).tolist() == [10, 40, 50] and bounds[1] == (10.0, 50.0)


def test_risk_interaction_is_the_treat_by_lp_coefficient():
    rng = np.random.default_rng(5)
    n = 300
    lp, treat = rng.normal(size=n), (rng.random(n) < 0.5).astype(float)
    y = (rng.random(n) < 1 / (1 + np.exp(-(lp + 0.5 * treat * lp)))).astype(float)
    got = risk_interaction(lp, y, treat, "binary")
    X = np.column_stack([np.ones(n), treat, lp, treat * lp])
    glm = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose([got.estimate, got.std_error, got.p_value], [glm.params[3], glm.bse[3], glm.pvalues[3]], rtol=1e-6)


# ------------------------------------------------------------------ c-for-benefit: Hmisc::rcorr.cens
def test_c_for_benefit_equals_hmisc_rcorr_cens_on_the_same_pairs():
    pairs = pd.read_csv(REF / "c_for_benefit" / "pairs.csv")
    ref = pd.read_csv(REF / "c_for_benefit" / "reference.csv").set_index("case")
    for case, g in pairs.groupby("case"):
        got = harrell_c(g["predicted"].to_numpy(), g["observed"].to_numpy())
        assert abs(got - ref.loc[case, "c_index"]) < 1e-12
        assert len(g) == ref.loc[case, "n_pairs"]


def test_matching_pairs_each_treated_with_one_control_at_least_total_distance():
    rng = np.random.default_rng(3)
    b, y, treat = rng.normal(size=40), rng.normal(size=40), np.r_[np.ones(15), np.zeros(25)]
    p = match_pairs(b, y, treat)
    assert len(p.treated) == 15 and len(set(p.control)) == 15 and set(p.control) <= set(range(15, 40))
    np.testing.assert_allclose(p.observed, y[p.treated] - y[p.control])
    # optimal: no swap of two pairs' controls lowers the total distance
    d = np.abs(b[p.treated] - b[p.control]).sum()
    for i in range(15):
        for j in range(i + 1, 15):
            c = p.control.copy()
            c[[i, j]] = c[[j, i]]
            assert np.abs(b[p.treated] - b[c]).sum() >= d - 1e-12


def test_calibration_for_benefit_of_exact_predictions():
    from effectmod.predictive.benefit import MatchedPairs
    pred = np.linspace(-1, 1, 50)
    e, slope = calibration_for_benefit(MatchedPairs(np.arange(50), np.arange(50), pred, 2 * pred))
    assert slope == pytest.approx(2.0) and e > 0
    e, slope = calibration_for_benefit(MatchedPairs(np.arange(50), np.arange(50), pred, pred.copy()))
    assert slope == pytest.approx(1.0) and e == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------ shrinkage: closed form
def _henderson(y, s, tau2):
    """Posterior (BLUP and prediction-error variance) of theta = mu + u from Henderson's mixed
    model equations, flat prior on mu: an independent route to the normal-normal posterior."""
    k = len(y)
    Rinv = np.diag(1 / s ** 2)
    one = np.ones((k, 1))
    C = np.block([[one.T @ Rinv @ one, one.T @ Rinv], [Rinv @ one, Rinv + np.eye(k) / tau2]])
    rhs = np.concatenate([one.T @ Rinv @ y, Rinv @ y])
    sol = np.linalg.solve(C, rhs)
    Cinv = np.linalg.inv(C)
    K = np.hstack([one, np.eye(k)])          # theta_k = mu + u_k
    return K @ sol, np.sqrt(np.diag(K @ Cinv @ K.T))


@pytest.mark.parametrize("tau2", [0.01, 0.3, 4.0])
def test_shrunken_estimates_equal_the_normal_normal_posterior(tau2):
    y = np.array([-1.2, 0.4, 0.1, 2.0])
    s = np.array([0.5, 0.3, 0.8, 1.1])
    post = shrink(y, s, tau2)
    mean, sd = _henderson(y, s, tau2)
    np.testing.assert_allclose(post.estimate, mean, rtol=0, atol=1e-10)
    np.testing.assert_allclose(post.std_error, sd, rtol=0, atol=1e-10)


def test_reml_tau2_maximises_the_restricted_likelihood():
    from scipy.optimize import minimize_scalar
    y = np.array([-1.2, 0.4, 0.1, 2.0, 0.9])
    s = np.array([0.5, 0.3, 0.8, 1.1, 0.4])

    def neg(t2):
        w = 1 / (s ** 2 + t2)
        mu = w @ y / w.sum()
        return 0.5 * (np.sum(np.log(s ** 2 + t2)) + np.log(w.sum()) + w @ (y - mu) ** 2)
    best = minimize_scalar(neg, bounds=(0, 20), method="bounded", options={"xatol": 1e-12}).x
    assert reml_tau2(y, s) == pytest.approx(best, abs=1e-6)
    assert reml_tau2(np.array([0.1, 0.12]), np.array([1.0, 1.0])) == 0.0      # truncated at 0
    same = shrink(np.array([0.1, 0.12]), np.array([1.0, 2.0]))
    assert same.estimate[0] == same.estimate[1] == pytest.approx(same.mean)


# ------------------------------------------------------------------ plan checks


def test_plan_refuses_bad_predictive_keys():
    from effectmod.plan.schema import Plan
    base = yaml.safe_load((REF / "colon_logistic" / "plan.yaml").read_text())
    for bad, words in (({"risk_groups": 1}, "at least 2 groups"), ({"risk_groups": [0.5, 0.2]}, "increasing"),
                       ({"penalty": "elastic"}, "penalty"), ({"shrinkage": False}, "nothing to do"),
                       ({"risk_predictors": ["age", "age"]}, "listed twice"), ({"risk_predictor": ["age"]}, "risk_predictor")):
        with pytest.raises(Exception) as exc:
            Plan.model_validate({**base, "predictive": bad})
        assert words in str(exc.value)



def test_plan_refuses_predictive_for_multi_arm_and_cluster_trials():
    # the predictive analyses compare one arm with the control among independent participants
    from effectmod.plan.schema import Plan
    base = yaml.safe_load((REF / "colon_logistic" / "plan.yaml").read_text())
    section = {"risk_predictors": ["age"]}
    multi = {**base, "data": {**base["data"], "treated": ["Lev", "Lev+5FU"], "control": "Obs"}, "predictive": section}
    clustered = {**base, "data": {**base["data"], "cluster": "id"}, "predictive": section}
    for plan, words in ((multi, "several arms"), (clustered, "data.cluster is set")):
        with pytest.raises(Exception) as exc:
            Plan.model_validate(plan)
        assert words in str(exc.value)

# ------------------------------------------------------------------ simulation: known benefit
def _trial(rng, n, slope, binary=False):
    X = rng.normal(size=(n, 3))
    treat = (rng.random(n) < 0.5).astype(float)
    eta = 0.5 * X[:, 0] + treat * (-0.3 + slope * X[:, 1])
    if binary:
        return X, treat, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return X, treat, eta + rng.normal(size=n)


def _external_c(slope, seed, n=500, binary=False):
    from effectmod.predictive.effect import fit_effect_model
    rng = np.random.default_rng(seed)
    X, treat, y = _trial(rng, n, slope, binary)
    model = fit_effect_model(X, treat, y, "binary" if binary else "continuous", "ridge", 5, seed)
    X2, t2, y2 = _trial(rng, n, slope, binary)       # an independent validation sample
    return c_for_benefit(match_pairs(model.benefit(X2), y2, t2))


@pytest.mark.parametrize("binary", [False, True])
def test_c_for_benefit_separates_varying_from_constant_benefit(binary):
    varying = np.mean([_external_c(1.5 if binary else 1.0, s, binary=binary) for s in range(3)])
    constant = np.mean([_external_c(0.0, s, binary=binary) for s in range(3)])
    assert varying > 0.58
    assert abs(constant - 0.5) < 0.05


def _true_model_slope(seed, n=3000):
    rng = np.random.default_rng(seed)
    X, treat, y = _trial(rng, n, 1.0)
    return calibration_for_benefit(match_pairs(-0.3 + 1.0 * X[:, 1], y, treat))[1]


def test_calibration_for_benefit_slope_of_the_true_model_is_near_one():
    assert abs(np.mean([_true_model_slope(s) for s in range(2)]) - 1) < 0.1


def _null_rejections(reps, seed, binary):
    from effectmod.predictive.risk import fit_prognostic
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        X, treat, y = _trial(rng, 200, 0.0, binary)
        kind = "binary" if binary else "continuous"
        lp = fit_prognostic(X, y, kind).linear_predictor(X)
        hits += risk_interaction(lp, y, treat, kind).p_value < 0.05
    return hits / reps


@pytest.mark.parametrize("binary", [False, True])
def test_risk_interaction_test_holds_its_size_fast(binary):
    assert _null_rejections(60, 7, binary) <= 0.15


@pytest.mark.slow
@pytest.mark.parametrize("binary", [False, True])
def test_risk_interaction_test_holds_its_size(binary):
    # 2000 trials: the rejection rate's 99% Monte Carlo interval around 0.05 is about +/- 0.013
    assert abs(_null_rejections(2000, 8, binary) - 0.05) < 0.015


@pytest.mark.slow
@pytest.mark.parametrize("binary", [False, True])
def test_c_for_benefit_simulation_study(binary):
    varying = [_external_c(1.5 if binary else 1.0, s, binary=binary) for s in range(40)]
    constant = [_external_c(0.0, s, binary=binary) for s in range(40)]
    assert np.mean(varying) > 0.58 and abs(np.mean(constant) - 0.5) < 0.015
    assert abs(np.mean([_true_model_slope(s) for s in range(20)]) - 1) < 0.05


# ------------------------------------------------------------------ the command line
def _colon_plan(tmp_path, predictive):
    plan = yaml.safe_load((REF / "colon_logistic" / "plan.yaml").read_text())
    plan["predictive"] = predictive
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    return path


def test_colon_predictive_files_through_the_cli(tmp_path, capsys, results_only):
    from effectmod.cli import main
    data = REF / "colon_logistic" / "data.csv"
    plan = _colon_plan(tmp_path, {"risk_predictors": ["age", "nodes", "obstruct"], "effect_predictors": ["age", "nodes", "sex"],
                                  "bootstrap": 10, "risk_groups": 3})
    out = tmp_path / "out"
    assert main(["analyze", str(data), "--plan", str(plan), "--out", str(out)]) == 0, capsys.readouterr().err
    for name, head in HEADERS.items():
        with open(out / name, newline="") as fh:
            assert ",".join(next(csv.reader(fh))).startswith(head)
    risk = pd.read_csv(out / "risk_groups.csv")
    raw = pd.read_csv(data)
    arms = raw[raw["rx"].isin(["Lev+5FU", "Obs"])]
    complete = arms[["age", "nodes", "obstruct", "status"]].notna().all(axis=1)
    assert risk["n_treated"].sum() + risk["n_control"].sum() == complete.sum()
    assert risk["relative_effect"].notna().all() and (risk["risk_group"].astype(str).tolist() == ["1", "2", "3"])
    metrics = pd.read_csv(out / "benefit_metrics.csv")
    assert set(metrics["metric"]) == {"c_statistic", "calibration_slope", "c_for_benefit", "e_for_benefit",
                                      "calibration_for_benefit_slope"}
    shrunk = pd.read_csv(out / "shrunken_subgroups.csv")
    assert set(shrunk["moderator"]) == {"sex", "obstruct", "differ", "extent"}
    # without the predictive section, results.csv is the same
    out2 = tmp_path / "out2"
    assert main(["analyze", str(data), "--plan", str(REF / "colon_logistic" / "plan.yaml"), "--out", str(out2)]) == 0
    assert (out / "results.csv").read_bytes() == (out2 / "results.csv").read_bytes()
    assert not (out2 / "risk_groups.csv").exists()
    assert "predictive" not in json.loads((out2 / "results.json").read_text())["plan"]
    assert json.loads((out / "results.json").read_text())["plan"]["predictive"]["risk_groups"] == 3


@pytest.mark.parametrize("predictive, words", [
    ({"risk_predictors": ["no_such_column"]}, "column 'no_such_column' (plan: predictive.risk_predictors[0]) is not in the data"),
    ({"effect_predictors": ["age", "study_site"]}, "predictive.effect_predictors[1]"),
])
def test_bad_predictors_exit_2(tmp_path, capsys, results_only, predictive, words):
    from effectmod.cli import main
    data = tmp_path / "data.csv"
    raw = pd.read_csv(REF / "colon_logistic" / "data.csv")
    raw["study_site"] = np.where(raw["id"] % 2 == 0, "north", "south")
    raw.to_csv(data, index=False)
    code = main(["analyze", str(data), "--plan", str(_colon_plan(tmp_path, predictive)), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err


def test_long_data_predictor_columns_and_statements():
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    import effectmod as em
    from test_bad_inputs import LONG_PLAN, long_frame
    frame = long_frame()
    frame["bmi"] = frame["age"] * 0.5 + (frame["pid"].str[1:].astype(int) % 7)
    plan = {**LONG_PLAN, "predictive": {"risk_predictors": ["bmi", "frebaq"], "bootstrap": 3, "prespecified": True}}
    res = em.analyze(frame, plan)
    risk = res.sections["risk_groups"]
    assert list(risk["timepoint"].unique()) == ["12", "52"] and len(risk) == 8
    said = res.sections["predictive"]
    assert "pre-specified" in said.loc[said["topic"] == "status", "statement"].iloc[0]
    assert set(res.sections["shrunken_subgroups"]["moderator"]) == {"smoker"}


def test_figures_and_statements_without_bootstrap():
    import effectmod as em
    from effectmod.report.predictive_figures import predictive_figures
    from effectmod.report.subgroup_forest import subgroup_forest_figures
    plan = yaml.safe_load((REF / "colon_logistic" / "plan.yaml").read_text())
    plan["predictive"] = {"risk_predictors": ["age", "nodes"], "effect_predictors": ["age", "nodes"], "bootstrap": 0}
    res = em.analyze(REF / "colon_logistic" / "data.csv", plan)
    figs = predictive_figures(res)
    assert [n for n, _, _ in figs] == ["risk_groups_death_end"] and len(figs[0][2].axes) == 2   # absolute and relative
    assert "exploratory" in figs[0][1]
    forest = subgroup_forest_figures(res)
    assert forest and "shrunk towards the common effect" in forest[0][1]
    metrics = res.sections["benefit_metrics"]
    assert metrics["ci_low"].isna().all() and (metrics["replicates"] == 0).all()
    assert metrics["estimate"].equals(metrics["apparent"])
    said = " ".join(res.sections["predictive"]["statement"])
    assert "not judged" in said and "apparent values" in said


def test_sap_has_the_predictive_section():
    from effectmod.plan.schema import Plan
    from effectmod.report.sap import sap_markdown
    base = yaml.safe_load((REF / "colon_logistic" / "plan.yaml").read_text())
    text = sap_markdown(Plan.model_validate({**base, "predictive": {"risk_predictors": ["age"], "risk_groups": [0.3, 0.6],
                                                                    "prespecified": True}}))
    assert "## Predictive heterogeneity (PATH)" in text and "groups cut at 0.3, 0.6" in text and "are pre-specified" in text
    assert "Predictive heterogeneity" not in sap_markdown(Plan.model_validate(base))


def test_colon_risk_groups_equal_hand_fitted_glms():
    """The whole risk-modelling path on a real trial: prognostic logistic model without treatment
    (statsmodels), quarters of predicted risk, and per quarter the LPM (HC0) risk difference and the
    logistic odds ratio, all to 1e-8."""
    import effectmod as em
    plan = yaml.safe_load((REF / "colon_logistic" / "plan.yaml").read_text())
    plan["predictive"] = {"risk_predictors": ["age", "nodes"], "shrinkage": False, "bootstrap": 0}
    got = em.analyze(REF / "colon_logistic" / "data.csv", plan).sections["risk_groups"]
    raw = pd.read_csv(REF / "colon_logistic" / "data.csv")
    d = raw[raw["rx"].isin(["Lev+5FU", "Obs"])].dropna(subset=["age", "nodes", "status"])
    X = sm.add_constant(d[["age", "nodes"]].to_numpy(float))
    y = d["status"].to_numpy(float)
    treat = (d["rx"] == "Lev+5FU").to_numpy(float)
    risk = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-14).predict(X)
    cuts = np.quantile(risk, [0.25, 0.5, 0.75])
    group = np.searchsorted(cuts, risk, side="left")
    for g in range(4):
        m = group == g
        row = got.iloc[g]
        T = sm.add_constant(treat[m])
        lpm = sm.OLS(y[m], T).fit(cov_type="HC0")
        glm = sm.GLM(y[m], T, family=sm.families.Binomial()).fit(tol=1e-14)
        np.testing.assert_allclose(row[["absolute_effect", "absolute_ci_low", "absolute_ci_high"]].to_numpy(float),
                                   [lpm.params[1], *lpm.conf_int()[1]], rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(row[["relative_effect", "relative_ci_low", "relative_ci_high"]].to_numpy(float),
                                   np.exp([glm.params[1], *glm.conf_int()[1]]), rtol=1e-8)
        assert (row["n_treated"], row["n_control"]) == (int(treat[m].sum()), int((1 - treat[m]).sum()))
        assert row["mean_predicted_risk"] == pytest.approx(risk[m].mean(), rel=1e-8)


@pytest.mark.parametrize("binary", [False, True])
def test_ridge_penalises_only_the_interactions(binary):
    from effectmod.predictive.ridge import _fit, _ridge_solve
    rng = np.random.default_rng(4)
    X, treat, y = _trial(rng, 300, 0.5, binary)
    D = np.column_stack([np.ones(300), treat, X, treat[:, None] * X])
    pen = np.r_[np.zeros(5), np.ones(3)]
    family = sm.families.Binomial() if binary else sm.families.Gaussian()
    full = sm.GLM(y, D, family=family).fit(tol=1e-14).params
    main = sm.GLM(y, D[:, :5], family=family).fit(tol=1e-14).params

    def fit(lam):
        return _fit(D, y, pen, lam) if binary else _ridge_solve(D, y, np.diag(pen), lam)
    np.testing.assert_allclose(fit(1e-9), full, atol=1e-6)          # no penalty: the ML fit
    far = fit(1e12)                                                   # infinite penalty: no interactions
    np.testing.assert_allclose(far[5:], 0, atol=1e-6)
    np.testing.assert_allclose(far[:5], main, atol=1e-5)


def test_models_that_cannot_be_fitted_keep_their_rows_with_the_reason():
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    import effectmod as em
    from test_bad_inputs import plan_dict, trial_frame
    frame = trial_frame()
    frame["bmi"] = np.nan                      # no participant with every predictor
    frame["one"] = 1.0                         # a constant predictor: the risk model is rank deficient
    res = em.analyze(frame, plan_dict(predictive={"risk_predictors": ["bmi"], "effect_predictors": ["bmi"], "bootstrap": 2}))
    metrics = res.sections["benefit_metrics"]
    assert len(metrics) == 10 and metrics["estimate"].isna().all() and metrics["note"].str.contains("fewer than 10").all()
    assert "could not be judged" in " ".join(res.sections["predictive"]["statement"])
    res = em.analyze(frame, plan_dict(predictive={"risk_predictors": ["one"], "bootstrap": 2}))
    assert res.sections["risk_groups"]["note"].str.contains("RankDeficient").all()


def test_optimism_bootstrap_subtracts_the_mean_optimism():
    from effectmod.predictive.validation import optimism_corrected
    rng = np.random.default_rng(2)
    y = rng.normal(size=80)
    treat = np.r_[np.ones(40), np.zeros(40)]

    def evaluate(model, rows):
        # c: 0.1 too good on the data the model was developed on (the same array object); m: no optimism
        return {"c": 0.6 + (0.1 if rows is model else 0.0), "m": float(y[rows].mean()), "s": 1.0 if rows is model else 0.8}
    got = optimism_corrected(lambda rows: rows, evaluate, treat, 50, 0.9, rng, tested=("s",))
    c, m, s = got["c"], got["m"], got["s"]
    assert c.apparent == pytest.approx(0.7) and c.optimism == pytest.approx(0.1) and c.estimate == pytest.approx(0.6)
    assert c.ci_low == pytest.approx(0.6) and c.ci_high == pytest.approx(0.6) and c.replicates == 50
    assert m.apparent == pytest.approx(y.mean()) and abs(m.optimism) < 0.1 and m.ci_low < m.estimate < m.ci_high
    assert s.estimate == pytest.approx(0.8) and s.ci_low == pytest.approx(0.8) and s.ci_high == pytest.approx(0.8)


def test_harrell_c_of_a_binary_outcome_is_the_auc():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(9)
    x = np.round(rng.normal(size=300), 1)                 # ties in x count one half, as in the AUC
    y = (rng.random(300) < 1 / (1 + np.exp(-x))).astype(float)
    assert harrell_c(x, y) == pytest.approx(roc_auc_score(y, x), abs=1e-12)


def test_continuous_risk_interaction_is_the_ols_coefficient():
    rng = np.random.default_rng(6)
    n = 200
    lp, treat = rng.normal(size=n), (rng.random(n) < 0.5).astype(float)
    y = lp + 0.3 * treat * lp + rng.normal(size=n)
    got = risk_interaction(lp, y, treat, "continuous")
    ols = sm.OLS(y, np.column_stack([np.ones(n), treat, lp, treat * lp])).fit()
    np.testing.assert_allclose([got.estimate, got.std_error, got.p_value], [ols.params[3], ols.bse[3], ols.pvalues[3]], rtol=1e-8)
