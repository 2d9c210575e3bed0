"""Real trials run as a new user would (survival::pbc, veteran, colon; HSAUR3::Lanza): the defects
found there, each pinned against R (tests/reference) or the words a reader needs."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import effectmod as em
from effectmod.cli import main

REF = Path(__file__).parent / "reference"
REL = 1e-7


@pytest.fixture(scope="module")
def pbc_results():
    case = REF / "pbc_cox"
    return em.analyze(case / "data.csv", case / "plan.yaml")


def test_pbc_event_value_censors_every_other_status_as_r(pbc_results):
    """status 0 censored, 1 transplant, 2 death with event_value 2: any other value is censored
    (the plan key's meaning); before, the plan was refused ('an event indicator needs two values')."""
    ref = pd.read_csv(REF / "pbc_cox" / "reference.csv", dtype={"timepoint": str, "term": str}).fillna({"term": ""})
    table = pbc_results.table
    got = {(r.model, r.moderator, "" if not isinstance(r.term, str) else r.term): r for r in table.itertuples()}
    checked = 0
    for r in ref.itertuples():
        if r.model == "rmst" and r.moderator == "edema":
            continue        # the control arm with edema 1 is last seen at 1434 days: undefined at 3652 (CONTRACT 6.3)
        g = got[(r.model, r.moderator, r.term)]
        fields = ("p_value",) if r.term == "joint" else ("estimate", "std_error", "p_value")
        for f in fields:
            want, have = float(getattr(r, f)), float(getattr(g, f))
            assert math.isclose(have, want, rel_tol=REL, abs_tol=1e-12), (r.model, r.moderator, r.term, f, have, want)
        assert int(g.n) == int(r.n) == 312
        checked += 1
    assert checked == 7


def test_three_valued_event_without_event_value_names_the_key(tmp_path, capsys):
    data = pd.read_csv(REF / "pbc_cox" / "data.csv")
    data.to_csv(tmp_path / "pbc.csv", index=False)
    plan = (REF / "pbc_cox" / "plan.yaml").read_text().replace("    event_value: 2\n", "")
    (tmp_path / "plan.yaml").write_text(plan)
    assert main(["validate", str(tmp_path / "pbc.csv"), "--plan", str(tmp_path / "plan.yaml")]) == 2
    err = capsys.readouterr().err
    assert "outcomes[0].event_value naming the event" in err and "found 3: '0', '1', '2'" in err


@pytest.fixture(scope="module")
def veteran_results():
    case = REF / "veteran_cox"
    return em.analyze(case / "data.csv", case / "plan.yaml")


def test_rmst_columns_say_what_the_estimate_is_and_the_horizon_unit(veteran_results):
    """The rmst interaction is a difference in RMST differences in days, not a 'β'; its column head
    and the console name the horizon with the outcome's time_unit (was '180' / 'follow-up 180')."""
    import io

    from rich.console import Console

    from effectmod.cli.console import print_summary
    from effectmod.report.html import render_report
    from effectmod.report.tables import jama_table

    jt = jama_table(veteran_results)
    rmst = [j for j, c in enumerate(jt.columns) if c[2] == "rmst"]
    assert rmst and all(jt.columns[j][1] == "horizon 180 days" for j in rmst)
    assert all(jt.estimate_head(j).startswith("Difference in RMST differences") for j in rmst)
    out = io.StringIO()
    print_summary(Console(file=out, width=120, color_system=None), veteran_results)
    text = out.getvalue()
    assert "Restricted mean survival time · n 137 · horizon 180 days" in text
    assert "β (95% CI)" not in text
    page = render_report(veteran_results, [])
    assert "follow-up 180" not in page and "difference in RMST differences (time-to-event outcomes" in page


def test_forest_plot_keeps_log_hazard_ratios_and_rmst_days_apart(veteran_results):
    """The main forest plot drew Cox log hazard ratios (about 1) and RMST differences in days
    (about 30) on one axis named 'Interaction β'; now Cox has the main figure (log hazard ratio
    axis) and rmst its own (days)."""
    from effectmod.report.figures import _model_figures, close

    figs = _model_figures(veteran_results)
    try:
        by_name = {n: (c, f) for n, c, f in figs}
        main_ax = by_name["forest_interactions"][1].axes[0]
        rmst_ax = by_name["forest_interactions_rmst"][1].axes[0]
        assert " ".join(main_ax.get_xlabel().split()) == "Ratio of hazard ratios (log scale) per SD of moderator"
        ticks = [t.get_text() for t in main_ax.get_xticklabels()]
        assert "1" in ticks and all(float(t) > 0 for t in ticks)        # labelled in ratios
        assert " ".join(rmst_ax.get_xlabel().split()) == "Difference in RMST differences (days) per SD of moderator"
        assert max(abs(v) for v in main_ax.get_xlim()) < 5          # log hazard ratios only
        assert "Cox regression and restricted mean survival time" in by_name["forest_interactions"][0]
        assert "linear regression" not in by_name["forest_interactions"][0]
    finally:
        close(figs)


def test_init_drafts_pbc_status_0_1_2_as_time_to_event(tmp_path, capsys):
    """survival::pbc's time + status (0 censored, 1 transplant, 2 death): init drafted status as a
    continuous outcome and time as a moderator; now a time_to_event outcome with event_value 2
    (to confirm), whose draft validates."""
    import yaml

    data = tmp_path / "pbc.csv"
    pd.read_csv(REF / "pbc_cox" / "data.csv").to_csv(data, index=False)
    plan = tmp_path / "plan.yaml"
    assert main(["init", str(data), "--out", str(plan)]) == 0
    text = plan.read_text()
    raw = yaml.safe_load(text)
    tte = [o for o in raw["outcomes"] if o["type"] == "time_to_event"]
    assert len(tte) == 1 and (tte[0]["time"], tte[0]["event"], str(tte[0]["event_value"])) == ("time", "status", "2")
    assert "competing event" in text
    assert {"time", "status"}.isdisjoint(m["column"] for m in raw["moderators"])
    capsys.readouterr()
    assert main(["validate", str(data), "--plan", str(plan)]) == 0


def test_rmst_subgroup_forest_is_not_drawn_as_hazard_ratios(veteran_results):
    """The subgroup forest drew the rmst rows' differences in days as hazard ratios (exp(31.7 days)
    = 6071.50 under 'Hazard ratio (95% CI)', titled 'over follow-up'); rmst subgroups have their own
    figures (subgroups_*_rmst), so the forest is drawn for the Cox rows only."""
    from effectmod.report.subgroup_forest import subgroup_forest_figures

    figs = subgroup_forest_figures(veteran_results)
    try:
        assert [n for n, _, _ in figs] == ["subgroup_forest_death"]
    finally:
        for _, _, f in figs:
            f.clear()


def test_rmst_key_findings_read_a_longer_survival_gain_as_more_benefit(tmp_path):
    """Death is bad (better: lower), but an RMST difference is survival time gained: colon, Lev+5FU
    vs Obs, males gain 197.8 days vs 37.4 for females, and the key finding said males 'benefited
    less' (the Cox sign rule). Each rmst finding now says 'more' exactly when the second effect is larger."""
    import re

    from effectmod.report.key_findings import key_findings

    case = REF / "colon_cox3"
    plan = (case / "plan.yaml").read_text().replace("    better: higher\n", "    better: lower\n")   # death is bad
    assert "better: lower" in plan
    (tmp_path / "plan.yaml").write_text(plan)
    res = em.analyze(case / "data.csv", tmp_path / "plan.yaml")
    lines = [s for s in key_findings(res) if "(RMST difference)" in s and "benefited" in s]
    assert lines
    number = r"(-?[0-9.]+) \[[^]]*\]"
    for s in lines:
        first, second = (float(x) for x in re.search(f"\\(RMST difference\\) {number} .*? vs {number}", s).groups())
        assert ("benefited more" in s) == (second > first), s
        assert "at the horizon 1825 days" in s, s
    # the Results paragraph: 'at follow-up 1825 (difference in rmst differences = ...' before
    from effectmod.report.paragraph import results_paragraph

    text = " ".join(results_paragraph(res))
    # (a binary moderator's row names its comparison first: '(male vs female: difference in ...')
    assert re.search(r"at the horizon 1825 days \((?:[^():]+: )?difference in RMST differences = ", text)
    assert "follow-up 1825" not in text


def test_validate_says_one_model_in_the_singular(tmp_path, capsys):
    """HSAUR3::Lanza (one ordinal outcome, one moderator): 'plan and data agree; 1 model to fit'."""
    import yaml

    frame = pd.DataFrame({"id": range(1, 21), "arm": ["A", "B"] * 10, "site": list("xxyy") * 5,
                          "grade": [1, 2, 3, 4, 5] * 4})
    frame.to_csv(tmp_path / "d.csv", index=False)
    plan = {"data": {"id": "id", "treatment": "arm", "treated": "A", "control": "B"},
            "outcomes": [{"name": "grade", "type": "ordinal", "followups": {"day7": "grade"}}],
            "moderators": [{"name": "site", "column": "site", "type": "binary"}]}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(plan))
    assert main(["validate", str(tmp_path / "d.csv"), "--plan", str(tmp_path / "p.yaml")]) == 0
    assert "plan and data agree; 1 model to fit" in capsys.readouterr().out


