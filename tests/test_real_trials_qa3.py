"""Three more real trials run as a new user would, each against R (tests/reference):
survival::cgd (Cox + RMST, a binary moderator with an eventless cell), survival::rhDNase (Cox with
a multicentre cluster, and without it Cox + pseudo-observation RMST) and HSAUR3::toenail (long
binary data, logistic per visit)."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import effectmod as em

REF = Path(__file__).parent / "reference"
REL = 1e-6


def _compare(table: pd.DataFrame, reference: Path, keys=("model", "moderator", "term"), skip=()) -> int:
    ref = pd.read_csv(reference, dtype={"timepoint": str, "term": str}).fillna({"term": "", "timepoint": ""})
    got = {}
    for r in table.to_dict(orient="records"):
        r = {k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        got[tuple(str(r[k]) for k in keys)] = r
    checked = 0
    for r in ref.to_dict(orient="records"):
        key = tuple(str(r[k]) for k in keys)
        if key in skip:
            continue
        g = got[key]
        fields = ("p_value",) if r["term"] == "joint" else ("estimate", "std_error", "ci_low", "ci_high", "p_value")
        for f in fields:
            want, have = float(r[f]), float(g[f])
            assert math.isclose(have, want, rel_tol=REL, abs_tol=1e-12), (key, f, have, want)
        assert int(g["n"]) == int(r["n"])
        checked += 1
    return checked


@pytest.fixture(scope="module")
def cgd():
    case = REF / "cgd_cox"
    return em.analyze(case / "data.csv", case / "plan.yaml")


def test_cgd_cox_and_rmst_agree_with_r(cgd):
    # steroids: no infection among the one treated participant on steroids; coxph runs off to
    # |coef| ~ 21 with SE ~ 4e4, effectmod reports it not estimable with the reason
    checked = _compare(cgd.table, REF / "cgd_cox" / "reference.csv", skip={("cox", "steroids", "")})
    assert checked == 15
    row = cgd.table[(cgd.table.model == "cox") & (cgd.table.moderator == "steroids")].iloc[0]
    assert math.isnan(row.estimate)
    assert row.note.startswith("no events in arm rIFN-g with steroids = 1 (1 participant): ")   # was '(1 participants)'


@pytest.mark.parametrize("plan, reference, n_rows", [("plan.yaml", "reference.csv", 1),
                                                      ("plan_nocluster.yaml", "reference_nocluster.csv", 2)])
def test_rhdnase_grouped_robust_cox_and_pseudo_rmst_agree_with_r(plan, reference, n_rows):
    case = REF / "rhdnase_cox"
    res = em.analyze(case / "data.csv", case / plan)
    assert _compare(res.table, case / reference) == n_rows == len(res.table)


def test_toenail_long_binary_logistic_per_visit_agrees_with_r():
    case = REF / "toenail_logistic"
    res = em.analyze(case / "data.csv", case / "plan.yaml")
    assert _compare(res.table, case / "reference.csv", keys=("model", "timepoint", "moderator", "term")) == 6


def test_report_sections_name_the_arms_by_their_labels(cgd):
    """time_to_event_flow in report.html showed the data values 'rIFN-g' / 'placebo' although the
    plan gives data.arm_labels (results.csv keeps the data values)."""
    from effectmod.report.html import format_frame

    flow = cgd.sections["time_to_event_flow"]
    assert list(flow["arm"]) == ["all", "rIFN-g", "placebo"]
    assert list(format_frame(flow, cgd)["arm"]) == ["all", "Interferon gamma", "Placebo"]


def _draft(case: str):
    from effectmod.plan.draft.guess import guess_plan

    return guess_plan(pd.read_csv(REF / case / "data.csv"), source=f"{case}.csv")


def test_init_drafts_counting_process_stop_time_as_a_time_to_event_outcome():
    """survival::cgd's first episodes: tstop + status (Surv(tstart, tstop, status)); before, status
    was drafted as a binary outcome and tstop offered as a continuous moderator."""
    draft = _draft("cgd_cox")
    assert [(o.type, o.time, o.event_column) for o in draft.outcomes] == [("time_to_event", "tstop", "status")]
    assert "tstop" not in {m.column for m in draft.moderators}


def test_init_pairs_futime_with_infect_and_keeps_numbered_centres_out_of_the_moderators():
    """survival::rhDNase: futime + infect was not recognised (no outcome drafted), and inst (centres
    1-51) was drafted as a continuous moderator."""
    draft = _draft("rhdnase_cox")
    assert [(o.type, o.time, o.event_column) for o in draft.outcomes] == [("time_to_event", "futime", "infect")]
    assert draft.cluster == "inst" and draft.cluster_suggested
    assert {m.column for m in draft.moderators} == {"fev"}
    assert any(name == "inst" and "numbered centres" in why for name, why in draft.skipped)
    # entry.dt / end.dt are ISO dates read as text: 'holds dates', not '67 text levels'
    assert {name for name, why in draft.skipped if why == "holds dates"} == {"entry.dt", "end.dt"}


def test_init_long_binary_takes_the_severe_level_as_the_event_and_the_visit_time_as_no_outcome():
    """HSAUR3::toenail: 'none or mild' was drafted as the (bad) event and the time column (months
    since baseline, beside visit) as a second, continuous outcome."""
    draft = _draft("toenail_logistic")
    assert draft.time == "visit" and draft.id == "patientID"
    assert [(o.name, o.type, o.event, o.better) for o in draft.outcomes] == [
        ("outcome", "binary", "moderate or severe", "lower")]
    assert any(name == "time" and "second time column" in why for name, why in draft.skipped)


def test_rhdnase_report_names_the_cox_variance_and_leaves_out_empty_sections():
    """A Cox-only plan with data.cluster: the plan summary said 'Standard errors: CR2' (a linear-model
    variance no model used), and report.html showed the empty credibility and absolute-risk sections
    as tables of bare column names."""
    from effectmod.report.html import report_context

    case = REF / "rhdnase_cox"
    res = em.analyze(case / "data.csv", case / "plan.yaml")
    ctx = report_context(res, [])
    assert dict(ctx["plan_summary"])["Standard errors"] == "Cox models: grouped robust variance, z tests"
    names = [s["name"] for s in ctx["sections"]]
    assert res.sections["credibility"].empty and "credibility" not in names and "absolute_risk" not in names
    assert "time_to_event_flow" in names


def test_additive_scale_section_names_the_arms_not_their_roles():
    """HSAUR3::toenail: the risk rows of 'Interactions on the additive scale' said 'treated' and
    'control' where the report elsewhere says terbinafine and itraconazole."""
    from effectmod.report.html import format_frame

    case = REF / "toenail_logistic"
    res = em.analyze(case / "data.csv", case / "plan.yaml")
    additive = res.sections["additive_scale"]
    assert {"treated", "control"} <= set(additive["arm"].dropna())
    shown = set(format_frame(additive, res)["arm"]) - {""}
    assert shown == {"terbinafine", "itraconazole"}


def test_direction_of_a_time_to_event_outcome_is_stated_as_the_hazard(cgd):
    """'First serious infection: lower is better' read as 'shorter times are better'; the direction of
    a time-to-event outcome is its hazard (and the validate warning says so)."""
    assert cgd.plan.better_text("infection") == "lower hazard of the event is better (assumed: outcomes[].better not set)"
    warning = cgd.plan.unset_better()[0]
    assert "lower values are taken as better" not in warning and "a hazard ratio below 1 favours" in warning


def test_average_effect_note_gives_the_horizon_with_its_unit(cgd):
    note = cgd.sections["average_effects"]["note"].iloc[0]
    assert note.endswith("risk difference: Kaplan-Meier by 230 days"), note     # was 'by 230'


def test_results_paragraph_with_a_single_test_is_grammatical():
    from effectmod.report.paragraph import results_paragraph

    case = REF / "rhdnase_cox"
    text = " ".join(results_paragraph(em.analyze(case / "data.csv", case / "plan.yaml")))
    assert "None of the 1 " not in text
    assert "The pre-specified interaction test showed no evidence of effect modification (P ≥ .05)." in text


def test_ranges_note_only_under_a_per_model_table_with_ranges(cgd, tmp_path):
    """'Ranges are over the moderators' stood under cgd's 'Analysed per model' table, which has no range."""
    from effectmod.report.html import report_context

    assert report_context(cgd, [])["flow_ranges"] is False
    data = pd.read_csv(REF / "cgd_cox" / "data.csv")
    data.loc[:2, "age"] = None          # three ages missing: the age models analyse 125, the others 128
    data.to_csv(tmp_path / "cgd.csv", index=False)
    ctx = report_context(em.analyze(tmp_path / "cgd.csv", REF / "cgd_cox" / "plan.yaml"), [])
    assert ctx["flow_ranges"] is True and any(r["n"] == "125-128" for r in ctx["flow_models"])
