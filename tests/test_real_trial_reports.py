"""What a reader sees for real multi-arm, cluster-randomised and PATH analyses (MASS::anorexia,
the Achievement Awards trial, survival::colon): the words of the key findings, the tables, the
console and the SAP, and the names of the PATH figures."""
from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from rich.console import Console

import effectmod as em
from effectmod.cli.console import print_summary
from effectmod.report import tables
from effectmod.report.comparisons import flattened
from effectmod.report.html import render_report

REF = Path(__file__).parent / "reference"


def _console(res) -> str:
    out = io.StringIO()
    print_summary(Console(file=out, width=160, color_system=None), res)
    return out.getvalue()


@pytest.fixture(scope="module")
def anorexia():
    plan = yaml.safe_load((REF / "multiarm" / "plan_anorexia.yaml").read_text())
    plan["moderators"] = [m for m in plan["moderators"] if m["name"] == "prewt"]
    plan["analysis"]["multiplicity"] = "none"
    return em.analyze(REF / "multiarm" / "anorexia.csv", plan)


@pytest.fixture(scope="module")
def awards():
    plan = yaml.safe_load((REF / "cluster_achievement" / "plan_decomposition.yaml").read_text())
    plan["moderators"] = [m for m in plan["moderators"] if m["name"] in ("girls", "sector")]
    return em.analyze(REF / "cluster_achievement" / "data.csv", plan)


def test_all_arms_key_finding_says_at_least_one_arm(anorexia):
    """The joint test across arms rejects 'every arm x moderator interaction is 0': at least one
    arm differs, not 'not 0 for every treated arm' (which reads as each arm's being non-zero)."""
    from effectmod.report.key_findings import modifier_lines
    lines = [x for x in modifier_lines(flattened(anorexia)) if x.startswith("All arms")]
    assert lines and "at least one treated arm" in lines[0]
    assert "not 0 for every" not in lines[0]


def test_all_arms_row_is_one_joint_test_not_an_estimate(anorexia):
    flat = flattened(anorexia)
    rows = [r for g in tables.grouped_results(flat) for r in g["rows"] if "all arms" in r["moderator"]]
    assert len(rows) == 1
    # the label says 'joint test' once; the estimate column says joint test, not the model's note alone
    assert rows[0]["term"] == "" and rows[0]["estimate"] == "joint test"
    out = _console(anorexia)
    line = next(x for x in out.splitlines() if "all arms" in x)
    assert ".007" in line and "  joint test" not in out


def test_cluster_level_moderator_rows_say_where_the_between_comparison_is(awards):
    got = awards.frame("cluster_decomposition")
    sector = got[got["moderator"] == "sector"]
    assert len(sector) == 12 and sector["estimate"].isna().all()
    between = sector.loc[sector["term"] == "between", "note"]
    within = sector.loc[sector["term"] == "within", "note"]
    # an empty row must not claim that 'only the between-cluster comparison exists' without giving it
    assert not sector["note"].str.contains("only the between-cluster comparison exists").any()
    assert between.str.contains("main interaction").all() and within.str.contains("no within-cluster").all()


def test_cluster_counts_and_cr2_df_in_console_and_table_2(awards):
    out = " ".join(_console(awards).split())
    assert "39 clusters ('school_id': 20 in the 1 arm, 19 in the 0 arm)" in out
    assert "CR2" in out and "Satterthwaite df" in out and "logistic models: CR0" in out
    html = render_report(awards, [])
    legend = html[html.index("NE: not estimable (reason shown)."):][:600]
    assert "39 clusters" in legend and "Satterthwaite df" in legend


def test_two_arm_report_has_no_cluster_note(anorexia):
    from effectmod.report.clusters import table_note
    assert table_note(anorexia) == ""


def test_risk_group_bounds_and_figure_names():
    from effectmod.report.html import _open_bounds, format_frame
    assert _open_bounds(-math.inf, 0.2969) == "up to 0.30"
    assert _open_bounds(0.5128, math.inf) == "above 0.51"
    assert _open_bounds(0.30, 0.39) == "0.30-0.39"
    df = pd.DataFrame({"risk_group": [1, 2], "risk_low": [-math.inf, 0.3], "risk_high": [0.3, math.inf]})

    class R:   # just what format_frame reads
        plan = em.load_plan(REF / "colon_logistic" / "plan.yaml")
    got = format_frame(df, R)
    assert list(got["risk"]) == ["up to 0.30", "above 0.30"]


