"""The output folder as a person sees it: report.html content, journal tables (CSV and Word),
figures, determinism, the notebook and terminal tables."""
from __future__ import annotations

import dataclasses
import io
import math
import re
import xml.etree.ElementTree as ET
from html import escape as html_escape
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from rich.console import Console

from effectmod.cli.console import print_summary
from effectmod.errors import UsageError
from effectmod.report import paragraph, pdf, tables
from effectmod.report.docx import read_docx_tables
from effectmod.report.html import render_report
from effectmod.report.sentences import interval, number, p_text, ratio_interval
from effectmod.report.typography import minus
from report_cases import SCRIPT_LABEL, demo_results, rich_results, written

# PNG files store resolution in pixels per metre, so 300 dpi reads back as 299.9994
DPI_TOL = 0.01
FIGURES = ("consort_flow", "forest_interactions")


@pytest.fixture(scope="module")
def rich_folder():
    return written("rich")


@pytest.fixture(scope="module")
def demo_folder():
    return written("demo")


def _csv(folder) -> pd.DataFrame:
    t = pd.read_csv(folder / "results.csv", keep_default_na=False, dtype={"timepoint": str})
    for c in ("estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "boot_ci_low", "boot_ci_high"):
        if c in t:
            t[c] = pd.to_numeric(t[c].replace("", np.nan))
    return t


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.tags, self.text, self.attrs = set(), [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.append((tag, dict(attrs)))
        if dict(attrs).get("id"):
            self.ids.add(dict(attrs)["id"])

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Collector:
    c = _Collector()
    c.feed(html)
    return c


# ---------------------------------------------------------------------------- content
def test_report_has_every_section(demo_folder):
    page = _parse((demo_folder / "report.html").read_text(encoding="utf-8"))
    for sid in ("plan", "methods", "moderators", "flow", "table1", "interactions", "results", "forest",
                "figure-consort_flow", "figure-forest_interactions", "figure-forest_interactions_mixed"):
        assert sid in page.ids, sid
    text = " ".join(page.text)
    assert "restricted maximum likelihood" in text and "Satterthwaite" in text
    assert "ordinary least squares" in text and "logistic" not in text.split("Pre-specified moderators")[0]
    assert "Linear mixed model" in text        # the sensitivity model's columns in eTable 1


def test_every_interaction_is_printed_as_results_csv_says(rich_folder):
    """Each estimable row's β (CI) and P, formatted from the full-precision CSV, is in the report."""
    html = (rich_folder / "report.html").read_text(encoding="utf-8")
    text = " ".join(_parse(html).text)
    t = _csv(rich_folder)
    checked = 0
    for r in t.itertuples():
        if r.tier == "not-estimable" or r.term == "joint":
            continue
        # every printed table gives a negative number a true minus sign (U+2212)
        assert minus(f"{number(r.estimate)} ({interval(r.ci_low, r.ci_high)})") in text, r
        if r.model == "logistic":
            odds = f"{number(math.exp(r.estimate))} ({interval(math.exp(r.ci_low), math.exp(r.ci_high))})"
            assert odds in text, r
        if r.model == "logistic":   # bootstrap bounds on the scale of the ratio of odds ratios
            assert ratio_interval(r.boot_ci_low, r.boot_ci_high) in text   # '<0.001 to >999' when diverging
        else:
            assert minus(interval(r.boot_ci_low, r.boot_ci_high)) in text
        checked += 1
    assert checked == len(t[(t.tier != "not-estimable") & (t.term != "joint")]) and checked >= 12
    assert "Bootstrap 95% CI" in text and "Adjusted P" in text


def test_numbers_follow_the_jama_rules_everywhere(demo_folder, rich_folder):
    for folder in (demo_folder, rich_folder):
        text = " ".join(_parse((folder / "report.html").read_text(encoding="utf-8")).text)
        assert "-0.00" not in text
        assert not re.search(r"P = 0\.", text)              # no leading zero on P
        assert not re.search(r"CI, -?\d+\.\d+--", text)     # negative bounds use 'to'
        for low, high in re.findall(r"CI, (-?\d+\.\d\d)-(-?\d+\.\d\d)\]", text):
            assert not low.startswith("-") and not high.startswith("-")


def test_results_paragraph_names_evidence_and_hypothesis_generating_moderators(demo_folder):
    res = demo_results()
    paras = " ".join(paragraph.results_paragraph(res))
    t = tables.main_model_rows(res)
    ev = t[t["tier"] == "evidence"]
    assert len(ev) > 0
    for r in ev.itertuples():
        label = next(m.label for m in res.plan.moderators if m.name == r.moderator)
        assert label in paras
        assert (f"β-coefficient = {number(r.estimate)} [95% CI, {interval(r.ci_low, r.ci_high)}]; "
                f"{p_text(r.p_value)}") in paras
    hyp = t[t["tier"] == "hypothesis-generating"]
    assert "hypothesis-generating" in paras and len(hyp) > 0
    assert "In the mixed-model sensitivity analysis" in paras
    # 'all 3 findings' rather than '3 of these 3 findings'
    assert "In the mixed-model sensitivity analysis, all 3 findings with evidence kept P < .05." in paras
    assert "of these 3 findings" not in paras
    # a binary moderator's sentence names the comparison, as Table 2 does
    assert "at 52 weeks (yes vs no: β-coefficient = " in paras
    html = (demo_folder / "report.html").read_text(encoding="utf-8")
    # the table of all interaction tests names each row's model as the methods do, not by its plan key
    assert "<td>Linear mixed model</td>" in html and "<td>mixed</td>" not in html
    first = paragraph.results_paragraph(res)[0]
    assert html_escape(first, quote=False) in html


def test_user_text_is_escaped_and_nothing_executable_is_written(rich_folder):
    html = (rich_folder / "report.html").read_text(encoding="utf-8")
    assert SCRIPT_LABEL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "Rich &lt;b&gt;case&lt;/b&gt; &amp; checks" in html
    assert "<i>markup</i>" not in html and "&lt;i&gt;markup&lt;/i&gt;" in html
    page = _parse(html)
    for tag, attrs in page.attrs:
        for key in ("src", "href"):
            if key in attrs and tag != "a":
                assert attrs[key].startswith("data:"), (tag, attrs[key][:40])
            if tag == "a" and "href" in attrs:
                assert attrs["href"].startswith("#")
        assert not any(k.startswith("on") for k in attrs), attrs
    assert "link" not in page.tags and "iframe" not in page.tags


def test_not_estimable_rows_show_their_note(rich_folder):
    html = (rich_folder / "report.html").read_text(encoding="utf-8")
    note = _csv(rich_folder).query("tier == 'not-estimable'")["note"].iloc[0]
    assert "takes a single value" in note
    assert note.replace("'", "&#39;") in html


def test_flow_shows_exclusions_and_analysed_numbers(rich_folder):
    res = rich_results()
    text = " ".join(_parse((rich_folder / "report.html").read_text(encoding="utf-8")).text)
    assert "152 participants in the data file" in text
    for reason, n in res.trial.flow.excluded:
        assert f"{n} ({reason})" in text
    for f in res.fitted:
        assert str(f.summary["n"]) in text


def test_moderator_table_and_direction_rule(demo_folder):
    import dataclasses
    demo = demo_results()
    # the demo plan states the published RESOLVE hypotheses: none
    assert paragraph.direction_agreement(demo)["back_perception"] == "no direction hypothesised"
    mods = [m.model_copy(update={"hypothesised_direction": "greater_benefit_when_higher"})
            if m.name == "back_perception" else m for m in demo.plan.moderators]
    res = dataclasses.replace(demo, plan=demo.plan.model_copy(update={"moderators": mods}))
    agreement = paragraph.direction_agreement(res)
    t = tables.main_model_rows(res)
    frebaq = t[(t["moderator"] == "back_perception")]
    # greater benefit when higher is hypothesised: agreement means a negative interaction
    expected = int((frebaq["estimate"] < 0).sum())
    assert agreement["back_perception"].split(": ")[1].startswith(f"{expected} of {len(frebaq)}")
    html = (demo_folder / "report.html").read_text(encoding="utf-8")
    assert "Observed direction agreed" in html and "a higher value is worse" in html


def test_direction_of_responder_outcomes():
    from effectmod.inference.credibility import observed_direction
    from effectmod.plan.schema import Plan

    def plan_with(*outcomes):
        return Plan.model_validate({"data": {"id": "i", "treatment": "t", "treated": 1},
                                    "outcomes": [{"name": "pain", "followups": {"18": "pain_18"}},
                                                 {"name": "qol", "followups": {"1": "q"}, "better": "higher"},
                                                 *outcomes],
                                    "moderators": [{"name": "m", "column": "m", "type": "continuous"}]})

    def derived(name, rule, source="pain", **extra):
        return {"name": name, "type": "binary", "derive": {"from": source, "rule": rule}, **extra}
    plan = plan_with(derived("responder", "reduction_from_baseline_pct >= 30"), derived("severe", "value >= 7"),
                     derived("forced", "reduction_from_baseline_pct >= 30", better="lower"),
                     derived("qol_drop", "reduction_from_baseline >= 5", source="qol"),
                     derived("qol_good", "value >= 50", source="qol"))
    # the plan's outcomes[].better overrides the default
    assert plan.better_direction("qol") == "higher"
    assert plan.better_direction("forced") == "lower"
    assert plan.better_direction("responder") == "higher"
    assert plan.better_direction("severe") == "lower" and plan.better_direction("pain") == "lower"
    # a rule reads against its source's direction: a fall in quality of life is bad, a high one good
    assert plan.better_direction("qol_drop") == "lower" and plan.better_direction("qol_good") == "higher"
    assert observed_direction(0.3, plan.better_direction("responder")) == "greater_benefit_when_higher"
    assert observed_direction(0.3, plan.better_direction("severe")) == "less_benefit_when_higher"
    assert observed_direction(-0.3, plan.better_direction("pain")) == "greater_benefit_when_higher"


# ---------------------------------------------------------------------------- tables
def test_table1_rule_median_for_skewed_and_missing_counts():
    res = rich_results()
    frame = res.trial.baseline_frame.copy()
    rng = np.random.default_rng(1)
    frame["frebaq"] = rng.exponential(5.0, len(frame))          # skewness near 2
    frame.loc[frame.index[:4], "tsk"] = np.nan
    res2 = dataclasses.replace(res, trial=dataclasses.replace(res.trial, baseline_frame=frame))
    t1 = tables.table1(res2)
    rows = dict(zip(t1["Characteristic"], t1.index))
    assert f"{SCRIPT_LABEL}, median (IQR)" in rows
    assert "Kinesiophobia (TSK 17-68), mean (SD)" in rows
    missing = t1.loc[rows["Kinesiophobia (TSK 17-68), mean (SD)"] + 1]
    treat = frame["treat"].to_numpy() == 1
    assert missing["Characteristic"].strip() == "missing, n"
    assert int(missing.iloc[1]) + int(missing.iloc[2]) == 4
    assert int(missing.iloc[1]) == int(treat[:4].sum())
    x = frame.loc[treat, "frebaq"]
    q1, q2, q3 = np.percentile(x, [25, 50, 75])
    assert t1.loc[rows[f"{SCRIPT_LABEL}, median (IQR)"]].iloc[1] == f"{number(q2, 1)} ({number(q1, 1)}-{number(q3, 1)})"
    level = t1[t1["Characteristic"].str.strip() == "yes"].iloc[0]
    k = int(((frame["psychoactive_med"] == "yes") & treat).sum())
    assert level.iloc[1] == f"{k} ({number(100 * k / treat.sum(), 1)})"


def test_docx_round_trips_with_the_numbers_of_results_csv(rich_folder):
    t1, t2, *_etables = read_docx_tables(rich_folder / "tables.docx")
    csv_t1 = pd.read_csv(rich_folder / "table1.csv", keep_default_na=False)
    assert [row[1:] for row in t1[1:]] == csv_t1.iloc[:, 1:].astype(str).values.tolist()
    t = _csv(rich_folder)
    labels = {m["name"]: m["label"] for m in tables_plan_moderators()}
    binary = {m["name"]: m["type"] == "binary" for m in tables_plan_moderators()}
    header_outcomes, header_tps = t2[0], t2[1]
    # one model per column (no model row); a logistic column is headed by what it holds
    assert t2[2][1:3] == ["β (95% CI)", "P"] and t2[2][5] == "Ratio of ORs (95% CI)"
    cells = 0
    for row in t2[3:]:
        for j in range(1, len(row), 2):
            # a bare follow-up number is headed 'follow-up 18' (no data.time_unit in this plan)
            out_label, tp = header_outcomes[j], header_tps[j].removeprefix("follow-up ")
            name = next(o["name"] for o in rich_plan_outcomes() if o["label"] == out_label)
            mod = next(k for k, v in labels.items() if row[0] == v or row[0].startswith(v + ": "))
            term = row[0].split(": ", 1)[1] if ": " in row[0] else ""
            term = "joint" if term == "joint test" else term.split(" vs ")[0]
            # a binary moderator's one row says the comparison it makes ('1 vs 0'); its term is ''
            term = "" if binary.get(mod) else term
            r = t[(t.outcome == name) & (t.timepoint == tp) & (t.moderator == mod) & (t.term == term)].iloc[0]
            if r.tier == "not-estimable":
                assert row[j] == "NE"
            elif term == "joint":
                assert row[j] == "joint test" and row[j + 1] == tables.p_short(r.p_value)
            else:
                # the printed table's negative numbers carry a true minus sign (U+2212)
                est = minus(f"{number(r.estimate)} ({interval(r.ci_low, r.ci_high)})")
                if r.model == "logistic":
                    # Table 2 prints the ratio of odds ratios only (its log scale is in interaction_table.csv)
                    assert row[j] == f"{number(math.exp(r.estimate))} ({interval(math.exp(r.ci_low), math.exp(r.ci_high))})"
                else:
                    assert row[j] == est
                assert row[j + 1] == tables.p_short(r.p_value)
            cells += 1
    assert cells == len(t)


def tables_plan_moderators():
    from report_cases import RICH_PLAN
    return RICH_PLAN["moderators"]


def rich_plan_outcomes():
    from report_cases import RICH_PLAN
    return RICH_PLAN["outcomes"]


def test_table2_holds_the_main_analysis_and_the_sensitivity_model_goes_to_an_etable(demo_folder):
    """Table 2 (CSV, HTML, docx) has the main model's columns only; the mixed model is eTable 1,
    and follow-up headers carry the plan's time unit."""
    it = pd.read_csv(demo_folder / "interaction_table.csv", keep_default_na=False)
    assert len(it) == 8
    assert not any("mixed" in c.lower() for c in it.columns)
    assert "Pain intensity (NRS 0-10) | 18 weeks | β (95% CI)" in it.columns
    et = pd.read_csv(demo_folder / "etable1.csv", keep_default_na=False)
    t = _csv(demo_folder)
    r = t[(t.model == "mixed") & (t.moderator == "back_perception") & (t.timepoint == "52") & (t.outcome == "pain")].iloc[0]
    col = "Pain intensity (NRS 0-10) | 52 weeks | β (95% CI)"
    assert et.loc[et["Moderator"] == "Back perception (FreBAQ 0-36)", col].iloc[0] == \
        f"{number(r.estimate)} ({interval(r.ci_low, r.ci_high)})"
    html = (demo_folder / "report.html").read_text(encoding="utf-8")
    table2 = html[html.index('id="interactions"'):html.index('id="etable-1"')]
    text2 = " ".join(_parse(table2).text)
    mixed = f"{number(r.estimate)} ({interval(r.ci_low, r.ci_high)})"
    assert "Linear mixed model" not in table2 and mixed not in text2
    assert mixed in " ".join(_parse(html[html.index('id="etable-1"'):]).text)
    assert ">18 weeks<" in table2 and ">52 weeks<" in table2
    assert "eTable 1. Treatment × moderator interactions: Linear mixed model" in html
    docx = read_docx_tables(demo_folder / "tables.docx")
    assert len(docx) == 3                                    # Table 1, Table 2, eTable 1
    assert docx[1][1][1] == "18 weeks" and len(docx[1][0]) == 1 + 2 * 4
    assert docx[2][1][1] == "18 weeks"


def test_bootstrap_cis_go_to_an_etable(rich_folder):
    t = _csv(rich_folder)
    it = pd.read_csv(rich_folder / "interaction_table.csv", keep_default_na=False)
    et = pd.read_csv(rich_folder / "etable1.csv", keep_default_na=False)
    assert any("bootstrap" in c for c in et.columns) and not any("bootstrap" in c for c in it.columns)
    r = t[(t.model == "linear") & (t.tier != "not-estimable") & (t.term == "")].iloc[0]
    assert f"{number(r.estimate)} ({interval(r.boot_ci_low, r.boot_ci_high)})" in et.values
    assert "eTable 1. Treatment × moderator interactions with bootstrap CIs" in \
        (rich_folder / "report.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- figures, determinism
def test_figures_are_svg_and_300_dpi_png(rich_folder):
    for name in (*FIGURES, "subgroup_forest_severe_52"):
        svg = rich_folder / "figures" / f"{name}.svg"
        png = rich_folder / "figures" / f"{name}.png"
        root = ET.fromstring(svg.read_bytes())
        assert root.tag.endswith("svg") and len(root) > 0
        assert b"<dc:date>" not in svg.read_bytes()
        with Image.open(png) as im:
            assert abs(im.info["dpi"][0] - 300) < DPI_TOL and im.size[0] > 1000
            assert len(im.convert("L").resize((64, 64)).getcolors(4096)) > 3   # not a blank canvas
    html = (rich_folder / "report.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/svg+xml;base64,') >= len(FIGURES)
    # the subgroup forest plots follow the interaction forest plot
    assert html.index('id="figure-forest_interactions"') < html.index('id="figure-subgroup_forest_pain_18"')


def test_two_writes_are_byte_identical(tmp_path):
    # without the extra sections, whose figures would triple the time of each write
    res = dataclasses.replace(rich_results(), sections={})
    a, b = res.write(tmp_path / "a"), res.write(tmp_path / "b")
    for rel in ("report.html", "results.json", "results.csv", "table1.csv", "interaction_table.csv",
                *(f"figures/{n}.svg" for n in FIGURES), *(f"figures/{n}.png" for n in FIGURES)):
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_unknown_sections_render_generically():
    res = rich_results()
    extra = {"my_new_check": pd.DataFrame({"moderator": ["back_perception"], "estimate": [0.123456],
                                           "p_value": [0.0004], "ci_low": [-0.5], "ci_high": [0.25]}),
             "settings_record": {"key": "<value>"}}
    html = render_report(dataclasses.replace(res, sections={**res.sections, **extra}), figures=[])
    page = _parse(html)
    assert "section-my_new_check" in page.ids and "section-settings_record" in page.ids
    text = " ".join(page.text)
    assert "My new check" in text and "0.12" in text and "<.001" in text and "\u22120.50 to 0.25" in text
    assert "&lt;value&gt;" in html


# ---------------------------------------------------------------------------- notebook, terminal, pdf
def test_notebook_table_is_html_with_escaped_labels():
    html = rich_results()._repr_html_()
    assert html.startswith("<div>") and "<table" in html and "evidence" in html
    assert SCRIPT_LABEL not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("width", [80, 120])
def test_terminal_summary_fits_its_width(width):
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None)
    print_summary(console, demo_results())
    lines = buf.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    assert any(line.startswith("Back perception") for line in lines)
    kinesio = [line for line in lines if line.startswith("Kinesiophobia")]
    assert any("**" in line for line in kinesio)            # evidence marked without colour
    side_by_side = any("18: β" in line and "52: β" in line for line in lines)
    assert side_by_side == (width >= 120)


def test_pdf_without_chromium_is_a_usage_error(monkeypatch, tmp_path):
    monkeypatch.setattr(pdf, "find_chromium", lambda: None)
    (tmp_path / "report.html").write_text("<p>x</p>")
    with pytest.raises(UsageError, match="install Debian's chromium package"):
        pdf.html_to_pdf(tmp_path / "report.html", tmp_path / "report.pdf")


def test_forest_per_sd_scales_continuous_moderators_only():
    from effectmod.report.figures import forest_rows
    res = rich_results()
    a = res.plan.analysis.model_copy(update={"forest_scale": "per_sd"})
    scaled, per_sd = forest_rows(dataclasses.replace(res, plan=res.plan.model_copy(update={"analysis": a})))
    a_raw = res.plan.analysis.model_copy(update={"forest_scale": "raw"})
    raw, _ = forest_rows(dataclasses.replace(res, plan=res.plan.model_copy(update={"analysis": a_raw})))
    assert per_sd
    k = scaled["moderator"] == "kinesiophobia"
    # the SD of each model's analysed participants, as in results.csv's moderator_sd
    assert np.allclose(scaled.loc[k, "estimate"], raw.loc[k, "estimate"] * raw.loc[k, "moderator_sd"])
    b = scaled["moderator"] == "psychoactive"
    assert np.allclose(scaled.loc[b, "ci_high"], raw.loc[b, "ci_high"])
