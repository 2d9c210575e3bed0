"""Ratio-scale models read as ratios in the report: logistic, Cox, Poisson, negative binomial and
proportional-odds models show their conditional and average effects exponentiated (odds, hazard,
rate ratios with exponentiated CIs), the Johnson-Neyman descriptions on the ratio scale, and the
Cox proportional-hazards test once per model under the tables instead of inside every cell; the
CSV files keep the log scale and their columns (report.ratio_display)."""
from __future__ import annotations

import html as htmllib
import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

import effectmod as em
from effectmod.inference.average import COLUMNS as AVERAGE_COLUMNS
from effectmod.inference.effects import JN_COLUMNS
from effectmod.plan import validate_plan
from effectmod.records import NON_PROPORTIONAL, PROPORTIONAL_HAZARDS
from effectmod.report.docx import read_docx_tables
from effectmod.report.html import render_report
from effectmod.report.ratio_display import PH_FLAG, PH_MARK, effect_ci, ph_footnotes, ratio_description
from effectmod.report.sentences import interval, number, ratio, ratio_interval
from effectmod.report.typography import minus

REF = Path(__file__).resolve().parent / "reference"
# family -> (data case, plan case, analysis keys changed, the ratio's abbreviation and log scale)
CASES = {
    "logistic": ("colon_logistic", "colon_logistic", {}, "OR", "log odds ratio"),
    "cox": ("colon_logistic", "colon_cox", {}, "HR", "log hazard ratio"),
    "poisson": ("epil_count", "epil_count", {}, "RR", "log rate ratio"),
    "negative_binomial": ("epil_count", "epil_count", {"count_model": "negative_binomial"}, "RR", "log rate ratio"),
    "ordinal": ("btheb_ordinal", "btheb_ordinal", {}, "OR", "log odds ratio"),
}
CE_COLUMNS = ["outcome", "timepoint", "moderator", "moderator_value", "effect", "std_error", "ci_low", "ci_high",
              "p_value", "model", "term", "df", "n", "percentile", "scale"]


def _analyse(family: str):
    data, plan_case, keys, _, _ = CASES[family]
    plan = yaml.safe_load((REF / plan_case / "plan.yaml").read_text(encoding="utf-8"))
    plan.setdefault("analysis", {}).update(keys)
    return em.analyze(pd.read_csv(REF / data / "data.csv"), validate_plan(plan, origin="plan.yaml"))


@pytest.fixture(scope="module")
def reports():
    """Each family's results and its report page (no figures: they are not what is tested here)."""
    out = {}
    for family in CASES:
        res = _analyse(family)
        out[family] = (res, render_report(res, []))
    return out


@pytest.fixture(scope="module")
def written(reports, tmp_path_factory):
    """The Cox and logistic output folders, written by the real writer (figures left out)."""
    import effectmod.report.figures
    folders = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(effectmod.report.figures, "report_figures", lambda results: [])
        for family in ("cox", "logistic"):
            res = reports[family][0]
            folders[family] = (res, res.write(tmp_path_factory.mktemp(family) / "out"))
    return folders


def _section(page: str, name: str) -> str:
    """The text of one section of the page (tags dropped, entities read)."""
    m = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert m, name
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", m.group(1)))


def _cells(page: str, name: str) -> list[list[str]]:
    m = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert m, name
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S)
    return [[htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)]
            for r in rows]


