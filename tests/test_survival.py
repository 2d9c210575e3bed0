"""Time-to-event outcomes: the Cox engine (Efron ties, grouped robust SE, cox.zph), the
Kaplan-Meier RMST and its pseudo-observations, against R's survival 3.5 (tests/reference/
colon_cox and veteran_cox), through ``effectmod.analyze`` and the command line."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import effectmod as em
from effectmod.engines.cox import fit_cox, fit_cox_batch
from effectmod.engines.survival_km import kaplan_meier, median_followup, pseudo_rmst, risk_at, rmst

REF = Path(__file__).parent / "reference"
REL = 1e-7          # both sides converge far below this (R: coxph eps 1e-12; ours: relative change 1e-10)


def _reference(case: str) -> pd.DataFrame:
    return pd.read_csv(REF / case / "reference.csv", dtype={"timepoint": str, "term": str})


def _term(v) -> str:
    if isinstance(v, float) and math.isnan(v):
        return ""
    return str(v)


def _agree(ref: pd.DataFrame, table: pd.DataFrame, models=("cox", "rmst")) -> int:
    got = {(r.model, r.moderator, _term(r.term)): r for r in table.itertuples()}
    count = 0
    for r in ref[ref.model.isin(models)].itertuples():
        g = got[(r.model, r.moderator, _term(r.term))]
        assert _term(g.timepoint) == _term(r.timepoint)
        fields = ("p_value",) if r.term == "joint" else ("estimate", "std_error", "ci_low", "ci_high", "p_value")
        for f in fields:
            want, have = float(getattr(r, f)), float(getattr(g, f))
            assert abs(have - want) <= REL * max(abs(want), abs(float(r.std_error)) if r.term != "joint" else 1.0, 1e-12), \
                (r.model, r.moderator, r.term, f, have, want)
        if r.term == "joint":
            assert abs(float(g.statistic) - float(r.statistic)) <= REL * abs(float(r.statistic))
        assert int(g.n) == int(r.n)
        count += 1
    return count


COLON_DATA = REF / "colon_logistic" / "data.csv"      # colon's death records, shared with colon_logistic


@pytest.fixture(scope="module")
def colon_results():
    return em.analyze(COLON_DATA, REF / "colon_cox" / "plan.yaml")


@pytest.fixture(scope="module")
def veteran_results():
    case = REF / "veteran_cox"
    return em.analyze(case / "data.csv", case / "plan.yaml")


def test_colon_cox_and_rmst_rows_match_r(colon_results):
    assert _agree(_reference("colon_cox"), colon_results.table) == 10
    t = colon_results.table
    assert set(t.loc[t.model == "cox", "timepoint"]) == {""}
    assert set(t.loc[t.model == "rmst", "timepoint"]) == {"1825"}


def test_veteran_cox_and_rmst_rows_match_r_and_undefined_rmst_is_blank(veteran_results):
    ref = _reference("veteran_cox")
    # celltype: arms last observed before the 180-day horizon (adeno control 162, smallcell
    # treated 103): R extends the curve, CONTRACT 6.3 leaves the rows not estimable
    celltype_rmst = (ref.model == "rmst") & (ref.moderator == "celltype")
    assert _agree(ref[~celltype_rmst], veteran_results.table) == 8
    t = veteran_results.table
    blank = t[(t.model == "rmst") & (t.moderator == "celltype")]
    assert len(blank) == 4 and blank.estimate.isna().all() and blank.p_value.isna().all()
    assert all("before the horizon 180 days" in n for n in blank.note)


def test_proportional_hazards_test_matches_cox_zph(colon_results, veteran_results):
    for case, res in (("colon_cox", colon_results), ("veteran_cox", veteran_results)):
        zph = pd.read_csv(REF / case / "zph.csv")
        for fm in res.fitted:
            if fm.spec.kind != "cox":
                continue
            got = fm.summary["ph_test"]
            mine = zph[zph.moderator == fm.spec.moderator]
            chis = [got["terms"][nm]["chisq"] for nm in fm.design.names]
            want = mine[mine.term != "GLOBAL"].chisq.to_numpy()
            assert np.allclose(chis, want, rtol=1e-6, atol=0)
            assert got["global"]["chisq"] == pytest.approx(float(mine[mine.term == "GLOBAL"].chisq.iloc[0]), rel=1e-6)
    # differ's interaction fails the test: its rows say so and point to the RMST rows
    t = colon_results.table
    note = t[(t.model == "cox") & (t.moderator == "differ")].note.iloc[0]
    assert "hazards not proportional (interaction (3)); see the rmst rows" in note


def test_grouped_robust_se_matches_coxph_cluster():
    d = pd.read_csv(COLON_DATA)
    d = d[d.rx.isin(["Lev+5FU", "Obs"])]
    treat = (d.rx == "Lev+5FU").to_numpy(float)
    ref = _reference("colon_cox")
    for mod in ("sex", "age"):
        m = d[mod].to_numpy(float)
        m = m - (m.min() + m.max()) / 2
        X = np.column_stack([treat, m, treat * m])
        fit = fit_cox(X, d.time.to_numpy(float), d.status.to_numpy(float), ["treat", "mod", "treat:mod"],
                      cluster=d.id.to_numpy() % 25)
        want = ref[(ref.model == "cox_cluster") & (ref.moderator == mod)].iloc[0]
        assert fit.robust and fit.n_clusters == 25
        assert fit.coef[2] == pytest.approx(want.estimate, rel=REL)
        assert math.sqrt(fit.vcov[2, 2]) == pytest.approx(want.std_error, rel=1e-7)


def test_km_rmst_cells_and_pseudo_observations_match_survival():
    d = pd.read_csv(COLON_DATA)
    d = d[d.rx.isin(["Lev+5FU", "Obs"])]
    cells = pd.read_csv(REF / "colon_cox" / "rmst_cells.csv")
    for c in cells[cells.moderator == "sex"].itertuples():
        for arm, col in (("Lev+5FU", "treated"), ("Obs", "control")):
            s = d[(d.sex == int(c.level)) & (d.rx == arm)]
            est, se = rmst(kaplan_meier(s.time, s.status), 1825)
            assert est == pytest.approx(getattr(c, f"rmst_{col}"), rel=1e-12)
            assert se == pytest.approx(getattr(c, f"se_{col}"), rel=1e-10)
    ps = pseudo_rmst(d.time.to_numpy(float), d.status.to_numpy(float), 1825)
    assert np.allclose(ps, pd.read_csv(REF / "colon_cox" / "pseudo.csv").pseudo, rtol=0, atol=1e-8)


def test_km_closed_forms():
    # no censoring: RMST = mean of min(T, tau); risk = share of events by tau; Greenwood SE binomial
    t = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    e = np.ones(8)
    km = kaplan_meier(t, e)
    assert rmst(km, 5.5)[0] == pytest.approx(np.minimum(t, 5.5).mean())
    risk, se = risk_at(km, 4.0)
    assert risk == pytest.approx(0.5) and se == pytest.approx(math.sqrt(0.25 / 8))
    # reverse KM: with no censoring the follow-up never ends (NaN); censor all -> median time
    assert median_followup(t, np.zeros(8)) == pytest.approx(4.0)


def test_batched_cox_equals_single_fits_and_statsmodels_phreg():
    sm = pytest.importorskip("statsmodels.duration.hazard_regression")
    d = pd.read_csv(REF / "veteran_cox" / "data.csv")
    treat = (d.trt == 2).to_numpy(float)
    k = d.karno.to_numpy(float) - 55
    X = np.column_stack([treat, k, treat * k])
    rng = np.random.default_rng(1)
    idx = rng.integers(0, len(d), size=(3, len(d)))
    beta, ok = fit_cox_batch(X[idx], d.time.to_numpy(float)[idx], d.status.to_numpy(float)[idx])
    assert ok.all()
    for b in range(3):
        single = fit_cox(X[idx[b]], d.time.to_numpy(float)[idx[b]], d.status.to_numpy(float)[idx[b]])
        assert np.allclose(beta[b], single.coef, rtol=1e-9, atol=1e-12)
        ph = sm.PHReg(d.time.to_numpy(float)[idx[b]], X[idx[b]], status=d.status.to_numpy(float)[idx[b]], ties="efron").fit()
        assert np.allclose(beta[b], ph.params, rtol=1e-5, atol=1e-8)
        assert np.allclose(np.sqrt(np.diag(single.vcov)), ph.bse, rtol=1e-5)


def test_cli_writes_time_to_event_results(tmp_path, monkeypatch, no_figures):
    from effectmod.cli import main
    case = REF / "veteran_cox"
    monkeypatch.chdir(case)
    out = tmp_path / "out"
    assert main(["analyze", "data.csv", "--plan", "plan.yaml", "--out", str(out)]) == 0
    res = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert set(res.model) == {"cox", "rmst"}
    assert (out / "report.html").read_text(encoding="utf-8").count("hazard") > 0


def test_cox_bootstrap_batch_equals_one_by_one_refits():
    from types import SimpleNamespace

    from effectmod.inference.resample import counts_to_indices, stratified_bootstrap_counts
    from effectmod.inference.survival_bootstrap import cox_bootstrap
    from effectmod.models.spec import ModelSpec
    from effectmod.models.survival_design import survival_design
    res = em.analyze(REF / "veteran_cox" / "data.csv", REF / "veteran_cox" / "plan.yaml")
    fm = next(f for f in res.fitted if f.spec == ModelSpec("cox", "death", "celltype", ""))
    d = survival_design(fm.spec, res.trial)
    counts = stratified_bootstrap_counts(res.trial.treat, 4, np.random.default_rng(3))
    draws = cox_bootstrap(SimpleNamespace(design=d), counts)
    pos = np.full(res.trial.n, -1)
    pos[d.rows] = np.arange(len(d.rows))
    for b in range(4):
        p = pos[counts_to_indices(counts[b])]
        p = p[p >= 0]
        one = fit_cox(d.X[p], d.y[p], d.event[p], d.names)
        for j, term in enumerate(d.terms):
            assert draws[("", term)][b] == pytest.approx(one.contrast(d.interaction_L(j)).estimate, rel=1e-8)


def test_average_hazard_ratio_and_absolute_risks_match_r(colon_results):
    ave = pd.read_csv(REF / "colon_cox" / "average.csv")
    got = colon_results.sections["average_effects"].iloc[0]
    assert got.model == "cox" and got.scale == "log hazard ratio"
    assert got.estimate == pytest.approx(ave.estimate[0], rel=REL)
    assert got.std_error == pytest.approx(ave.std_error[0], rel=REL)
    risk = pd.read_csv(REF / "colon_cox" / "risk.csv")
    ar = colon_results.sections["absolute_risk"]
    for r in risk.itertuples():
        row = ar[(ar.moderator == r.moderator) & (ar.level == str(r.level))].iloc[0]
        arm = "treated" if int(r.treat) == 1 else "control"
        assert row[f"risk_{arm}"] == pytest.approx(r.risk, rel=1e-12)
        assert row[f"risk_{arm}_se"] == pytest.approx(r.std_error, rel=1e-10)
    flow = colon_results.sections["time_to_event_flow"].set_index("arm").loc["all"]
    assert (flow["events"], flow["censored"]) == (291, 328)
    assert flow["median_followup"] == pytest.approx(float(ave.median_followup[0]))


def test_kaplan_meier_figures_per_level_with_numbers_at_risk(colon_results):
    from effectmod.report.km_figures import km_figures
    figs = km_figures(colon_results)
    assert [n for n, _, _ in figs] == ["km_death_sex", "km_death_differ"]      # not the continuous age
    _, caption, fig = figs[1]
    assert "numbers at risk" in caption and "1825 days" in caption
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("At risk") == 3 and "229" in texts                    # Obs, differ 2, at time 0
    # a bare numeric level's panel names its moderator ('Sex = 1', not '1')
    titles = [ax.get_title() for ax in figs[0][2].axes if ax.get_title()]
    assert titles == ["Sex = 0", "Sex = 1"]


def test_sap_and_power_with_a_time_to_event_plan(tmp_path, capsys):
    from effectmod.cli import main
    case = REF / "veteran_cox"
    assert main(["sap", str(case / "plan.yaml"), "--out", str(tmp_path / "sap.md")]) == 0
    text = (tmp_path / "sap.md").read_text(encoding="utf-8")
    assert "Death (time_to_event): the whole follow-up" in text and "ratio of hazard ratios" in text
    # power from the pilot's Cox fit (tests/test_power_survival_pilot.py): one row per binary or
    # continuous moderator (the categorical one is left out and named)
    code = main(["power", "--pilot", str(case / "data.csv"), "--plan", str(case / "plan.yaml"), "--n", "100",
                 "--scale", "1", "--replicates", "10", "--out", str(tmp_path / "pw"), "-q"])
    assert code == 0
    power = pd.read_csv(tmp_path / "pw" / "power.csv")
    assert set(power["moderator"]) == {"karno", "prior"} and power["power"].between(0, 1).all()


def test_survival_power_type_one_error_and_closed_form_power():
    from scipy import stats

    from effectmod.power.survival import survival_power
    from effectmod.simulation.survival import SurvivalScenario
    null = survival_power(SurvivalScenario(log_hr=-0.3, accrual=2, follow_up=5), n=200, replicates=2000, seed=1)
    assert null["failed"] == 0 and abs(null["power"] - 0.05) < 4 * math.sqrt(0.05 * 0.95 / 2000)
    assert abs(null["mean_estimate"]) < 0.05
    # Weibull times, accrual and dropout: the estimate is unbiased and the power is the large-sample
    # value from the events per arm x level cell (var of the interaction ~ sum of 1/events)
    sc = SurvivalScenario(interaction=-0.7, shape=1.5, rate=0.2, accrual=2, follow_up=5, dropout_rate=0.05)
    res = survival_power(sc, n=400, replicates=1000, seed=2)
    X, time, event = sc.draw(400, 200, np.random.default_rng(9))
    cells = [(event * (X[..., 0] == a) * (X[..., 1] == m)).sum(axis=1).mean() for a in (0, 1) for m in (0, 1)]
    approx = stats.norm.cdf(0.7 / math.sqrt(sum(1 / c for c in cells)) - stats.norm.ppf(0.975))
    assert abs(res["mean_estimate"] + 0.7) < 0.05
    assert abs(res["power"] - approx) < 0.06


def test_batched_cox_variances_equal_single_fits():
    from effectmod.simulation.survival import SurvivalScenario
    X, time, event = SurvivalScenario(interaction=0.4, moderator="continuous").draw(150, 3, np.random.default_rng(4))
    beta, ok, V = fit_cox_batch(X, time, event, vcov=True)
    for b in range(3):
        one = fit_cox(X[b], time[b], event[b])
        assert np.allclose(V[b], one.vcov, rtol=1e-8) and np.allclose(beta[b], one.coef, rtol=1e-8)


def test_simulated_survival_trial_is_analysed_end_to_end():
    from effectmod.simulation.survival import SurvivalScenario, survival_trial
    sc = SurvivalScenario(log_hr=-0.3, interaction=-0.6, moderator_effect=0.4, accrual=2, follow_up=6)
    data, plan, truth = survival_trial(sc, n=1500, seed=5, horizon=4)
    res = em.analyze(data, plan)
    cox = res.table[res.table.model == "cox"].iloc[0]
    assert abs(cox.estimate - truth["interaction"]) < 3 * cox.std_error
    # the same numbers as the engine on the generating arrays
    X = np.column_stack([(data.arm == "intervention").to_numpy(float), (data.risk == "yes").to_numpy(float)])
    X = np.column_stack([X, X[:, 0] * X[:, 1]])
    one = fit_cox(X, data.time.to_numpy(float), data.event.to_numpy(float))
    assert cox.estimate == pytest.approx(one.coef[2], rel=1e-9)
    assert set(res.table.model) == {"cox", "rmst"}


def test_bootstrap_refits_cox_rows_and_says_rmst_rows_have_none():
    import yaml
    case = REF / "veteran_cox"
    plan = yaml.safe_load((case / "plan.yaml").read_text(encoding="utf-8"))
    plan["analysis"]["bootstrap"] = 20
    t = em.analyze(case / "data.csv", plan).table
    cox = t[(t.model == "cox") & (t.term != "joint")]
    assert (cox.boot_replicates == 20).all() and (cox.boot_ci_low < cox.estimate).all()
    rmst = t[(t.model == "rmst") & (t.moderator == "prior")].iloc[0]
    assert rmst.boot_replicates == 0 and "bootstrap: not run for rmst rows" in rmst.note


def test_a_trial_cluster_column_gives_the_grouped_robust_cox_se(colon_results):
    # data.cluster is wired by the cluster-randomised design (TrialData.cluster); the Cox path
    # uses it under se: CR2
    import dataclasses

    from effectmod.models.fit import fit_model
    res = colon_results
    trial = dataclasses.replace(res.trial)
    object.__setattr__(trial, "cluster", np.asarray(res.trial.ids, dtype=float) % 25)
    spec = next(f.spec for f in res.fitted if f.spec.kind == "cox" and f.spec.moderator == "sex")
    # the plan's se as with data.cluster (CR2, the default there); classical keeps the model-based SE
    plan = res.plan.model_copy(update={"analysis": res.plan.analysis.model_copy(update={"se": "CR2"})})
    fm = fit_model(spec, trial, plan)
    assert not fit_model(spec, trial, res.plan).fit.robust
    want = _reference("colon_cox")
    want = want[(want.model == "cox_cluster") & (want.moderator == "sex")].iloc[0]
    assert fm.fit.robust and fm.rows[0]["std_error"] == pytest.approx(want.std_error, rel=1e-7)


def test_power_command_with_the_survival_scenario(tmp_path, capsys):
    from effectmod.cli import main
    from effectmod.power.survival import survival_power
    from effectmod.simulation.survival import SurvivalScenario
    out = tmp_path / "pw"
    assert main(["power", "--scenario", "survival", "--survival", "shape=1.5,moderator=continuous,interaction=0.3",
                 "--n", "150", "--scale", "0,1", "--replicates", "50", "--seed", "7", "--out", str(out)]) == 0
    table = pd.read_csv(out / "power.csv")
    assert list(table.true_interaction) == [0.0, 0.3] and (table.replicates == 50).all()
    direct = survival_power(SurvivalScenario(log_hr=-0.3, interaction=0.3, accrual=2, follow_up=5, rate=0.15, shape=1.5,
                                             moderator="continuous"), 150, 50, 0.05, seed=7 + 1)
    assert table.power[1] == pytest.approx(direct["power"]) and table.mean_events[1] == pytest.approx(direct["mean_events"])
    assert main(["power", "--scenario", "survival", "--survival", "shape=0", "--out", str(tmp_path / "x")]) == 2
    assert "--survival shape=0: a positive number" in capsys.readouterr().err
