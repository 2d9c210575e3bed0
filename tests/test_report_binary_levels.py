"""Report polish on the colon cancer trial (Cox and RMST, bootstrap CIs):

- a binary moderator's interaction row says which level it compares with which ('male vs female'
  with moderators[].level_labels, '1 vs 0' without) in Table 2, the eTables, tables.docx, the table
  of all interaction tests, interaction_table.csv, the console, summary() and the forest plot;
  not when its label already says it; results.csv keeps term '' for it;
- a Cox column (no follow-up time) is headed 'over follow-up', in HTML and in tables.docx;
- the proportional-hazards footnote (its † mark) sits under every table whose cells carry the mark;
- the bootstrap eTable has no empty restricted-mean-survival-time columns, and Table 2 carries no
  bootstrap note.
"""
from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

import effectmod as em
from effectmod.plan import validate_plan
from effectmod.report.display import binary_comparison
from effectmod.report.docx import read_docx_tables
from effectmod.report.etables import etables
from effectmod.report.html import render_report
from effectmod.report.ratio_display import PH_FLAG, ph_footnotes, ph_view
from effectmod.report.tables import grouped_results, jama_table

REF = Path(__file__).resolve().parent / "reference"


def _plan(labels: bool, label: str = "Sex", bootstrap: int = 20) -> dict:
    plan = yaml.safe_load((REF / "colon_cox" / "plan.yaml").read_text(encoding="utf-8"))
    sex = plan["moderators"][0]
    assert sex["name"] == "sex"
    sex["label"] = label
    if labels:
        sex["level_labels"] = {0: "female", 1: "male"}
    plan["analysis"]["bootstrap"] = bootstrap
    return plan


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "colon_logistic" / "data.csv")


@pytest.fixture(scope="module")
def labelled(data):
    return em.analyze(data, validate_plan(_plan(labels=True), origin="plan.yaml"))


@pytest.fixture(scope="module")
def folder(labelled, tmp_path_factory):
    import effectmod.report.figures
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(effectmod.report.figures, "report_figures", lambda results: [])
        return labelled.write(tmp_path_factory.mktemp("colon") / "out")


def _section(page: str, start: str, end: str) -> str:
    return page[page.index(start):page.index(end, page.index(start))]


def test_table2_and_etables_name_the_compared_levels(labelled):
    jt = jama_table(ph_view(labelled))
    assert ("Sex", "male vs female") in jt.rows
    # a continuous moderator's row has no term; a categorical one keeps '<level> vs <reference>'
    assert ("Age (years)", "") in jt.rows
    assert any(term == "2 vs 1" for _, term in jt.rows)
    for e in etables(ph_view(labelled)):
        assert ("Sex", "male vs female") in e.table.rows
    page = render_report(labelled, [])
    table2 = _section(page, "<h2>Table 2.", "</table>")
    assert '<span class="lo">Sex</span>male vs female' in table2
    groups = grouped_results(ph_view(labelled))
    sex = [r for g in groups for r in g["rows"] if r["moderator"] == "Sex"]
    assert len(sex) == 2 and {r["term"] for r in sex} == {"male vs female"}
    assert "Sex <span class=\"lo\">male vs female</span>" in _section(page, "All interaction tests", "</table>")


def test_docx_csv_and_results_csv(folder):
    tables = read_docx_tables(folder / "tables.docx")
    t2, etable = tables[1], tables[2]
    assert "Sex: male vs female" in [row[0] for row in t2]
    assert "Sex: male vs female" in [row[0] for row in etable]
    it = pd.read_csv(folder / "interaction_table.csv", keep_default_na=False)
    assert it.loc[it["Moderator"] == "Sex", "Term"].tolist() == ["male vs female"]
    # results.csv keeps the data's terms: a binary moderator's one row has none
    res = pd.read_csv(folder / "results.csv", keep_default_na=False)
    assert res.loc[res["moderator"] == "sex", "term"].tolist() == ["", ""]