@pytest.mark.parametrize("family", list(CASES))
def test_conditional_effects_are_exponentiated(reports, family):
    res, page = reports[family]
    _, _, _, _, log_scale = CASES[family]
    ce = res.sections["conditional_effects"]
    ratio_rows = ce[ce["scale"] == log_scale]
    assert len(ratio_rows)
    cells = _cells(page, "section-conditional_effects")
    head, body = cells[0], cells[1:]
    # a head that names the ratio when every row is one, else 'Treatment effect' beside a Scale column
    ratio_name = log_scale.removeprefix("log ")
    col = next(i for i, c in enumerate(head) if c.endswith("(95% CI)"))
    if set(ce["scale"]) == {log_scale}:
        assert head[col] == f"{ratio_name[:1].upper()}{ratio_name[1:]} (95% CI)" and "Scale" not in head
    else:
        assert head[col] == "Treatment effect (95% CI)" and ratio_name in [r[head.index("Scale")] for r in body]
    shown = [r[col] for r in body]
    for r in ratio_rows.itertuples():
        expected = f"{number(math.exp(r.effect))} ({interval(math.exp(r.ci_low), math.exp(r.ci_high))})"
        assert expected in shown, (r.moderator, r.moderator_value)
        if r.effect < 0:     # the log-scale effect is gone from the table
            assert minus(f"{number(r.effect)} ({interval(r.ci_low, r.ci_high)})") not in shown
    text = _section(page, "section-conditional_effects")
    assert log_scale not in text.replace("keeps the log scale", "")


@pytest.mark.parametrize("family", list(CASES))
def test_average_effects_read_as_ratio_with_its_ci(reports, family):
    res, page = reports[family]
    _, _, _, abbr, log_scale = CASES[family]
    ate = res.sections["average_effects"]
    text = _section(page, "section-average_effects")
    for r in ate.itertuples():
        assert r.scale == log_scale
        assert f"{abbr} {number(math.exp(r.estimate))} ({interval(math.exp(r.ci_low), math.exp(r.ci_high))})" in text
        # the log-scale estimate and its standard error stay in average_effects.csv
        assert minus(number(r.estimate)) not in text.split()
    assert f"{abbr}, {log_scale.removeprefix('log ')}" in text and "std error" not in text


@pytest.mark.parametrize("family", list(CASES))
def test_johnson_neyman_descriptions_on_the_ratio_scale(reports, family):
    res, page = reports[family]
    _, _, _, abbr, log_scale = CASES[family]
    jn = res.sections["johnson_neyman"]
    jn = jn[jn["scale"] == log_scale]
    assert len(jn)
    head, *rows = _cells(page, "section-johnson_neyman")
    shown = [r[head.index("Description")] for r in rows if r[head.index("Scale")] == log_scale.removeprefix("log ")]
    assert len(shown) == len(jn)
    for d in jn["sign_description"]:
        assert "0" in re.findall(r"CI (?:ex|in)cludes (\d)", d)      # the CSV keeps the log scale's words
        said = (d.replace("effect < 0", f"{abbr} < 1").replace("effect > 0", f"{abbr} > 1")
                .replace("CI excludes 0", "CI excludes 1").replace("CI includes 0", "CI includes 1"))
        # (a moderator's name keeps its underscores: 'bdi_pre', as in the Moderator column)
        assert said in shown
    assert not any(re.search(r"effect [<>] 0|CI (ex|in)cludes 0", d) for d in shown)


def test_absolute_scales_are_shown_as_they_are(reports):
    """RMST and risk differences (absolute scales) keep their numbers and words."""
    res, page = reports["cox"]
    ce = res.sections["conditional_effects"]
    shown = [r[4] for r in _cells(page, "section-conditional_effects")[1:]]
    for r in ce[ce["model"] == "rmst"].itertuples():
        assert minus(f"{number(r.effect)} ({interval(r.ci_low, r.ci_high)})") in shown
    jn = res.sections["johnson_neyman"]
    rmst = jn.loc[jn["model"] == "rmst", "sign_description"].iloc[0]
    assert rmst in " ".join(_section(page, "section-johnson_neyman").split())
    assert ratio_description(rmst, "RMST difference") == rmst
    logistic, page = reports["logistic"]
    ce = logistic.sections["conditional_effects"]
    shown = [r[4] for r in _cells(page, "section-conditional_effects")[1:]]
    for r in ce[ce["scale"] == "risk difference"].itertuples():
        assert minus(f"{number(r.effect)} ({interval(r.ci_low, r.ci_high)})") in shown