def test_plan_summary_and_flow_words_for_time_to_event(veteran_results):
    """veteran: 'Baseline adjustment: yes' although a time-to-event outcome has no baseline; the Cox
    model's follow-up read 'all follow-ups'."""
    from effectmod.report.html import _flow_models, _plan_summary

    summary = dict(_plan_summary(veteran_results))
    assert summary["Baseline adjustment"] == "yes, but no outcome has a baseline value"
    flows = {f["model"]: f["timepoint"] for f in _flow_models(veteran_results)}
    assert flows == {"Cox proportional hazards": "over follow-up", "Restricted mean survival time": "horizon 180 days"}


def test_init_drafts_lanza_classification_as_ordinal(tmp_path):
    """HSAUR3::Lanza (study, treatment, classification 1-5 of endoscopic damage): init found no
    outcome (a TODO_outcome placeholder, classification offered as a moderator)."""
    import yaml

    rows = [(s, arm, c) for s in ("I", "II") for arm in ("Misoprostol", "Placebo") for c in (1, 2, 3, 4, 5)]
    frame = pd.DataFrame(rows * 2, columns=["study", "treatment", "classification"])
    frame.insert(0, "id", range(1, len(frame) + 1))
    frame.to_csv(tmp_path / "lanza.csv", index=False)
    assert main(["init", str(tmp_path / "lanza.csv"), "--out", str(tmp_path / "plan.yaml")]) == 0
    raw = yaml.safe_load((tmp_path / "plan.yaml").read_text())
    assert [(o["name"], o["type"], o["levels"]) for o in raw["outcomes"]] == [("classification", "ordinal", [1, 2, 3, 4, 5])]
    assert [m["column"] for m in raw["moderators"]] == ["study"]