def test_console_summary_and_forest_plot(labelled):
    from rich.console import Console

    from effectmod.cli.console import print_summary
    from effectmod.report.figures import forest_plot
    out = io.StringIO()
    print_summary(Console(file=out, width=160, color_system=None), labelled)
    printed = out.getvalue()
    assert re.search(r"^\s*male vs female\s+0\.61 \(0\.38-0\.99\)", printed, re.M), printed
    # the same proportional-hazards failure on both levels of differentiation: one note
    flat = " ".join(printed.split())      # the caption wraps at the table's width
    assert flat.count("hazards not proportional") == 1 and "(1 well, 2 moderate, 3 poor) [2, 3]: hazards" in flat
    # the console shows no bootstrap CIs: no mark for the rmst rows' 'bootstrap: not run'
    assert "bootstrap" not in flat
    summary = labelled.summary()
    assert re.search(r"Sex\s+male vs female\s+Cox", summary), summary
    # the key explains the scales the rows are on: hazard ratios and RMST, not β or odds ratios
    key = " ".join(summary.split("=" * 40)[-1].split())
    assert "ratio of HRs:" in key and "difference in RMST differences:" in key
    assert "β:" not in key and "ratio of ORs" not in key
    # a categorical moderator's level against its reference, as Table 2 says it
    assert re.search(r"3 poor\)\s+2 vs 1\s+Cox", summary), summary
    fig = forest_plot(labelled)
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert any(t.replace("\n", " ") == "Sex [male vs female]" for t in ticks), ticks
    # a categorical level against its reference, as Table 2 says it
    assert sum(t.replace("\n", " ").endswith("[2 vs 1]") for t in ticks) == 1, ticks


def test_data_values_without_level_labels_and_the_skip_rule(labelled):
    plain = dataclasses.replace(labelled, trial=dataclasses.replace(labelled.trial, moderators={
        k: dataclasses.replace(m, label="Sex (1 = male)") for k, m in labelled.trial.moderators.items()}),
        plan=labelled.plan.model_copy(update={"moderators": [m.model_copy(update={"level_labels": None})
                                                             for m in labelled.plan.moderators]}))
    assert binary_comparison(plain, "sex") == "1 vs 0"
    # the label already says the comparison (letter case aside): nothing added
    said = dataclasses.replace(labelled, trial=dataclasses.replace(labelled.trial, moderators={
        k: dataclasses.replace(m, label="Sex (Male vs Female)") for k, m in labelled.trial.moderators.items()}))
    assert binary_comparison(said, "sex") == ""
    # not binary: nothing
    assert binary_comparison(labelled, "age") == binary_comparison(labelled, "differ") == ""


def test_cox_columns_are_headed_over_follow_up(labelled, folder):
    jt = jama_table(ph_view(labelled))
    assert [c[1] for c in jt.columns] == ["over follow-up", "horizon 1825 days"]
    page = render_report(labelled, [])
    assert '<th class="group" colspan="2">over follow-up</th>' in _section(page, "<h2>Table 2.", "</table>")
    t2 = read_docx_tables(folder / "tables.docx")[1]
    assert t2[1][1:] == ["over follow-up", "over follow-up", "horizon 1825 days", "horizon 1825 days"]


def test_ph_footnote_under_every_flagged_table(labelled, folder):
    from docx import Document
    tables = etables(ph_view(labelled))
    assert [e.ph_flagged for e in tables] == [True]
    page = render_report(labelled, [])
    etable = _section(page, 'id="etable-1"', "</section>")
    assert PH_FLAG in etable and etable.count('class="legend ph-note"') == len(ph_footnotes(labelled)) == 1
    assert ph_footnotes(labelled)[0].startswith("Proportional-hazards tests (scaled Schoenfeld residuals; one Cox model "
                                                "per moderator), Death, over follow-up. Sex: treatment P = .29")
    paragraphs = [p.text for p in Document(str(folder / "tables.docx")).paragraphs]
    assert paragraphs.count(ph_footnotes(labelled)[0]) == 2      # under Table 2 and under eTable 1


def test_bootstrap_etable_has_no_empty_rmst_columns(labelled, folder):
    (boot,) = etables(ph_view(labelled))
    assert [c[2] for c in boot.table.columns] == ["cox"]
    assert "Not bootstrapped: restricted mean survival time" in boot.footnote
    assert all(c is None or c.text for line in boot.table.cells for c in line)
    # Table 2 is not the bootstrap's table: its RMST cells carry no 'bootstrap: not run' note
    t2 = jama_table(ph_view(labelled))
    assert not any(c is not None and "bootstrap" in c.note for line in t2.cells for c in line)
    # the table of all interaction tests keeps it beside its empty bootstrap cell
    rmst = [r for g in grouped_results(ph_view(labelled)) for r in g["rows"] if r["model"] == "rmst" and r["term"] != "joint test"]
    assert rmst and all(r["boot"] == "" and "bootstrap: not run" in r["note"] for r in rmst)