def test_the_proportional_hazards_test_is_said_once_per_model(reports):
    res, page = reports["cox"]
    cox = res.table[res.table["model"] == "cox"]
    # results.csv keeps the test in every row's note
    assert all(n.startswith("proportional-hazards test") for n in cox["note"])
    bodies = {n.split(";")[0].removeprefix("proportional-hazards test: ") for n in cox["note"]}
    assert len(bodies) == cox["moderator"].nunique() == 3
    for section in ("interactions", "results"):
        text = _section(page, section)
        assert "proportional-hazards test" not in text
        for body in bodies:
            assert text.count(body) == 1, (section, body)
    # the failing model (tumour differentiation: interaction (3)) keeps a flag on its cells
    failed = cox[[any(n.code == NON_PROPORTIONAL for n in res.row_notes[k]) for k in zip(
        cox["outcome"], cox["timepoint"], cox["moderator"], cox["term"], cox["model"], [""] * len(cox))]]
    assert set(failed["moderator"]) == {"differ"} and set(failed["term"]) == {"2", "3", "joint"}
    table2 = _cells(page, "interactions")
    flagged = [r[0] for r in table2 if any(PH_FLAG in c for c in r)]
    assert flagged == ["Tumour differentiation (1 well, 2 moderate, 3 poor)2 vs 1",
                       "Tumour differentiation (1 well, 2 moderate, 3 poor)3 vs 1"]
    note = next(line for line in ph_footnotes(res))
    assert f"poor){PH_MARK}: treatment P = .25" in note and f"{PH_MARK} Tumour differentiation" in note
    assert "hazards not proportional (interaction (3)); see the rmst rows" in note
    # the other models' rows carry no flag
    assert not any(PH_FLAG in c for r in table2 if r and r[0].startswith(("Sex", "Age")) for c in r)


def test_table2_prints_the_ratio_and_the_etables_keep_the_log_scale(reports):
    """A journal's Table 2: the ratio, its CI and P; the log scale stays in the all-interactions table."""
    res, page = reports["logistic"]
    t2 = " ".join(c for row in _cells(page, "interactions") for c in row)
    results_text = " ".join(c for row in _cells(page, "results") for c in row)
    for r in res.table[res.table["term"] != "joint"].itertuples():
        log = f"{number(r.estimate)} ({interval(r.ci_low, r.ci_high)})"
        assert f"{ratio(r.estimate)} ({ratio_interval(r.ci_low, r.ci_high)})" in t2
        assert "log scale " + minus(log) not in t2
        assert "log scale " + minus(log) in results_text


def test_docx_table2_and_csv_files(written):
    """tables.docx: Table 2 shows ratios, the proportional-hazards test once per model under it;
    the CSV files keep the log scale and their columns."""
    from docx import Document
    res, folder = written["cox"]
    t2 = read_docx_tables(folder / "tables.docx")[1]
    body = [row for row in t2[3:]]
    cox = res.table[(res.table["model"] == "cox") & (res.table["term"] != "joint")]
    cells = [row[1] for row in body]
    for r in cox.itertuples():
        expected = effect_ci(r.estimate, r.ci_low, r.ci_high, "log hazard ratio")
        assert any(c.split("\n")[0] == expected for c in cells)
    assert not any("log scale" in c or "proportional-hazards test" in c for row in t2 for c in row)
    assert sum(PH_FLAG in c for c in cells) == 2
    paragraphs = [p.text for p in Document(str(folder / "tables.docx")).paragraphs]
    ph = [p for p in paragraphs if p.startswith("Proportional-hazards tests")]
    assert ph == ph_footnotes(res) and len(ph) == 1
    # the CSV files: log scale, the same columns and numbers as the analysis frames
    ce = pd.read_csv(folder / "conditional_effects.csv")
    assert list(ce.columns) == CE_COLUMNS
    assert set(ce["scale"]) == {"log hazard ratio", "RMST difference"}
    assert ce["effect"].tolist() == pytest.approx(res.sections["conditional_effects"]["effect"].tolist(), rel=1e-14)
    ate = pd.read_csv(folder / "average_effects.csv")
    assert list(ate.columns) == list(AVERAGE_COLUMNS) and ate["scale"].tolist() == ["log hazard ratio"]
    assert ate["estimate"].iloc[0] == pytest.approx(res.sections["average_effects"]["estimate"].iloc[0], rel=1e-14)
    jn = pd.read_csv(folder / "johnson_neyman.csv")
    assert list(jn.columns) == list(JN_COLUMNS) and jn["sign_description"].str.contains("effect [<>] 0").all()
    csv = pd.read_csv(folder / "results.csv")
    assert csv.loc[csv["model"] == "cox", "note"].str.startswith("proportional-hazards test").all()
    assert csv.loc[csv["model"] == "cox", "estimate"].tolist() == pytest.approx(
        res.table.loc[res.table["model"] == "cox", "estimate"].tolist(), rel=1e-14, nan_ok=True)
    it = pd.read_csv(folder / "interaction_table.csv", keep_default_na=False)
    assert "Death | over follow-up | log scale (CI)" in it.columns
    # the logistic folder's Table 2: the ratio only, the footnote says where the log scale is
    res, folder = written["logistic"]
    t2 = read_docx_tables(folder / "tables.docx")[1]
    assert not any("log scale" in c for row in t2 for c in row)
    assert any("interactions on the log scale are in results.csv" in p.text
               for p in Document(str(folder / "tables.docx")).paragraphs)
    assert "log scale (CI)" in " ".join(pd.read_csv(folder / "interaction_table.csv").columns)


