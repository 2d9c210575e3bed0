"""The new outcome families in multi-arm and cluster designs (CONTRACT 6.2-6.3), against R:
three-arm Cox (coxph with rx a 3-level factor, Efron; all-arms Wald chi-square from vcov), its
grouped robust SE (coxph(cluster =)), three-arm RMST (KM per arm x level; pseudo-observations +
lm + HC0), three-arm Poisson / negative binomial / ordinal (glm, MASS::glm.nb, ordinal::clm) and
the Poisson CR0 cluster sandwich (sandwich::vcovCL HC0, cadjust = FALSE).
References: tests/reference/colon_cox3 and tests/reference/arms3_counts."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import effectmod as em
from effectmod.engines.base import WaldZ
from effectmod.engines.cox import CoxFit
from effectmod.records import NON_PROPORTIONAL

REF = Path(__file__).parent / "reference"
COX3 = REF / "colon_cox3"
COUNTS3 = REF / "arms3_counts"
REL = 1e-7


def _term(v) -> str:
    return "" if isinstance(v, float) and math.isnan(v) else str(v)


def _agree(ref: pd.DataFrame, table: pd.DataFrame, model: str) -> int:
    """Every reference row (in order) has its effectmod row: same key, n and numbers to REL."""
    got = table[table.model == model]
    assert len(got) == len(ref), (model, len(got), len(ref))
    for r, g in zip(ref.itertuples(), got.itertuples()):
        assert (r.moderator, _term(r.term), r.comparison) == (g.moderator, _term(g.term), g.comparison)
        assert int(g.n) == int(r.n)
        fields = ("p_value", "statistic") if _term(r.term) == "joint" else ("estimate", "std_error", "ci_low", "ci_high", "p_value")
        for f in fields:
            want, have = float(getattr(r, f)), float(getattr(g, f))
            assert abs(have - want) <= REL * max(abs(want), 1.0), (model, r.moderator, r.term, r.comparison, f, have, want)
        if _term(r.term) == "joint":
            assert int(g.df_num) == int(r.df_num)
    return len(ref)


def _reference(folder: Path, model: str) -> pd.DataFrame:
    ref = pd.read_csv(folder / "reference.csv", dtype={"term": str})
    return ref[ref.model == model]


def _r_name(term: str) -> str:
    """coxph's coefficient name (rxLev, m3, rxLev+5FU:m3) as the design's (treat[Lev], mod[3], ...)."""
    def one(part: str) -> str:
        if part.startswith("rx"):
            return f"treat[{part[2:]}]"
        return "mod" if part == "m" else f"mod[{part[1:]}]"
    return ":".join(one(p) for p in term.split(":"))


_RUNS: dict = {}


def _analyzed(case: Path, plan: str):
    """One analysis per case and plan for the whole module (several tests read the same run)."""
    if (case, plan) not in _RUNS:
        _RUNS[case, plan] = em.analyze(case / "data.csv", case / plan)
    return _RUNS[case, plan]


@pytest.fixture(scope="module")
def cox3():
    return em.analyze(COX3 / "data.csv", COX3 / "plan.yaml")


@pytest.fixture(scope="module")
def counts3():
    return em.analyze(COUNTS3 / "data.csv", COUNTS3 / "plan.yaml")


def test_three_arm_cox_rows_and_all_arms_chi_square_match_coxph(cox3):
    assert _agree(_reference(COX3, "cox"), cox3.table, "cox") == 13
    allarms = cox3.table[(cox3.table.model == "cox") & (cox3.table.comparison == "all arms")]
    assert len(allarms) == 3 and (allarms.term == "joint").all() and allarms.p_adjusted.isna().all()


def test_three_arm_rmst_rows_match_survival_and_have_no_all_arms_row(cox3):
    assert _agree(_reference(COX3, "rmst"), cox3.table, "rmst") == 10
    t = cox3.table
    assert not ((t.model == "rmst") & (t.comparison == "all arms")).any()
    assert set(t.loc[t.model == "rmst", "timepoint"]) == {"1825"}


def test_three_arm_proportional_hazards_test_per_comparison(cox3):
    zph = pd.read_csv(COX3 / "zph.csv")
    for fm in cox3.fitted:
        if fm.spec.kind != "cox":
            continue
        got = fm.summary["ph_test"]
        mine = zph[zph.moderator == fm.spec.moderator]
        want = {_r_name(r.term): r.chisq for r in mine.itertuples() if r.term != "GLOBAL"}
        assert sorted(want) == sorted(fm.design.names)
        for nm in fm.design.names:
            assert got["terms"][nm]["chisq"] == pytest.approx(want[nm], rel=1e-6)
        assert got["global"]["chisq"] == pytest.approx(float(mine[mine.term == "GLOBAL"].chisq.iloc[0]), rel=1e-6)
        assert "comparison_notes" not in fm.summary
    t = cox3.table
    differ = t[(t.model == "cox") & (t.moderator == "differ")]
    # cox.zph: rxLev:m3 p = .009, rxLev+5FU:m3 p = .00015; each comparison's rows name their own terms
    lev = differ[differ.comparison == "Lev vs Obs"].note.iloc[0]
    assert "proportional-hazards test (Lev vs Obs): treatment P = .40, interaction (2) P = .98, interaction (3) P = .009" in lev
    assert "hazards not proportional (Lev vs Obs: interaction (3)); see the rmst rows" in lev
    assert "Lev+5FU" not in lev
    assert differ[differ.comparison == "all arms"].note.iloc[0] == "proportional-hazards test: global P < .001"
    keys = [k for k, notes in cox3.row_notes.items() if any(n.code == NON_PROPORTIONAL for n in notes)]
    assert keys and all("differ" in k for k in keys)


def test_three_arm_average_effect_and_absolute_risk_per_comparison(cox3):
    avg = cox3.sections["average_effects"]
    want = pd.read_csv(COX3 / "average.csv")
    assert list(avg.comparison) == list(want.comparison)
    assert np.allclose(avg.estimate, want.estimate, rtol=1e-8)
    assert np.allclose(avg.std_error, want.std_error, rtol=1e-8)
    assert np.allclose(avg.risk_difference, want.risk_difference, rtol=1e-10)
    risk = cox3.sections["absolute_risk"]
    ref = pd.read_csv(COX3 / "risk.csv", dtype={"level": str})
    for r in risk.itertuples():
        arm = r.comparison.split(" vs ")[0]
        for who, col in ((arm, "risk_treated"), ("Obs", "risk_control")):
            w = ref[(ref.moderator == r.moderator) & (ref.level == str(r.level)) & (ref.arm == who)].iloc[0]
            assert getattr(r, col) == pytest.approx(w.risk, rel=1e-10)
            assert getattr(r, col + "_se") == pytest.approx(w.std_error, rel=1e-8)
    assert len(risk) == 2 * (2 + 3)
    flow = cox3.sections["time_to_event_flow"]
    assert list(flow.arm) == ["all", "Lev", "Lev+5FU", "Obs"]
    assert list(flow.n) == [929, 310, 304, 315]


def test_three_arm_cox_bootstrap_fills_each_comparison():
    import yaml
    raw = yaml.safe_load((COX3 / "plan.yaml").read_text())
    raw["moderators"] = [m for m in raw["moderators"] if m["name"] == "sex"]
    raw["analysis"]["bootstrap"] = 40
    res = em.analyze(COX3 / "data.csv", raw)
    t = res.table
    cox = t[(t.model == "cox") & (t.term != "joint")]
    assert list(cox.comparison) == ["Lev vs Obs", "Lev+5FU vs Obs"]
    assert (cox.boot_replicates == 40).all() and cox.boot_ci_low.notna().all()
    assert (cox.boot_ci_low < cox.estimate).all() and (cox.estimate < cox.boot_ci_high).all()
    assert (t[t.term == "joint"].boot_replicates == 0).all()


def test_three_arm_cox_with_clusters_matches_coxph_cluster_and_drops_rmst():
    res = _analyzed(COX3, "plan_cluster.yaml")
    assert _agree(_reference(COX3, "cox_cluster").assign(model="cox"), res.table, "cox") == 13
    assert set(res.table.model) == {"cox"}      # rmst rows are not produced with data.cluster
    assert all(fm.summary["clusters"] == 25 for fm in res.fitted)
    avg = res.sections["average_effects"]
    want = pd.read_csv(COX3 / "average.csv")
    assert np.allclose(avg.std_error, want.std_error_cluster, rtol=1e-8)


@pytest.mark.parametrize("plan, edit, key", [
    (COUNTS3 / "plan_cluster.yaml", ("model: linear", "model: mixed"), "outcomes[0]: 'seizures' is a count outcome"),
    (COX3 / "plan_cluster.yaml", ("model: linear", "model: mixed"), "outcomes[0]: 'death' is time_to_event"),
    (COX3 / "plan_cluster.yaml", ("seed: 2024", "seed: 2024\n  se: HC3"), "analysis.se: 'HC3' ignores the clusters"),
])
def test_unsupported_combinations_exit_2_naming_the_key(plan, edit, key, tmp_path, capsys):
    from effectmod.cli.app import main
    text = plan.read_text().replace(*edit)
    (tmp_path / "plan.yaml").write_text(text)
    assert main(["analyze", str(plan.parent / "data.csv"), "--plan", str(tmp_path / "plan.yaml"),
                 "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("effectmod:")]
    assert any(key in line for line in err), err
    assert "Traceback" not in "\n".join(err)


@pytest.mark.parametrize("plan, model, ref_model", [
    ("plan.yaml", "poisson", "poisson"),
    ("plan.yaml", "ordinal", "ordinal"),
    ("plan_nb.yaml", "negative_binomial", "negative_binomial"),
    ("plan_cluster.yaml", "poisson", "poisson_cr0"),
    ("plan_cluster.yaml", "ordinal", "ordinal_cr0"),
    ("plan_nb_cluster.yaml", "negative_binomial", "negative_binomial_cr0"),
])
def test_three_arm_count_and_ordinal_rows_match_r(plan, model, ref_model, counts3):
    res = counts3 if plan == "plan.yaml" else _analyzed(COUNTS3, plan)
    assert _agree(_reference(COUNTS3, ref_model), res.table, model) == 13


def test_cox_fit_is_a_wald_z_record():
    assert issubclass(CoxFit, WaldZ)
    assert "contrast" not in CoxFit.__dict__ and "wald" not in CoxFit.__dict__


def test_two_arm_view_of_a_survival_design_keeps_its_events(cox3):
    from effectmod.models.multiarm import comparison_views
    fm = next(f for f in cox3.fitted if f.spec.kind == "cox" and f.spec.moderator == "sex")
    for _, view in comparison_views(fm.design):
        assert view.event is not None and len(view.event) == len(view.y) == view.X.shape[0]


def test_three_arm_rmst_past_the_last_follow_up_is_not_estimable_without_all_arms_row():
    import yaml
    raw = yaml.safe_load((COX3 / "plan.yaml").read_text())
    raw["outcomes"][0]["horizon"] = 4000            # colon's longest follow-up is 3329 days
    raw["moderators"] = [m for m in raw["moderators"] if m["name"] in ("sex", "age")]
    t = em.analyze(COX3 / "data.csv", raw).table
    rmst = t[t.model == "rmst"]
    assert list(rmst.comparison) == ["Lev vs Obs", "Lev+5FU vs Obs"] * 2
    assert rmst.estimate.isna().all() and all("before the horizon 4000 days" in n for n in rmst.note)
    assert t[t.model == "cox"].estimate.notna().sum() == 4


def test_three_arm_cox_arm_level_without_events_is_named():
    d = pd.read_csv(COX3 / "data.csv")
    d.loc[(d.rx == "Lev") & (d.differ == 1), "status"] = 0
    t = em.analyze(d, COX3 / "plan.yaml").table
    differ = t[(t.model == "cox") & (t.moderator == "differ")]
    assert len(differ) == 7 and differ.estimate.isna().all() and differ.p_value.isna().all()
    assert all(n.startswith("no events in arm Lev with differ = 1") for n in differ.note)
    sex = t[(t.model == "cox") & (t.moderator == "sex") & (t.term != "joint")]
    assert len(sex) == 2 and sex.estimate.notna().all()


def test_three_arm_rate_and_category_probabilities_per_comparison_match_r(counts3):
    """Marginal standardisation over each comparison's two arms' participants, three-arm fit."""
    ref = pd.read_csv(COUNTS3 / "absolute.csv", dtype={"level": str, "arm": str, "category": str}, keep_default_na=False)
    rate = counts3.sections["rate_scale"]
    for r in ref[ref.quantity == "rd_interaction"].itertuples():
        got = rate[(rate.model == "poisson") & (rate.moderator == "female") & (rate.quantity == "rd_interaction")
                   & (rate.comparison == r.comparison)]
        assert len(got) == 1
        assert got.estimate.iloc[0] == pytest.approx(float(r.estimate), rel=1e-8)
        assert got.std_error.iloc[0] == pytest.approx(float(r.std_error), rel=1e-7)
    t = counts3.table
    filled = t[(t.model == "poisson") & (t.moderator == "female") & (t.term != "joint")]
    assert list(filled.comparison) == ["low vs control", "high vs control"] and filled.rd_estimate.notna().all()
    probs = counts3.sections["category_probabilities"]
    want = ref[ref.quantity == "probability"]
    got = probs[probs.moderator == "female"]
    assert len(got) == len(want) == 2 * 2 * 2 * 4
    for r in want.itertuples():
        g = got[(got.comparison == r.comparison) & (got.level.astype(str) == r.level) & (got.arm == r.arm)
                & (got.category == r.category)]
        assert g.probability.iloc[0] == pytest.approx(float(r.estimate), rel=1e-8)


def test_classical_se_with_clusters_keeps_the_model_based_variance_of_every_family():
    """se: classical with allow_classical_with_clusters: count, ordinal and Cox models use the
    model-based variance (as logistic models do), not the cluster sandwich."""
    import yaml
    for case, plan, models in ((COUNTS3, "plan_cluster.yaml", ("poisson", "ordinal")), (COX3, "plan_cluster.yaml", ("cox",))):
        raw = yaml.safe_load((case / plan).read_text())
        raw["analysis"].update(se="classical", allow_classical_with_clusters=True)
        t = em.analyze(case / "data.csv", raw).table
        for model in models:
            assert _agree(_reference(case, model), t, model) == 13


def test_cluster_methods_paragraph_names_each_family():
    from effectmod.report.clusters import cluster_paragraph
    text = cluster_paragraph(_analyzed(COUNTS3, "plan_cluster.yaml"))
    assert "Count and ordinal models used the CR0 cluster sandwich" in text and "Cox" not in text.split("(the CR0")[0]
    text = cluster_paragraph(_analyzed(COX3, "plan_cluster.yaml"))
    assert "Cox models used the grouped robust variance" in text


def test_multi_arm_methods_text_names_cox_and_rmst(cox3):
    from effectmod.report.paragraph import methods_text
    text = methods_text(cox3)
    text = text if isinstance(text, str) else " ".join(text)
    assert "chi-square for logistic, count, ordinal and Cox models" in text
    assert "the RMST comparisons have no all-arms test" in text
