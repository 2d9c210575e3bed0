"""Cluster-randomised trials (data.cluster): CR2 + Satterthwaite linear rows and HTZ joint tests
against clubSandwich, CR0 logistic rows against sandwich::vcovCL, the plan rules, the data checks,
and the size of the interaction test in simulated cluster trials (CR2 near 5%, classical far above)."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import effectmod as em
from effectmod.engines.cr2 import fit_ols_cr2
from effectmod.engines.ols import fit_ols
from effectmod.errors import DataError, PlanError
from effectmod.simulation.cluster import cluster_plan, simulate_cluster_trial

CASE = Path(__file__).parent / "reference" / "cluster_achievement"
REL = 1e-8


def _plan() -> dict:
    return yaml.safe_load((CASE / "plan.yaml").read_text())


@pytest.fixture(scope="module")
def results():
    """plan_decomposition.yaml is plan.yaml with analysis.cluster_decomposition: true (the main rows are the same)."""
    return em.analyze(CASE / "data.csv", CASE / "plan_decomposition.yaml")


def _close(have, want, scale=None):
    if want is None:
        return have is None or math.isnan(have)
    return abs(have - want) <= REL * max(abs(want), abs(scale or 0.0), 1e-300)


def test_rows_agree_with_clubsandwich_and_sandwich(results):
    table = results.table.astype(object).where(results.table.notna(), "")
    got = {(r["outcome"], r["moderator"], r["term"] or ""): r for r in table.to_dict("records")}
    ref = list(csv.DictReader(open(CASE / "reference.csv", newline="")))
    assert len(ref) == 16
    for r in ref:
        g = got[(r["outcome"], r["moderator"], r["term"])]
        assert g["model"] == r["model"] and int(g["n"]) == int(r["n"]) == 3821
        def num(v):
            return None if v in ("", None) else float(v)
        for f in ("estimate", "std_error", "ci_low", "ci_high", "p_value"):
            assert _close(num(g[f]), num(r[f]), num(r["std_error"])), (r["outcome"], r["moderator"], r["term"], f, g[f], r[f])
        if r["model"] == "linear":       # Satterthwaite df per coefficient, HTZ denominator df for joint rows
            assert _close(num(g["df"]), num(r["df"])), (r["moderator"], r["term"], g["df"], r["df"])
        if r["term"] != "joint":
            assert g["tier"] == r["tier"]


def test_results_json_counts_clusters(results):
    text = json.dumps(results.to_dict())
    assert '"clusters": 39' in text
    flow = results.trial.flow.as_dict()
    assert flow["clusters"]["total"] == 39
    assert flow["clusters"]["treated"] + flow["clusters"]["control"] == 39


def test_se_defaults_to_cr2_with_clusters_and_classical_needs_consent():
    raw = _plan()
    del raw["analysis"]["se"]
    assert em.load_plan(raw).analysis.se == "CR2"
    raw["analysis"]["se"] = "classical"
    with pytest.raises(PlanError, match="allow_classical_with_clusters"):
        em.load_plan(raw)
    raw["analysis"]["allow_classical_with_clusters"] = True
    assert em.load_plan(raw).analysis.se == "classical"
    no_cluster = _plan()
    del no_cluster["data"]["cluster"]
    with pytest.raises(PlanError, match="CR2 .*needs data.cluster"):
        em.load_plan(no_cluster)
    for key in ("bootstrap", "permutations", "imputations"):
        bad = _plan()
        bad["analysis"][key] = 20
        with pytest.raises(PlanError, match=f"analysis.{key}: not available with data.cluster"):
            em.load_plan(bad)


def test_an_individually_randomised_plan_is_unchanged():
    raw = _plan()
    del raw["data"]["cluster"]
    raw["analysis"]["se"] = "classical"
    plan = em.load_plan(raw)
    assert plan.analysis.se == "classical" and plan.data.cluster is None


def test_cluster_problems_in_the_data():
    frame = pd.read_csv(CASE / "data.csv")
    frame.loc[[3, 7], "school_id"] = np.nan
    with pytest.raises(DataError, match=r"plan: data.cluster\): the cluster is missing for 2 participant"):
        em.analyze(frame, CASE / "plan.yaml")
    raw = _plan()
    raw["data"]["cluster"] = "no_such_column"
    with pytest.raises(DataError, match="no_such_column"):
        em.analyze(pd.read_csv(CASE / "data.csv"), raw)


def test_cr2_reduces_to_hc2_like_forms_and_is_invariant_to_units():
    """Singleton clusters: CR2 is HC2 (e_i^2 / (1 - h_i)); rescaling a column rescales its coefficient's
    SE and leaves the Satterthwaite df unchanged."""
    rng = np.random.default_rng(3)
    n = 60
    X = np.column_stack([np.ones(n), rng.integers(0, 2, n), rng.normal(size=n)])
    X = np.column_stack([X, X[:, 1] * X[:, 2]])
    y = X @ [1, 0.5, 0.2, 0.3] + rng.normal(size=n)
    f = fit_ols_cr2(X, y, np.arange(n))
    base = fit_ols(X, y)
    e = y - X @ base.coef
    inv = np.linalg.inv(X.T @ X)
    h = np.einsum("ij,jk,ik->i", X, inv, X)
    hc2 = inv @ (X.T * (e * e / (1 - h))) @ X @ inv
    assert np.allclose(f.vcov, hc2, rtol=1e-10, atol=0)
    groups = rng.integers(0, 12, n)
    a = fit_ols_cr2(X, y, groups)
    Xs = X * [1, 1, 1000.0, 1000.0]
    b = fit_ols_cr2(Xs, y, groups)
    L = np.array([0, 0, 0, 1.0])
    ca, cb = a.contrast(L), b.contrast(L)
    assert abs(cb.std_error * 1000 / ca.std_error - 1) < 1e-9 and abs(cb.df / ca.df - 1) < 1e-9


def _rejection(reps: int, n_clusters: int, size, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    rej_cr2 = rej_classical = 0
    L = np.array([0, 0, 0, 1.0])
    for _ in range(reps):
        d = simulate_cluster_trial(n_clusters, size, icc=0.2, moderator_icc=0.5, interaction=0.0, seed=rng)
        t = (d["arm"] == "treated").to_numpy(float)
        x = d["x"].to_numpy()
        X = np.column_stack([np.ones_like(x), t, x, t * x])
        y = d["y"].to_numpy()
        rej_cr2 += fit_ols_cr2(X, y, d["cluster"].to_numpy()).contrast(L).p_value < 0.05
        rej_classical += fit_ols(X, y).contrast(L).p_value < 0.05
    return rej_cr2 / reps, rej_classical / reps


def test_interaction_test_size_fast():
    cr2, classical = _rejection(80, 20, (10, 30), seed=11)
    assert cr2 <= 0.10               # 5% nominal; 80 replicates (Monte Carlo SE 0.025)
    assert classical >= 0.15         # classical SEs ignore the clustering (about 4 times the nominal size)


@pytest.mark.slow
def test_interaction_test_size_slow():
    for n_clusters in (20, 40):
        cr2, classical = _rejection(2000, n_clusters, (20, 40), seed=n_clusters)
        assert abs(cr2 - 0.05) <= 0.015, (n_clusters, cr2)
        assert classical >= 0.25, (n_clusters, classical)


def test_simulated_cluster_trial_through_the_pipeline():
    d = simulate_cluster_trial(20, 15, seed=5)
    res = em.analyze(d, cluster_plan())
    row = res.table.iloc[0]
    assert row["model"] == "linear" and row["n"] == 300 and 1 < row["df"] < 25
    res2 = em.analyze(d, cluster_plan("classical"))
    assert res2.table.iloc[0]["df"] == 296


# ------------------------------------------------------------------ bad inputs (docs/bad-inputs.md, "Cluster trials")
def _cluster_frame():
    from test_bad_inputs import trial_frame
    f = trial_frame()
    f["practice"] = [f"GP{i % 8}" for i in range(len(f))]
    return f


def _cluster_plan(**analysis):
    from test_bad_inputs import plan_dict
    p = plan_dict()
    p["data"] = {**p["data"], "cluster": "practice"}
    if analysis:
        p["analysis"] = analysis
    return p


def _no_cluster_plan(**analysis):
    from test_bad_inputs import plan_dict
    return plan_dict(analysis=analysis)


CLUSTER_CASES = {
    "cluster with classical SEs": (lambda: (_cluster_frame(), _cluster_plan(se="classical")),
                                   "analysis.se: 'classical' ignores the clusters of data.cluster ('practice')"),
    "CR2 without clusters": (lambda: (_cluster_frame(), _no_cluster_plan(se="CR2")),
                             "analysis.se: CR2 is a cluster-robust variance and needs data.cluster"),
    "cluster with bootstrap": (lambda: (_cluster_frame(), _cluster_plan(bootstrap=200)),
                               "analysis.bootstrap: not available with data.cluster (the bootstrap resamples participants, not clusters)"),
    "cluster column absent": (lambda: (_cluster_frame().drop(columns="practice"), _cluster_plan()),
                              "'practice'"),
    "cluster missing for a participant": (lambda: (_cluster_frame().assign(practice=lambda f: f["practice"].where(f.index != 4)),
                                                   _cluster_plan()),
                                          "column 'practice' (plan: data.cluster): the cluster is missing for 1 participant(s) (ids P005)"),
}


@pytest.mark.parametrize("name", list(CLUSTER_CASES))
def test_cluster_bad_inputs(name, tmp_path, capsys):
    from effectmod.cli import main
    from test_bad_inputs import write
    build, phrase = CLUSTER_CASES[name]
    frame, plan = build()
    code = main(write(tmp_path, frame, plan, command="validate"))
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err and phrase in err, err
    assert all(line.startswith("effectmod: ") for line in err.strip().splitlines())
    doc = (Path(__file__).parents[1] / "docs" / "bad-inputs.md").read_text(encoding="utf-8")
    assert f"**{name}**" in doc


def test_validate_accepts_a_cluster_plan_and_warns_about_few_clusters(tmp_path, capsys):
    from effectmod.cli import main
    from test_bad_inputs import write
    assert main(write(tmp_path, _cluster_frame(), _cluster_plan(), command="validate")) == 0
    out = capsys.readouterr().out
    assert "only 8 clusters (fewer than about 40)" in out
    assert "clusters: 8 (active arm 4, sham arm 4)" in out


def test_mixed_sensitivity_models_with_clusters_fit_beside_the_linear_ones():
    d = simulate_cluster_trial(12, 10, seed=2)
    d["y2"] = d["y"] + np.random.default_rng(1).normal(size=len(d))
    plan = cluster_plan()
    plan["outcomes"][0]["followups"] = {"6": "y", "12": "y2"}
    plan["analysis"]["sensitivity"] = ["mixed"]
    res = em.analyze(d, plan)
    mixed = res.table[res.table["model"] == "mixed"]
    linear = res.table[res.table["model"] == "linear"]
    assert len(mixed) == 2 and mixed["estimate"].notna().all() and (mixed["df"] > 0).all()
    assert linear["estimate"].notna().all() and (linear["df"] < 12).all()


def test_power_from_a_cluster_pilot_is_refused(tmp_path, capsys):
    from effectmod.cli import main
    d = simulate_cluster_trial(12, 10, seed=2)
    d.to_csv(tmp_path / "pilot.csv", index=False)
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(cluster_plan()))
    code = main(["power", "--pilot", str(tmp_path / "pilot.csv"), "--plan", str(tmp_path / "plan.yaml"), "--n", "200",
                 "--replicates", "10", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "data.cluster is set" in err and "Traceback" not in err


def test_within_and_between_cluster_decomposition_agrees_with_r(results):
    res = results
    got = res.frame("cluster_decomposition")
    ref = pd.read_csv(CASE / "reference_decomposition.csv")
    assert len(ref) == 8
    for _, r in ref.iterrows():
        g = got[(got["outcome"] == r["outcome"]) & (got["moderator"] == r["moderator"]) & (got["term"] == r["term"])].iloc[0]
        assert g["model"] == r["model"] and g["n"] == r["n"] == 3821 and g["clusters"] == 39
        for f in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "df"):
            if math.isinf(r[f]):
                assert math.isinf(g[f])
            else:
                assert _close(float(g[f]), float(r[f]), r["std_error"]), (r["outcome"], r["moderator"], r["term"], f, g[f], r[f])
    # continuous and binary moderators: level and comparison empty; categorical ones (levels and a
    # joint row per term) are checked by test_categorical_decomposition_agrees_with_r
    assert set(got["moderator"]) == {"girls", "lagscore", "father_education", "sector"}
    assert (got.loc[got["moderator"].isin(["girls", "lagscore"]), ["level", "comparison"]] == "").all().all()
    assert len(res.to_dict()["cluster_decomposition"]) == 8 + 2 * 2 * 6


def test_categorical_decomposition_agrees_with_r(results):
    """Each level's indicator centred at its cluster mean (within) and the cluster mean (between):
    lm + clubSandwich CR2 (HTZ joint rows) and glm + vcovCL CR0 (chi-square joint rows) on the same columns."""
    got = results.frame("cluster_decomposition")
    ref = pd.read_csv(CASE / "reference_decomposition_categorical.csv", keep_default_na=False, na_values=["NA"])
    assert len(ref) == 12
    for _, r in ref.iterrows():
        hit = got[(got["outcome"] == r["outcome"]) & (got["moderator"] == r["moderator"]) & (got["term"] == r["term"])
                  & (got["level"] == r["level"])]
        assert len(hit) == 1
        g = hit.iloc[0]
        assert g["model"] == r["model"] and g["n"] == r["n"] == 3821 and g["note"] == ""
        for f in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "df"):
            want = float(r[f]) if r[f] != "" else math.nan
            if math.isnan(want):
                assert math.isnan(float(g[f]))
            elif math.isinf(want):
                assert math.isinf(float(g[f]))
            else:
                assert _close(float(g[f]), want, 1.0), (r["outcome"], r["term"], r["level"], f, g[f], want)
    # sector (school_type) is constant within schools: no within-school comparison, rows left empty
    sector = got[got["moderator"] == "sector"]
    assert len(sector) == 12 and sector["p_value"].isna().all()
    assert sector["note"].str.contains("does not vary within clusters").all()


def test_mixed_model_with_cluster_and_participant_intercepts_agrees_with_lmertest():
    """(1 | practice) + (1 | id), REML, Satterthwaite df by lmerTest's numerical derivatives (mimicked)."""
    case = CASE.parent / "cluster_mixed"
    res = em.analyze(case / "data.csv", case / "plan.yaml")
    ref = pd.read_csv(case / "reference.csv", keep_default_na=False)
    tab = res.table
    assert len(ref) == 6 and len(tab) == 6
    for _, r in ref.iterrows():
        g = tab[(tab["moderator"] == r["moderator"]) & (tab["timepoint"].astype(str) == str(r["timepoint"]))].iloc[0]
        assert g["model"] == "mixed" and g["n"] == r["n"] and g["note"] == ""
        for f, rel in (("estimate", 1e-6), ("std_error", 1e-7), ("ci_low", 1e-6), ("ci_high", 1e-6), ("p_value", 1e-6), ("df", 1e-6)):
            assert abs(float(g[f]) - float(r[f])) <= rel * max(abs(float(r[f])), float(r["std_error"])), (r["moderator"], f, g[f], r[f])
    vc = pd.read_csv(case / "varcomp.csv").set_index("moderator")
    for m in res.models:
        want = vc.loc[m["moderator"]]
        assert m["clusters"] == 24
        for k in ("sigma2_participant", "sigma2_cluster", "sigma2_residual", "reml_deviance"):
            assert m[k] == pytest.approx(want[k], rel=1e-6), (m["moderator"], k)