def test_absolute_risk_horizon_is_a_time_with_its_unit(veteran_results):
    """The absolute-risk table printed the horizon as '180.00' (a two-decimal estimate)."""
    from effectmod.report.html import format_frame

    shown = format_frame(veteran_results.sections["absolute_risk"], veteran_results)
    assert set(shown["horizon"]) == {"180 days"}


def test_ordinal_subgroup_forest_summarises_category_values(tmp_path):
    """HSAUR3::Lanza's subgroup forest gave 'mean (SD) 0.6 (1.0)' for a classification scored 1-5
    (the codes 0..4); the per-arm mean is now of the category values."""
    import numpy as np
    import yaml

    from effectmod.report.sentences import number
    from effectmod.report.subgroup_forest import subgroup_forest_figures

    rng = np.random.default_rng(3)
    n = 80
    frame = pd.DataFrame({"id": range(n), "arm": ["M", "P"] * (n // 2), "study": np.repeat(["I", "II"], n // 2)})
    frame["grade"] = np.clip(np.where(frame["arm"] == "M", 2, 4) + rng.integers(-2, 3, n), 1, 5)
    frame.to_csv(tmp_path / "d.csv", index=False)
    plan = {"data": {"id": "id", "treatment": "arm", "treated": "M", "control": "P"},
            "outcomes": [{"name": "grade", "type": "ordinal", "levels": [1, 2, 3, 4, 5], "followups": {"day7": "grade"}}],
            "moderators": [{"name": "study", "column": "study", "type": "binary"}]}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(plan))
    res = em.analyze(tmp_path / "d.csv", tmp_path / "p.yaml")
    figs = subgroup_forest_figures(res)
    try:
        texts = {t.get_text() for ax in figs[0][2].axes for t in ax.texts}
    finally:
        for _, _, f in figs:
            f.clear()
    for (study, arm), g in frame.groupby(["study", "arm"]):
        assert f"{number(g['grade'].mean(), 1)} ({number(g['grade'].std(ddof=1), 1)})" in texts, (study, arm, sorted(texts))


def test_ratio_ticks_thin_out_on_a_wide_axis():
    """Lanza's subgroup forest labelled 0.005 0.01 0.02 0.05 0.1 0.2 0.5 1 under a narrow axis, the
    first three running together; at most six labels now, 1 among them."""
    import numpy as np
    from matplotlib.figure import Figure

    from effectmod.report.drawing import ratio_ticks

    ax = Figure().add_subplot(1, 1, 1)
    ax.set_xlim(np.log(0.004), np.log(1.3))
    ratio_ticks(ax)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["0.005", "0.01", "0.05", "0.1", "0.5", "1"]
    ax.set_xlim(np.log(0.3), np.log(3))          # a narrow axis keeps its fine ticks
    ratio_ticks(ax)
    assert len(ax.get_xticklabels()) >= 3


def test_init_says_how_many_rows_have_no_arm(tmp_path):
    """survival::pbc: 106 of 418 rows have trt NA (not randomised); the draft did not say so."""
    data = tmp_path / "pbc.csv"
    pd.read_csv(REF / "pbc_cox" / "data.csv").to_csv(data, index=False)
    assert main(["init", str(data), "--out", str(tmp_path / "plan.yaml")]) == 0
    assert "106 of 418 rows have no arm" in (tmp_path / "plan.yaml").read_text()


def test_rmst_effect_curve_reads_survival_gain_as_benefit(veteran_results):
    """The RMST curve over a continuous moderator is survival time gained: colon's age curve (gain 27
    days at 43, -49 at 74) was titled 'Larger benefit at higher Age' and its axis read 'at follow-up
    1826'. veteran: the karno rmst curve rises (gain larger at higher Karnofsky score)."""
    from effectmod.report.effect_figures import conditional_effect_figure

    fm = next(f for f in veteran_results.fitted if f.spec.kind == "rmst" and f.spec.moderator == "karno")
    t = str(fm.spec.timepoint)
    name, caption, fig = conditional_effect_figure(veteran_results, fm, t, None)
    try:
        ax = fig.axes[0]
        title, ylabel = ax.get_title(loc="left"), ax.get_ylabel()
    finally:
        fig.clear()
    r = veteran_results.table.query("model == 'rmst' and moderator == 'karno'").iloc[0]
    assert r.estimate > 0                                    # a larger RMST gain at a higher score
    assert title.startswith("Larger benefit of 2 at higher Karnofsky performance score (assuming the event is bad)"), title
    assert "RMST difference" in ylabel and "horizon 180 days" in ylabel and "follow-up 180" not in ylabel


def test_rmst_subgroup_figure_names_horizon_and_scale(veteran_results):
    """subgroups_prior_rmst: 'Death, follow-up 180' and 'Treatment effect (2 − 1)' on an axis of days."""
    from effectmod.report.effect_figures import subgroup_figure

    fig = subgroup_figure(veteran_results, "prior", {"rmst"})
    fig = fig[2] if isinstance(fig, tuple) else fig
    try:
        ax = fig.axes[0]
        labels = [t.get_text() for t in ax.get_yticklabels()]
        xlabel = ax.get_xlabel()
    finally:
        fig.clear()
    assert "Death, horizon 180 days" in labels and xlabel.startswith("RMST difference (2 − 1)"), (labels, xlabel)


def test_notebook_rows_name_the_rmst_scale_and_horizon(veteran_results):
    """Results.summary()/notebook rows gave rmst rows the scale 'β' and follow-up 'follow-up 180'."""
    from effectmod.report.notebook import rows

    rmst = [r for r in rows(veteran_results) if r["model"] == "Restricted mean survival time"]
    assert rmst and {(r["scale"], r["follow-up"]) for r in rmst} == {("difference in RMST differences", "horizon 180 days")}
