"""Predictive (PATH) risk modelling of time-to-event outcomes against R (survival::coxph,
survfit.coxph, print(survfit, rmean =), concordance; tests/reference/path_survival) and of count
outcomes against statsmodels Poisson GLMs; shrunken subgroups, statements, figures and the plan's
checks for these outcome types."""
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml

import effectmod as em
from effectmod.predictive.risk_count import count_group_effect, fit_poisson_prognostic
from effectmod.predictive.risk_survival import fit_cox_prognostic, harrell_c_censored, survival_group_effect
from effectmod.predictive.shrinkage import shrink

REF = Path(__file__).parent / "reference"
SURV = REF / "path_survival"
COLON = REF / "colon_logistic" / "data.csv"
EPIL = REF / "epil_count"


def _surv_plan(**predictive):
    plan = yaml.safe_load((SURV / "plan.yaml").read_text())
    plan["predictive"].update(predictive)
    return plan


@pytest.fixture(scope="module")
def colon_survival():
    return em.analyze(COLON, _surv_plan(shrinkage=False))


def _colon_arrays():
    raw = pd.read_csv(COLON)
    d = raw[raw["rx"].isin(["Lev+5FU", "Obs"])].dropna(subset=["age", "nodes", "obstruct", "time", "status"])
    return (d, d[["age", "nodes", "obstruct"]].to_numpy(float), d["time"].to_numpy(float), d["status"].to_numpy(float),
            (d["rx"] == "Lev+5FU").to_numpy(float))