def test_results_csv_is_the_same_with_or_without_labels(data, labelled):
    plain = em.analyze(data, validate_plan(_plan(labels=False, label="Sex (1 = male)"), origin="plan.yaml"))
    cols = ["outcome", "timepoint", "moderator", "term", "model", "estimate", "ci_low", "ci_high", "p_value", "boot_ci_low"]
    pd.testing.assert_frame_equal(plain.table[cols], labelled.table[cols])


def test_section_tables_read_as_a_journal_prints_them(labelled):
    """The generic section tables: headers without the CSV's machine words, a true minus sign,
    quantities in words, a follow-up time without decimals; the CSV files keep their names."""
    from effectmod.report.html import format_frame
    frame = pd.DataFrame({"outcome": ["death"], "moderator": ["sex"], "quantity": ["rd_interaction"],
                          "estimate": [-0.151], "std_error": [0.08], "ci_low": [-0.31], "ci_high": [0.004],
                          "p_value": [0.06], "rd_std_error": [0.1], "risk_treated_se": [0.04], "median_followup": [2332.0]})
    shown = format_frame(frame, labelled)
    assert list(shown.columns) == ["outcome", "moderator", "quantity", "estimate", "SE", "CI", "P", "RD SE",
                                   "risk treated SE", "median follow-up"]
    row = shown.iloc[0].tolist()
    assert row == ["Death", "Sex", "interaction (difference in differences)", "\u22120.15", "0.08", "\u22120.31 to 0.00",
                   ".06", "0.10", "0.04", "2332"]
    page = render_report(labelled, [])
    absolute = _section(page, 'id="section-absolute_risk"', "</section>")
    assert "Absolute risk by the horizon within each moderator level" in absolute and "RD CI" in absolute
    assert "\u22120.30 to \u22120.08" in absolute and "-0.30" not in absolute
    flow = _section(page, 'id="section-time_to_event_flow"', "</section>")
    assert "Time-to-event flow" in flow and "<td>2332 days</td>" in flow and "2332.00" not in flow
    assert "time unit" not in flow
    # the table of all interaction tests prints its log-scale values with a true minus sign too
    tests = _section(page, "All interaction tests", "</table>")
    assert "log scale \u22120.49 (\u22120.96 to \u22120.01)" in tests and "-0.49" not in tests


def test_bare_follow_up_numbers_are_headed_as_follow_ups():
    """Without data.time_unit, Table 2 headed the follow-ups of btheb_ordinal '2' and '8'; the
    other tables say 'follow-up 2'. A binary moderator with text levels: 'Yes vs No'."""
    plan = yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text(encoding="utf-8"))
    res = em.analyze(pd.read_csv(REF / "btheb_ordinal" / "data.csv"), validate_plan(plan, origin="plan.yaml"))
    jt = jama_table(res)
    assert [c[1] for c in jt.columns] == ["follow-up 2", "follow-up 8"]
    assert ("drug", "Yes vs No") in jt.rows


@pytest.fixture(scope="module")
def epil():
    plan = yaml.safe_load((REF / "epil_count" / "plan.yaml").read_text(encoding="utf-8"))
    return em.analyze(pd.read_csv(REF / "epil_count" / "data.csv"), validate_plan(plan, origin="plan.yaml"))


def test_overdispersion_is_said_once_under_the_table(epil, tmp_path):
    """MASS::epil's Poisson fits are overdispersed: Table 2's cells say 'overdispersed‡' (not the
    whole check ten times) and the footnote gives each model's Pearson chi-square/df once, in the
    report and in tables.docx; results.csv keeps the full note."""
    from docx import Document

    from effectmod.report.check_notes import OD_FLAG, od_footnotes
    res = epil
    assert res.table.loc[res.table["term"] != "joint", "note"].str.startswith("overdispersion: Pearson").all()
    cells = [c for line in jama_table(ph_view(res)).cells for c in line if c is not None and c.text != "joint test"]
    assert len(cells) == 8 and {c.note for c in cells} == {OD_FLAG}
    lines = od_footnotes(res)
    assert len(lines) == 2 and lines == ph_footnotes(res)
    assert lines[0].startswith("\u2021 Overdispersion of the Poisson fits") and "age: chi-square/df 2.53, P < .001" in lines[0]
    page = render_report(res, [])
    table2 = _section(page, "<h2>Table 2.", "</section>")
    assert table2.count("Pearson chi-square/df =") == 0 and table2.count("\u2021 Overdispersion") == 2
    import effectmod.report.figures
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(effectmod.report.figures, "report_figures", lambda results: [])
        folder = res.write(tmp_path / "out")
    paragraphs = [p.text for p in Document(str(folder / "tables.docx")).paragraphs]
    assert [p for p in paragraphs if p.startswith("\u2021")] == lines
    t2 = read_docx_tables(folder / "tables.docx")[1]
    assert not any("Pearson" in c for row in t2 for c in row)
    assert pd.read_csv(folder / "results.csv")["note"].dropna().str.contains("Pearson chi-square/df =").any()