def test_cluster_power_grid_and_command(tmp_path, capsys):
    from effectmod.cli import main
    from effectmod.power.clusters import cluster_power
    table = cluster_power([12], [10], [0.0, 0.8], icc=0.1, moderator_icc=0.3, replicates=40, seed=1)
    assert list(table["design_effect_ate"]) == [1.9, 1.9] and table["design_effect_interaction"].iloc[0] == pytest.approx(1.27)
    assert table["power"].iloc[0] <= 0.15 and table["power"].iloc[1] >= 0.5
    code = main(["power", "--clusters", "8,12", "--cluster-size", "6", "--interaction", "0.5", "--replicates", "10",
                 "--out", str(tmp_path / "pw"), "--quiet"])
    assert code == 0 and len(pd.read_csv(tmp_path / "pw" / "power.csv")) == 2
    code = main(["power", "--clusters", "2", "--icc", "1.5", "--pilot", "x.csv", "--out", str(tmp_path / "pw2")])
    err = capsys.readouterr().err
    assert code == 2 and "--clusters 2: give comma-separated whole numbers of at least 4" in err
    assert "--icc 1.5: an intra-cluster correlation lies in [0, 1)" in err and "--pilot: not used with --clusters" in err


def test_long_data_clusters_per_participant():
    from test_bad_inputs import LONG_PLAN, long_frame
    frame = long_frame()
    frame["practice"] = frame["pid"].map(lambda p: f"GP{int(p[1:]) % 6}")
    plan = yaml.safe_load(yaml.safe_dump(LONG_PLAN))
    plan["data"]["cluster"] = "practice"
    res = em.analyze(frame, plan)
    assert res.trial.flow.clusters["total"] == 6 and res.trial.cluster.shape == (40,)
    assert (res.table["df"] < 20).all()                       # Satterthwaite df with 6 clusters, not n - p
    frame.loc[(frame["pid"] == "P001") & (frame["week"] == 52), "practice"] = "GP5"
    with pytest.raises(DataError, match=r"1 participant\(s\) are in more than one cluster \(P001\)"):
        em.analyze(frame, plan)


def test_the_analysis_plan_document_names_the_cluster_variances():
    from effectmod.report.sap import sap_markdown
    text = sap_markdown(em.load_plan(CASE / "plan.yaml"))
    assert "CR2 cluster-robust variance over the clusters of 'school_id'" in text and "CR0 cluster sandwich" in text
    text = sap_markdown(em.load_plan(CASE.parent / "cluster_mixed" / "plan.yaml"))
    assert "random intercepts per cluster and per participant" in text