# ------------------------------------------------------------------ time-to-event against R
def test_cox_prognostic_risk_by_the_horizon_equals_r():
    d, X, time, event, _ = _colon_arrays()
    prog = fit_cox_prognostic(X, time, event, 1825.0)
    ref = pd.read_csv(SURV / "risk.csv")
    assert d["id"].tolist() == ref["id"].astype(int).tolist()
    np.testing.assert_allclose(prog.linear_predictor(X), ref["lp"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(prog.risk(X), ref["risk"], rtol=1e-6)
    model = pd.read_csv(SURV / "model.csv").iloc[0]
    np.testing.assert_allclose(prog.coef, model[["coef_age", "coef_nodes", "coef_obstruct"]].to_numpy(float), rtol=1e-6)


def test_survival_risk_groups_equal_r(colon_survival):
    got = colon_survival.sections["risk_groups"]
    ref = pd.read_csv(SURV / "groups.csv")
    model = pd.read_csv(SURV / "model.csv").iloc[0]
    assert got["timepoint"].tolist() == ["1825"] * 4 and got["risk_group"].tolist() == ["1", "2", "3", "4"]
    for col, rcol in [("n_treated", "n_treated"), ("n_control", "n_control"), ("observed_treated", "events_treated"),
                      ("observed_control", "events_control")]:
        assert got[col].astype(int).tolist() == ref[rcol].astype(int).tolist()
    pairs = [("mean_predicted_risk", "mean_predicted_risk"), ("absolute_effect", "rmst_difference"),
             ("absolute_ci_low", "rmst_low"), ("absolute_ci_high", "rmst_high"), ("relative_effect", "hazard_ratio"),
             ("relative_ci_low", "hr_low"), ("relative_ci_high", "hr_high")]
    for col, rcol in pairs:
        np.testing.assert_allclose(got[col].to_numpy(float), ref[rcol].to_numpy(float), rtol=1e-6, err_msg=col)
    np.testing.assert_allclose(got["risk_high"].to_numpy(float)[:3], model[["cut1", "cut2", "cut3"]].to_numpy(float), rtol=1e-6)
    np.testing.assert_allclose(got["interaction_estimate"], model["interaction"], rtol=1e-6)
    np.testing.assert_allclose(got["p_interaction"], model["p_interaction"], rtol=1e-6)


def test_survival_c_statistic_is_harrells_c_for_censored_data(colon_survival):
    m = colon_survival.sections["benefit_metrics"]
    model = pd.read_csv(SURV / "model.csv").iloc[0]
    c = m[m["metric"] == "c_statistic"].iloc[0]
    assert c["apparent"] == pytest.approx(model["c_concordance"], rel=1e-9)
    assert model["c_concordance"] == pytest.approx(model["c_rcorr"], rel=1e-12)      # survival and Hmisc agree
    slope = m[m["metric"] == "calibration_slope"].iloc[0]
    assert slope["apparent"] == pytest.approx(1.0, abs=1e-8)
    assert set(m["model"]) == {"risk"} and int(c["n"]) == int(model["n"])


def test_censored_c_counts_pairs_by_hand():
    # times 1..4, the second censored: usable pairs (1,2) (1,3) (1,4) (3,4); lp concordant in 1,3 tie in one
    time = np.array([1.0, 2.0, 3.0, 4.0])
    event = np.array([1.0, 0.0, 1.0, 1.0])
    lp = np.array([3.0, 2.0, 1.0, 1.0])
    # (1,2): 3>2 conc; (1,3): conc; (1,4): conc; (3,4): tie -> (3 + 0.5) / 4
    assert harrell_c_censored(lp, time, event) == pytest.approx(3.5 / 4)
    # a censoring at the same time as an event counts as later: usable, the event's lp higher
    assert harrell_c_censored(np.array([2.0, 1.0]), np.array([5.0, 5.0]), np.array([1.0, 0.0])) == 1.0
    # two events at the same time: no usable pair
    assert math.isnan(harrell_c_censored(np.array([2.0, 1.0]), np.array([5.0, 5.0]), np.array([1.0, 1.0])))


def test_survival_groups_without_events_or_follow_up_have_notes():
    time = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    treat = np.array([1.0, 1, 1, 1, 0, 0, 0, 0])
    e = survival_group_effect(time, np.array([0.0, 0, 0, 0, 1, 1, 0, 1]), treat, 5.0, 0.95)
    assert all(math.isnan(v) for v in e.relative) and "no finite hazard ratio" in e.note
    assert math.isnan(e.absolute[0]) and "before the horizon" in e.note       # treated last seen at 4 < 5
    mixed = np.array([1.0, 0, 1, 0, 0, 1, 0, 1])
    e2 = survival_group_effect(time, np.array([1.0, 1, 0, 1, 1, 0, 1, 1]), mixed, 3.5, 0.95)
    assert math.isfinite(e2.absolute[0]) and math.isfinite(e2.relative[0]) and e2.note == ""


def test_survival_bootstrap_and_effect_predictors_give_no_effect_rows():
    res = em.analyze(COLON, _surv_plan(bootstrap=3, effect_predictors=["age", "nodes"]))
    m = res.sections["benefit_metrics"]
    assert set(m["metric"]) == {"c_statistic", "calibration_slope"} and (m["replicates"] == 3).all()
    assert m["ci_low"].notna().all()
    said = res.sections["predictive"]
    text = " ".join(said["statement"])
    assert "No effect model for time-to-event outcomes" in text and "RMST" in text and "hazard ratio" in text
    assert "Death, risk by 1825 days" in text
    shrunk = res.sections["shrunken_subgroups"]
    assert set(shrunk["moderator"]) == {"sex", "differ"} and set(shrunk["scale"]) == {"log hazard ratio"}
    # the level effects are Cox fits within each level (R: coxph per level), then the normal-normal shrinkage
    ref = pd.read_csv(SURV / "levels.csv")
    assert shrunk["level"].astype(str).tolist() == ref["level"].astype(str).tolist()
    np.testing.assert_allclose(shrunk["estimate"], ref["log_hr"], rtol=1e-6)
    np.testing.assert_allclose(shrunk["std_error"], ref["se"], rtol=1e-6)
    for mod in ("sex", "differ"):
        s, r = shrunk[shrunk["moderator"] == mod], ref[ref["moderator"] == mod]
        post = shrink(r["log_hr"].to_numpy(float), r["se"].to_numpy(float))
        np.testing.assert_allclose(s["shrunken_estimate"], post.estimate, rtol=1e-5)


def test_survival_figure_labels(colon_survival):
    from effectmod.report.predictive_figures import predictive_figures
    figs = predictive_figures(colon_survival)
    assert [n for n, _, _ in figs] == ["risk_groups_death_1825"]
    fig = figs[0][2]
    assert [a.get_ylabel() for a in fig.axes] == ["RMST difference (days)", "hazard ratio"]
    assert "restricted mean survival" in figs[0][1] and "hazard ratio" in figs[0][1]


# ------------------------------------------------------------------ count against statsmodels
pytestmark = pytest.mark.filterwarnings("ignore:The Identity link function does not respect the domain")


def _poisson(y, X, offset=None, link=None):
    fam = sm.families.Poisson() if link is None else sm.families.Poisson(link=link)
    return sm.GLM(y, X, family=fam, offset=offset).fit(tol=1e-14, maxiter=200)


@pytest.mark.parametrize("seed, with_exposure", [(1, False), (2, True), (3, True)])
def test_count_group_effect_is_the_poisson_glm(seed, with_exposure):
    rng = np.random.default_rng(seed)
    n = 90
    treat = (rng.random(n) < 0.5).astype(float)
    E = rng.uniform(0.5, 3, n) if with_exposure else np.ones(n)
    y = rng.poisson(E * np.exp(0.8 - 0.3 * treat)).astype(float)
    e = count_group_effect(y, E, treat, 0.95)
    rr = _poisson(y, sm.add_constant(treat), offset=np.log(E))
    np.testing.assert_allclose(e.relative, np.exp([rr.params[1], *rr.conf_int()[1]]), rtol=1e-8)
    # identity link with the exposure: mu = E (a + b treat), a GLM on columns E and E * treat
    rd = _poisson(y, np.column_stack([E, E * treat]), link=sm.families.links.Identity())
    np.testing.assert_allclose(e.absolute, [rd.params[1], *rd.conf_int()[1]], rtol=1e-8)
    assert e.mean_treated == pytest.approx(y[treat == 1].sum() / E[treat == 1].sum())


def test_count_group_without_events_has_no_rate_ratio():
    e = count_group_effect(np.array([0.0, 0, 0, 2, 1, 3]), np.ones(6), np.array([1.0, 1, 1, 0, 0, 0]), 0.95)
    assert all(math.isnan(v) for v in e.relative) and "no finite rate ratio" in e.note and e.absolute[0] == -2.0


def test_epil_count_risk_groups_equal_statsmodels():
    plan = yaml.safe_load((EPIL / "plan.yaml").read_text())
    plan["predictive"] = {"risk_predictors": ["age", "base"], "risk_groups": 3, "bootstrap": 0, "effect_predictors": ["age"]}
    res = em.analyze(EPIL / "data.csv", plan)
    got = res.sections["risk_groups"]
    raw = pd.read_csv(EPIL / "data.csv")
    raw = raw[raw["trt"].isin(["progabide", "placebo"])]
    for outcome, col, exposure in [("seizures4", "y4", None), ("seizures", "y_obs", "weeks")]:
        d = raw.dropna(subset=["age", "base", col] + ([exposure] if exposure else []))
        X = sm.add_constant(d[["age", "base"]].to_numpy(float))
        y = d[col].to_numpy(float)
        E = d[exposure].to_numpy(float) if exposure else np.ones(len(d))
        treat = (d["trt"] == "progabide").to_numpy(float)
        prog = _poisson(y, X, offset=np.log(E))
        mine = fit_poisson_prognostic(X[:, 1:], y, np.log(E))
        np.testing.assert_allclose(mine.coef, prog.params, rtol=1e-8)
        lp = X @ prog.params
        rate = np.exp(lp)
        group = np.searchsorted(np.quantile(rate, [1 / 3, 2 / 3]), rate, side="left")
        g_rows = got[got["outcome"] == outcome]
        assert len(g_rows) == 3
        for g in range(3):
            m = group == g
            row = g_rows.iloc[g]
            T = sm.add_constant(treat[m])
            rr = _poisson(y[m], T, offset=np.log(E[m]))
            np.testing.assert_allclose(row[["relative_effect", "relative_ci_low", "relative_ci_high"]].to_numpy(float),
                                       np.exp([rr.params[1], *rr.conf_int()[1]]), rtol=1e-8)
            rd = _poisson(y[m], np.column_stack([E[m], E[m] * treat[m]]), link=sm.families.links.Identity())
            np.testing.assert_allclose(row[["absolute_effect", "absolute_ci_low", "absolute_ci_high"]].to_numpy(float),
                                       [rd.params[1], *rd.conf_int()[1]], rtol=1e-8, atol=1e-12)
            assert row["mean_predicted_risk"] == pytest.approx(rate[m].mean(), rel=1e-8)
        inter = _poisson(y, np.column_stack([np.ones(len(y)), treat, lp, treat * lp]), offset=np.log(E))
        assert g_rows["interaction_estimate"].iloc[0] == pytest.approx(inter.params[3], rel=1e-6)
        assert g_rows["p_interaction"].iloc[0] == pytest.approx(inter.pvalues[3], rel=1e-5)
    m = res.sections["benefit_metrics"]
    assert set(m["model"]) == {"risk"} and len(m) == 4
    assert (m.loc[m["metric"] == "calibration_slope", "apparent"] - 1).abs().max() < 1e-8
    shrunk = res.sections["shrunken_subgroups"]
    assert set(shrunk["scale"]) == {"log rate ratio"} and set(shrunk["moderator"]) == {"age_group"}
    text = " ".join(res.sections["predictive"]["statement"])
    assert "rate ratio" in text and "No effect model for count outcomes" in text
    curve = res.sections["benefit_curve"]
    assert set(curve["outcome"]) == {"seizures4", "seizures"} and (curve["predicted_risk"] > 0).all()


# ------------------------------------------------------------------ the plan
def test_time_to_event_without_horizon_and_ordinal_are_refused():
    from effectmod.plan.schema import Plan
    plan = _surv_plan()
    del plan["outcomes"][0]["horizon"]
    with pytest.raises(ValueError, match=r"outcomes\[0\]\.horizon"):
        Plan.model_validate(plan)
    base = yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text())
    with pytest.raises(ValueError, match="is ordinal, and the predictive analyses support"):
        Plan.model_validate({**base, "predictive": {"risk_predictors": ["x"]}})


def test_time_to_event_without_horizon_exits_2(tmp_path, capsys, results_only):
    from effectmod.cli import main
    plan = _surv_plan()
    del plan["outcomes"][0]["horizon"]
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    code = main(["analyze", str(COLON), "--plan", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "effectmod: " in err and "horizon" in err and "Traceback" not in err


def test_sap_describes_the_family_risk_models():
    from effectmod.plan.schema import Plan
    from effectmod.report.sap import sap_markdown
    text = sap_markdown(Plan.model_validate(_surv_plan(effect_predictors=["age"])))
    assert "Breslow baseline" in text and "No effect model will be fitted for time-to-event or count outcomes" in text
    base = yaml.safe_load((REF / "colon_logistic" / "plan.yaml").read_text())
    assert "Breslow" not in sap_markdown(Plan.model_validate({**base, "predictive": {"risk_predictors": ["age"]}}))