def test_results_paragraph_names_the_comparison(labelled):
    from effectmod.report.paragraph import results_paragraph
    text = " ".join(results_paragraph(labelled))
    assert "Sex modified the effect on death over follow-up (male vs female: ratio of hazard ratios = 0.61" in text
    # a continuous moderator's sentence is as before
    assert "(ratio of hazard ratios = 0.99 [95% CI, 0.97-1.01]; P = .18)" in text


def test_subgroup_forest_prints_intervals_as_the_tables_do(labelled):
    """'0.86 (0.63-1.18)' as in the tables (was '0.86 (0.63 to 1.18)'); a negative bound with a
    true minus sign and 'to'."""
    from effectmod.report.subgroup_forest import subgroup_forest_figures
    texts = [t.get_text() for _, _, fig in subgroup_forest_figures(labelled) for ax in fig.axes for t in ax.texts]
    assert "0.86 (0.63-1.18)" in texts and "0.53 (0.37-0.75)" in texts, texts
    assert not any(re.fullmatch(r"[\d.]+ \([\d.]+ to [\d.]+\)", t) for t in texts)


def test_kaplan_meier_axis_is_named_with_its_unit(labelled):
    from effectmod.report.km_figures import km_figures
    figs = km_figures(labelled)
    assert figs and all(ax.get_xlabel() == "Time (days)" for _, _, fig in figs for ax in fig.axes if ax.get_xlabel())


def test_table2_legend_explains_only_the_scales_shown(labelled):
    page = render_report(labelled, [])
    legend = _section(page, "<h2>Table 2.", "</section>")
    legend = legend[legend.index('<p class="legend">'):]
    assert "Ratio of HRs (time-to-event outcomes): ratio of hazard ratios" in legend
    assert "difference in RMST differences (time-to-event outcomes" in legend and "in days." in legend
    assert "β:" not in legend and "ratio of ORs" not in legend


def test_results_sentences_start_with_a_capital(epil):
    """MASS::epil's moderators have no labels ('age_group'): its Results sentences began 'age_group modified'."""
    from effectmod.report.paragraph import results_paragraph
    paras = results_paragraph(epil)
    assert paras[0].startswith("Age_group modified the effect on") and " Age modified the effect on" in paras[0]


def test_credibility_says_which_level_benefits_more(labelled):
    """A binary moderator is 'higher' at its non-reference level: the credibility items say which."""
    from effectmod.report.section_tables import section_table
    table = section_table("credibility", labelled.sections["credibility"], labelled)
    details = {cells["cells"][0]: cells["detail"] for cells in table["rows"]}
    assert "observed direction: greater benefit (male vs female);" in details["Sex"]
    assert "observed direction: greater benefit when higher;" in details["Age (years)"]


def test_plan_summary_gives_follow_ups_with_their_unit():
    from effectmod.report.html import _plan_summary
    plan = yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text(encoding="utf-8"))
    plan["data"]["time_unit"] = "months"
    res = em.analyze(pd.read_csv(REF / "btheb_ordinal" / "data.csv"), validate_plan(plan, origin="plan.yaml"))
    outcomes = dict(_plan_summary(res))["Outcomes"]
    assert outcomes.endswith("(ordinal; follow-ups 2 months, 8 months)"), outcomes


def test_table2_legend_names_what_each_etable_holds():
    """'see also eTables 1, 2 (linear mixed model (sensitivity analysis); bootstrap CIs)', not a claim
    that every eTable is a sensitivity analysis."""
    import re

    import effectmod as em
    from effectmod.report.html import render_report
    folder = Path(__file__).parent / "reference" / "btheb_linear"
    plan = yaml.safe_load((folder / "plan.yaml").read_text())
    plan["analysis"].update(bootstrap=20, sensitivity=["mixed"])
    page = render_report(em.analyze(pd.read_csv(folder / "data.csv"), plan), [])
    legend = " ".join(re.search(r"Main analysis[^<]*", page).group(0).split())
    assert legend.startswith("Main analysis; see also eTables 1, 2 (linear mixed model (sensitivity analysis); bootstrap CIs)")