def test_ph_codes_are_what_the_report_reads(reports):
    """The report takes the test from the notes' codes, not from the text."""
    res, _ = reports["cox"]
    codes = {n.code for notes in res.row_notes.values() for n in notes}
    assert {PROPORTIONAL_HAZARDS, NON_PROPORTIONAL} <= codes


def test_section_frames_with_log_ratio_rows_are_shown_as_ratios():
    """Complete-case and imputation-sensitivity interaction rows, and shrunken subgroup effects:
    the log-ratio rows' estimates and CIs exponentiated, named by a scale column; the frame the
    CSV files are written from is untouched; other sections are returned as they are."""
    from effectmod.report.ratio_display import ratio_frame
    cc = pd.DataFrame({"outcome": ["y", "e"], "timepoint": ["1", "1"], "moderator": ["m", "m"], "term": ["", ""],
                       "model": ["linear", "logistic"], "estimate": [-0.5, -0.5], "std_error": [0.2, 0.2],
                       "ci_low": [-0.9, -0.9], "ci_high": [-0.1, -0.1], "p_value": [0.01, 0.01], "n": [50, 50]})
    before = cc.copy()
    shown, note = ratio_frame("complete_case", cc)
    pd.testing.assert_frame_equal(cc, before)
    assert list(shown["scale"]) == ["β-coefficient", "ratio of odds ratios"]
    assert list(shown.columns).index("scale") == list(shown.columns).index("model") + 1
    assert shown["estimate"].tolist() == pytest.approx([-0.5, math.exp(-0.5)])
    assert shown["ci_low"].tolist() == pytest.approx([-0.9, math.exp(-0.9)])
    assert shown["std_error"].tolist() == [0.2, 0.2]          # the log scale's, as the note says
    assert "std error stay on the log scale" in note and "complete_case.csv keeps the log scale" in note
    sub = pd.DataFrame({"moderator": ["m"], "level": ["1"], "estimate": [-0.15], "ci_low": [-0.47], "ci_high": [0.17],
                        "shrunken_estimate": [-0.2], "shrunken_ci_low": [-0.5], "shrunken_ci_high": [0.1],
                        "std_error": [0.16], "tau2": [0.1], "common_effect": [-0.4], "scale": ["log hazard ratio"], "model": ["cox"]})
    shown, _ = ratio_frame("shrunken_subgroups", sub)
    assert shown.loc[0, "scale"] == "hazard ratio"
    for c in ("estimate", "ci_low", "ci_high", "shrunken_estimate", "shrunken_ci_low", "shrunken_ci_high", "common_effect"):
        assert shown.loc[0, c] == pytest.approx(math.exp(sub.loc[0, c]))
    assert shown.loc[0, "tau2"] == 0.1
    assert ratio_frame("complete_case", cc.iloc[:1])[0] is not None and ratio_frame("complete_case", cc.iloc[:1])[1] == ""
    assert ratio_frame("additive_scale", cc)[0] is cc