def test_risk_group_figure_name_has_no_space_and_statement_has_intervals():
    """The name is a file name and an HTML anchor (#figure-...): '5 years' must not leave a space."""
    from effectmod.report.predictive_figures import predictive_figures
    plan = yaml.safe_load((REF / "colon_logistic" / "plan.yaml").read_text())
    plan["outcomes"][0]["followups"] = {"5 years": plan["outcomes"][0]["followups"]["end"]}
    plan["moderators"] = plan["moderators"][:1]
    plan["predictive"] = {"risk_predictors": ["age", "nodes"], "effect_predictors": ["age", "nodes"], "bootstrap": 0}
    res = em.analyze(REF / "colon_logistic" / "data.csv", plan)
    names = [n for n, _, _ in predictive_figures(res)]
    assert names == ["risk_groups_death_5-years"]
    # the risk-model statement gives the outer groups' effects with their intervals, not bare points
    from effectmod.formatting import interval, number
    said = res.sections["predictive"]
    text = said.loc[said["topic"] == "risk model", "statement"].iloc[0]
    g = res.sections["risk_groups"]
    lo, hi = g.iloc[0], g.iloc[-1]
    assert (f"{number(lo['absolute_effect'])} (95% CI, {interval(lo['absolute_ci_low'], lo['absolute_ci_high'])}) "
            "in the lowest-risk group") in text
    assert f"{number(hi['absolute_effect'])} ({interval(hi['absolute_ci_low'], hi['absolute_ci_high'])}) in the highest" in text


def test_odds_ratio_figure_caption_speaks_in_ratios():
    from effectmod.report.effect_figures import figures_for
    plan = yaml.safe_load((REF / "cluster_achievement" / "plan.yaml").read_text())
    plan["moderators"] = [m for m in plan["moderators"] if m["name"] == "lagscore"]
    plan["outcomes"] = plan["outcomes"][:1]
    res = em.analyze(REF / "cluster_achievement" / "data.csv", plan)
    caps = [c for n, c, _ in figures_for(res, "all") if n.startswith("effect")]
    assert caps and "CI excludes 1" in caps[0]
    assert "effect > 0" not in caps[0] and "effect < 0" not in caps[0] and "CI excludes 0" not in caps[0]
    assert "odds ratio > 1" in caps[0] or "odds ratio < 1" in caps[0]
    # results.csv's sections keep the log scale's words
    jn = res.frame("johnson_neyman")
    assert jn["sign_description"].str.contains("CI excludes 0").any()


def test_sap_of_a_multi_arm_trial_describes_the_arm_indicators():
    from effectmod.report.sap import sap_markdown
    plan = em.load_plan(REF / "multiarm" / "plan_anorexia.yaml")
    text = sap_markdown(plan)
    assert "Treatment is coded 1 for CBT and FT" not in text
    assert "Each intervention arm (CBT and FT) has its own indicator" in text
    assert "per comparison in the main analysis, for each of the 2 comparisons with Cont" in text


def test_singular_counts_in_messages(tmp_path, capsys):
    from effectmod.cli.app import main
    plan = yaml.safe_load((REF / "multiarm" / "plan_anorexia.yaml").read_text())
    plan["moderators"] = plan["moderators"][:1]
    p = tmp_path / "plan.yaml"
    p.write_text(yaml.safe_dump(plan))
    assert main(["validate", str(REF / "multiarm" / "anorexia.csv"), "--plan", str(p)]) == 0
    assert "1 model to fit" in capsys.readouterr().out
    assert main(["sap", str(p), "--out", str(tmp_path / "sap.md")]) == 0
    assert "(1 moderator)" in capsys.readouterr().out


def test_credibility_reasons_count_one_test_in_the_singular(anorexia):
    reasons = " ".join(anorexia.frame("credibility").astype(str).to_numpy().ravel())
    assert "over 1 tests" not in reasons and "over 1 test)" in reasons


def test_docx_table_2_note_names_the_clusters_and_cr2(awards, tmp_path):
    from docx import Document

    from effectmod.report.docx import write_docx
    from effectmod.report.tables import jama_table, table1
    path = tmp_path / "tables.docx"
    write_docx(awards, path, table1(awards), jama_table(awards))
    text = " ".join(p.text for p in Document(str(path)).paragraphs)
    assert "39 clusters" in text and "Satterthwaite df" in text


def test_conditional_effect_moderator_values_have_two_decimals_at_most():
    from effectmod.report.section_tables import section_table
    plan = yaml.safe_load((REF / "cluster_achievement" / "plan.yaml").read_text())
    plan["moderators"] = [m for m in plan["moderators"] if m["name"] == "lagscore"]
    plan["outcomes"] = plan["outcomes"][1:]
    res = em.analyze(REF / "cluster_achievement" / "data.csv", plan)
    table = section_table("conditional_effects", res.frame("conditional_effects"), res)
    k = table["columns"].index("Moderator value")
    values = [r["cells"][k] for r in table["rows"]]
    assert "39.33" in values and not any(len(v.split(".")[-1]) > 2 for v in values if "." in v)


def test_sap_lists_the_cluster_decomposition_when_planned():
    from effectmod.report.sap import sap_markdown
    plan = em.load_plan(REF / "cluster_achievement" / "plan_decomposition.yaml")
    sens = sap_markdown(plan).split("## Sensitivity and supplementary analyses")[1].split("##")[0]
    assert "None planned" not in sens and "Within- and between-cluster interactions" in sens
    plain = em.load_plan(REF / "cluster_achievement" / "plan.yaml")
    assert "Within- and between-cluster" not in sap_markdown(plain)


def test_console_says_where_the_path_analyses_are():
    plan = yaml.safe_load((REF / "colon_logistic" / "plan.yaml").read_text())
    plan["moderators"] = plan["moderators"][:1]
    plan["predictive"] = {"risk_predictors": ["age", "nodes"], "bootstrap": 0}
    res = em.analyze(REF / "colon_logistic" / "data.csv", plan)
    out = " ".join(_console(res).split())
    assert "Predictive heterogeneity (PATH, exploratory)" in out and "risk_groups.csv" in out
    assert "PATH" not in _console(em.analyze(REF / "colon_logistic" / "data.csv", {**plan, "predictive": None}))


def test_table_1_shows_a_numeric_covariate_as_the_model_uses_it(awards):
    """`covariates: [pair]` with whole numbers 1-20 is one linear term in every model; Table 1 gave
    it 19 rows of n (%) as if it were a category."""
    from effectmod.report.tables import table1_spec
    plan = yaml.safe_load((REF / "cluster_achievement" / "plan.yaml").read_text())
    plan["covariates"] = ["pair", "qrtl"]
    plan["moderators"] = plan["moderators"][:1]
    plan["outcomes"] = plan["outcomes"][1:]
    res = em.analyze(REF / "cluster_achievement" / "data.csv", plan)
    kinds = {c: k for c, _, k in table1_spec(res)}
    assert kinds["pair"] == "continuous" and kinds["qrtl"] == "categorical"


def test_a_flat_lasso_effect_model_says_why_its_slope_is_missing():
    """BtheB at 2 months: the lasso shrinks every treatment interaction to 0, so predicted benefit
    is one number and the calibration-for-benefit slope does not exist; the row and the statement
    say so instead of leaving an empty row."""
    plan = yaml.safe_load((REF / "btheb_linear" / "plan.yaml").read_text())
    plan["outcomes"][0]["followups"] = {"2": "bdi.2m"}
    plan["predictive"] = {"risk_predictors": ["bdi_pre", "drug", "length"],
                          "effect_predictors": ["bdi_pre", "drug", "length"], "penalty": "lasso", "bootstrap": 0}
    res = em.analyze(REF / "btheb_linear" / "data.csv", plan)
    m = res.sections["benefit_metrics"]
    slope = m[m["metric"] == "calibration_for_benefit_slope"].iloc[0]
    assert math.isnan(float(slope["estimate"])) and "same benefit for every participant" in slope["note"]
    said = res.sections["predictive"]
    text = said.loc[said["topic"] == "effect model", "statement"].iloc[0]
    assert "calibration-for-benefit slope not estimable: the effect model predicts the same benefit" in text


def test_path_risk_group_table_fits_a_1280_px_screen(tmp_path):
    """The 16-column risk-group table of a binary outcome ran 76 px past its 1200-px box."""
    from test_browser import CHROMIUM, TABLE_FIT, Browser
    if CHROMIUM is None:
        pytest.skip("no chromium")
    plan = yaml.safe_load((REF / "colon_logistic" / "plan.yaml").read_text())
    plan["moderators"] = plan["moderators"][:1]
    plan["outcomes"][0]["followups"] = {"5 years": plan["outcomes"][0]["followups"]["end"]}
    plan["predictive"] = {"risk_predictors": ["age", "nodes", "obstruct", "differ", "extent"], "bootstrap": 0}
    res = em.analyze(REF / "colon_logistic" / "data.csv", plan)
    page = tmp_path / "report.html"
    page.write_text(render_report(res, []), encoding="utf-8")
    browser = Browser()
    try:
        browser.load(page.as_uri(), (1280, 800))
        found = [f for f in browser.evaluate(TABLE_FIT) if f[0] == "section-risk_groups"]
    finally:
        browser.close()
    assert found and all(f[1] <= f[2] for f in found), found


def test_console_names_a_level_against_its_reference(awards):
    out = _console(awards)
    assert "Religious vs Arab" in out and "joint test" in out


def test_sap_of_path_on_a_continuous_outcome_promises_no_relative_effect():
    from effectmod.report.sap import sap_markdown
    plan = yaml.safe_load((REF / "btheb_linear" / "plan.yaml").read_text())
    plan["predictive"] = {"risk_predictors": ["bdi_pre"]}
    text = sap_markdown(em.load_plan(plan))
    risk = text.split("Risk modelling")[1].split("\n")[0]
    assert "absolute treatment effect in each group, and a test" in risk and "relative" not in risk
