"""Writers never crash on what a real trial or a real plan can hold: diverging (separated)
logistic fits, huge and non-finite numbers, CI levels near 1, and user text with matplotlib
specials ('$', '\\', '_', '%', '{}'), control characters or lone surrogates."""
from __future__ import annotations

import io
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import effectmod as em
from effectmod.cli.console import print_summary
from effectmod.plan import validate_plan
from effectmod.report.docx import read_docx_tables
from effectmod.report.sentences import interval, level_text, number, p_text, ratio, ratio_interval
from effectmod.report.tables import estimate_ci, odds_ratio_ci

INF, NAN = math.inf, math.nan


# ---------------------------------------------------------------------------- the formatter
@pytest.mark.parametrize("x,text", [
    (INF, "∞"), (-INF, "-∞"), (NAN, "NA"), (None, "NA"),
    (1e300, "1.00e+300"), (-1e300, "-1.00e+300"), (1e30, "1.00e+30"), (1e27, "1.00e+27"),
    (123456.789, "123456.79"), (-0.004, "0.00"),
])
def test_number_never_raises(x, text):
    assert number(x) == text


@pytest.mark.parametrize("log_value,text", [
    (INF, ">999"), (1e300, ">999"), (1e5, ">999"), (710.0, ">999"), (math.log(1000), ">999"),
    (-INF, "<0.001"), (-1e300, "<0.001"), (-1e5, "<0.001"),
    (NAN, "NA"), (0.0, "1.00"), (math.log(2.5), "2.50"), (math.log(998), "998.00"),
])
def test_ratio_caps_diverging_values(log_value, text):
    assert ratio(log_value) == text


def test_ratio_intervals_and_odds_ratio_cells():
    assert ratio_interval(-1e5, 1e5) == "<0.001 to >999"
    assert ratio_interval(math.log(0.8), math.log(2.1)) == "0.80-2.10"
    assert ratio_interval(math.log(0.8), 1e300) == "0.80 to >999"
    assert odds_ratio_ci(21.8, -29764.8, 29808.5) == ">999 (<0.001 to >999)"
    assert odds_ratio_ci(NAN, NAN, NAN) == ""
    assert estimate_ci(1e300, -1e300, INF) == "1.00e+300 (-1.00e+300 to ∞)"


@pytest.mark.parametrize("args", [
    (1e30, 0.05, 0.32, 0.007), (INF, -INF, INF, 0.5), (NAN, NAN, NAN, NAN), (1e300, -1e300, 1e300, INF),
    (-1e300, -1e300, 0.1, -INF), (0.18, NAN, 1e40, 0.2),
])
def test_jama_accepts_any_float(args):
    text = em.jama(*args)
    assert text.startswith("β-coefficient = ") and "[95% CI, " in text and "; P " in text


def test_jama_huge_and_non_finite_examples():
    assert em.jama(1e30, 0.05, 0.32, 0.007) == "β-coefficient = 1.00e+30 [95% CI, 0.05-0.32]; P = .007"
    assert em.jama(INF, -INF, INF, NAN) == "β-coefficient = ∞ [95% CI, -∞ to ∞]; P = NA"
    assert p_text(INF) == "P > .99" and p_text(NAN) == "P = NA"
    # the contract examples are unchanged
    assert em.jama(0.18, 0.05, 0.32, 0.007) == "β-coefficient = 0.18 [95% CI, 0.05-0.32]; P = .007"
    assert interval(-0.006, 0.3) == "-0.01 to 0.30"


@pytest.mark.parametrize("level,text", [
    (0.95, "95%"), (0.9, "90%"), (0.999, "99.9%"), (0.9999999, "99.99999%"), (0.999999999, "99.9999999%"),
    (0.9999999999999999, "99.99999999999999%"), (NAN, "NA%"),
])
def test_ci_levels_near_one_do_not_print_as_100(level, text):
    assert level_text(level) == text
    assert em.jama(0.1, 0.0, 0.2, 0.5, ci_level=level).count(f"[{text} CI, ") == 1


# ---------------------------------------------------------------------------- user text helpers
def test_literal_turns_mathtext_off_and_keeps_leading_underscores():
    from matplotlib.text import Text

    from effectmod.report.figures import literal
    for raw in ["Spending ($)", "Income $ per month", "$x$ and $y", r"C:\temp \alpha", "_hidden", "50% {a}^b", "a\x00b"]:
        shown, is_math = Text()._preprocess_math(literal(raw))
        assert not is_math
        assert shown.lstrip("\u200b") == raw.replace("\x00", "\ufffd")


def test_printable_replaces_what_xml_and_utf8_refuse():
    from effectmod.report.text import printable, utf8
    assert printable("a\x00b\x07c\td\ne\rf\udc80g\ufffe😀") == "a\ufffdb\ufffdc\td\ne\rf\ufffdg\ufffd😀"
    assert utf8("a\x01\udc80") == "a\x01\ufffd"
    assert printable("plain text") == "plain text"


# ---------------------------------------------------------------------------- end to end: separation under ml
def separated_trial(n: int = 80, seed: int = 5):
    """A binary outcome where every treated man has the event (quasi-complete separation in
    that subgroup), analysed with the default binary_method: ml."""
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, "drug", "placebo")
    sex = rng.choice(["female", "male"], n)
    age = rng.normal(50, 10, n).round()
    y = rng.binomial(1, 0.35, n)
    y[(arm == "drug") & (sex == "male")] = 1
    data = pd.DataFrame({"pid": np.arange(n), "arm": arm, "sex": sex, "age": age, "cured_12": y})
    plan = {
        "title": "Separated subgroup",
        "data": {"id": "pid", "treatment": "arm", "treated": "drug", "control": "placebo"},
        "outcomes": [{"name": "cured", "label": "Cured", "type": "binary", "followups": {"12": "cured_12"}}],
        "moderators": [
            {"name": "sex", "column": "sex", "type": "binary", "reference": "female", "label": "Sex"},
            {"name": "age", "column": "age", "type": "continuous", "label": "Age (years)"},
        ],
        "analysis": {"binary_method": "ml"},
    }
    return data, validate_plan(plan, origin="separated plan")


@pytest.fixture(scope="module")
def separated(tmp_path_factory):
    data, plan = separated_trial()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = em.analyze(data, plan)
    return res, res.write(tmp_path_factory.mktemp("sep") / "out")


def test_separated_row_is_kept_with_its_note(separated):
    res, _ = separated
    row = res.table[res.table["moderator"] == "sex"].iloc[0]
    assert row["tier"] != "not-estimable" and abs(row["estimate"]) > 10
    assert "separation" in row["note"]


def test_no_risk_differences_are_derived_from_a_separated_fit(separated):
    """Risk differences and the rd_* columns of a diverging fit would be artefacts (a risk
    difference of 1 with P = 0): they are left out; its log-odds effects stay, with their
    diverging intervals, and the row's note says why."""
    res, _ = separated
    ce = res.sections["conditional_effects"]
    sex = ce[ce["moderator"] == "sex"]
    assert set(sex["scale"]) == {"log odds ratio"}
    assert "risk difference" in set(ce[ce["moderator"] != "sex"]["scale"])
    assert "sex" not in set(res.sections["additive_scale"]["moderator"])
    row = res.table[res.table["moderator"] == "sex"].iloc[0]
    assert math.isnan(row["rd_estimate"])


def test_separated_fit_is_written_everywhere(separated):
    res, folder = separated
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "&gt;999" in html and "separation: estimate unreliable" in html
    # the results paragraph counts the separated row instead of calling its moderator inert
    assert "1 interaction came from logistic fits with separation" in html
    assert "did not modify" not in html and "evidence that sex modified" not in html
    docx = read_docx_tables(folder / "tables.docx")
    cells = [c for table in docx for row in table for c in row]
    assert any(">999" in c and "separation" in c for c in cells)
    assert "&gt;999" not in (folder / "interaction_table.csv").read_text(encoding="utf-8")
    assert ">999" in (folder / "interaction_table.csv").read_text(encoding="utf-8")
    assert {p.name for p in (folder / "figures").glob("*.svg")} >= {"forest_interactions.svg", "subgroups_sex.svg"}
    out = io.StringIO()
    print_summary(Console(file=out, width=100, color_system=None), res)
    text = out.getvalue()
    assert ">999" in text and "†" in text and "separation:" in text


def test_forest_axis_ignores_the_diverging_interval(separated):
    from effectmod.report.figures import forest_plot
    res, _ = separated
    fig = forest_plot(res)
    lo, hi = fig.axes[0].get_xlim()
    assert -20 < lo < 0 < hi < 20      # the separated row's CI is tens of thousands wide
    from effectmod.report.effect_figures import subgroup_figure
    _, _, sub = subgroup_figure(res, "sex", {"logistic"})
    lo, hi = sub.axes[0].get_xlim()
    assert -20 < lo < hi < 20          # so is the treated men's log odds ratio


def test_axis_window_rule():
    from effectmod.report.figures import axis_window, diverging_rows
    assert axis_window([-1, -2], [1, 2], [0, 0]) is None
    flagged = diverging_rows(["", "", "separation: estimate unreliable; consider binary_method: firth"])
    assert flagged.tolist() == [False, False, True]
    lo, hi = axis_window([-1, -2, -3e4], [1, 2, 3e4], [0, 0, 20], flagged)
    assert -3 < lo < -2 and 2 < hi < 3
    lo, hi = axis_window([-1, NAN], [1, NAN], [0, 0.5])
    assert -2 < lo < -1 and 1 < hi < 2
    assert axis_window([-INF], [INF], [INF]) == (-1.16, 1.16)


# ---------------------------------------------------------------------------- huge numbers and odd text
def _small_trial(n: int = 60):
    from effectmod.simulation import simulate
    trial = simulate("resolve", n=n, seed=3)
    plan = dict(trial.plan)
    plan["outcomes"] = [dict(trial.plan["outcomes"][0])]
    plan["moderators"] = [dict(m) for m in trial.plan["moderators"][:2]]
    return trial.data.copy(), plan


def _write_all(data, plan, folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = em.analyze(data, validate_plan(plan, origin="test plan"))
    res.write(folder)
    out = io.StringIO()
    print_summary(Console(file=out, width=100, color_system=None), res)
    return res, out.getvalue()


def test_outcome_values_above_1e27_are_written(tmp_path):
    data, plan = _small_trial()
    for c in [c for c in data.columns if c.startswith("pain_")]:
        data[c] = data[c] * 1e30
    plan["outcomes"][0].pop("range", None)
    res, console = _write_all(data, plan, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert re.search(r"\d\.\d\de\+\d\d", html)       # scientific notation in Table 1 / the tables
    assert re.search(r"\d\.\d\de\+\d\d", console)


def test_control_characters_and_lone_surrogates_reach_every_writer(tmp_path):
    data, plan = _small_trial()
    plan["title"] = "Trial\x01 title \udc80 here"
    plan["outcomes"][0]["label"] = "Pain\x1b[31m \ud800 score"
    plan["moderators"][0]["label"] = "Medication\x00 use\x0b (yes/no)"
    # level and arm names from the data too
    column = plan["moderators"][0]["column"]
    data[column] = data[column].map({"no": "no\x07 bell", "yes": "yes\x00 nul"})
    plan["moderators"][0]["reference"] = "no\x07 bell"
    data["group"] = data["group"].map({"sensorimotor": "sens\x01", "sham": "sh\x1fam"})
    plan["data"] = dict(plan["data"], treated="sens\x01", control="sh\x1fam")
    res, console = _write_all(data, plan, tmp_path / "out")
    folder = tmp_path / "out"
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Trial\ufffd title \ufffd here" in html and "\x01" not in html and "\x1b" not in html
    cells = [c for table in read_docx_tables(folder / "tables.docx") for row in table for c in row]
    assert any("Medication\ufffd use\ufffd (yes/no)" in c for c in cells)
    assert any("yes\ufffd nul" in c for c in cells) and any("sh\ufffdam" in c for c in cells)
    assert "\ufffd" in (folder / "results.json").read_text(encoding="utf-8")
    # the console shows a control character or lone surrogate in the title as its visible escape
    assert "Trial\\x01 title \\udc80 here" in console and "\x1b" not in console


# ---------------------------------------------------------------------------- matplotlib specials in figures
SPECIAL = {
    "treated": "Drug $5 {x}",
    "control": r"_care\usual 100%",
    "outcome": r"Spending ($) \n 50% {a}",
    "continuous": "Income $ per month_x",
    "binary": r"_Flag \alpha $x$ $\unknown{$",
    "levels": ("_no $", r"yes\{1}%"),
}


def _special_trial():
    data, plan = _small_trial(n=60)
    arms = {"sensorimotor": SPECIAL["treated"], "sham": SPECIAL["control"]}
    data["group"] = data["group"].map(arms)
    m0 = plan["moderators"][0]           # the binary moderator (psychoactive medication: no / yes)
    data[m0["column"]] = data[m0["column"]].map({"no": SPECIAL["levels"][0], "yes": SPECIAL["levels"][1]})
    plan["data"] = dict(plan["data"], treated=SPECIAL["treated"], control=SPECIAL["control"])
    plan["outcomes"][0]["label"] = SPECIAL["outcome"]
    plan["moderators"][0] = dict(m0, label=SPECIAL["binary"], reference=SPECIAL["levels"][0])
    plan["moderators"][1] = dict(plan["moderators"][1], label=SPECIAL["continuous"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return em.analyze(data, validate_plan(plan, origin="special plan"))


def _svg_texts(svg: bytes) -> str:
    # with svg.fonttype 'path' each text is drawn as glyph paths under a comment holding the text drawn
    return "\n".join(re.findall(r"<!-- (.*?) -->", svg.decode("utf-8"), flags=re.S))


def test_user_text_with_matplotlib_specials_is_drawn_literally():
    from matplotlib.text import Text

    from effectmod.report.figures import close, report_figures, svg_bytes
    res = _special_trial()
    figs = report_figures(res)
    try:
        texts = {name: _svg_texts(svg_bytes(fig)) for name, _, fig in figs}
        # no text of any figure is parsed as mathtext
        for name, _, fig in figs:
            for t in fig.findobj(Text):
                assert not t._preprocess_math(t.get_text())[1], (name, t.get_text())
    finally:
        close(figs)
    everything = "\n".join(texts.values())
    assert {"consort_flow", "forest_interactions", "subgroups_psychoactive_medication"} <= set(texts)
    for text in [SPECIAL["treated"], SPECIAL["control"], SPECIAL["binary"], *SPECIAL["levels"]]:
        assert text in everything, text
    assert "Spending ($)" in everything and "Income $ per month_x" in everything
    # escaped for mathtext, never shown with the escape
    assert "\\$" not in everything


def test_power_figure_draws_moderator_names_literally():
    from effectmod.cli.power import power_figure
    rows = [{"outcome": "cost ($)", "timepoint": "12", "moderator": m, "n": n, "power": 0.5, "mcse": 0.01,
             "scale": 1.0, "true_interaction": 0.3, "generating_interaction": 0.3, "analysis_estimand": 0.3, "ate_power": 0.9}
            for m in ("_hidden$", r"a\b {c} 5%") for n in (100, 200)]
    svg, _ = power_figure(pd.DataFrame(rows))
    texts = _svg_texts(svg)
    assert "_hidden$ ×1" in texts and r"a\b {c} 5% ×1" in texts and "cost ($), follow-up 12" in texts


# ---------------------------------------------------------------------------- init drafts firth_if_separated
def test_init_drafts_firth_where_separation_is_found(tmp_path):
    """benchmarks/separation.py: in sparse trials ml keeps 6-77% of interaction rows with absurd
    numbers (separation); firth_if_separated reports every row with finite, usable numbers and
    leaves unseparated fits unchanged (docs/methods.md)."""
    import yaml

    from effectmod.plan.draft import draft_plan
    data, _ = separated_trial()
    path = tmp_path / "trial.csv"
    data.to_csv(path, index=False)
    plan = yaml.safe_load(draft_plan(path))
    assert plan["analysis"]["binary_method"] == "firth_if_separated"


def test_ci_level_near_one_writes_the_whole_folder(tmp_path):
    """The widest CI a plan accepts (0.9999; nearer 1 is refused when the plan is read, see
    tests/test_hostile_inputs.py) of a logistic fit reaches bounds whose exp() overflowed."""
    from pathlib import Path

    import yaml
    ref = Path(__file__).parent / "reference" / "respiratory_logistic"
    plan = yaml.safe_load((ref / "plan.yaml").read_text(encoding="utf-8"))
    plan["analysis"]["ci_level"] = 0.9999
    data = pd.read_csv(ref / "data.csv")
    res, console = _write_all(data, plan, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "99.99% CI" in html and "99.99% CI" in console


def test_console_prints_rich_markup_in_user_text_literally():
    data, plan = _small_trial()
    plan["title"] = "Trial [/] [bold]one[/bold]"
    plan["outcomes"][0]["label"] = "Pain [/]"
    plan["moderators"][0]["label"] = "Score [/] [red]x"
    plan["data"] = dict(plan["data"], time_unit="weeks [/]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = em.analyze(data, validate_plan(plan, origin="test plan"))
    out = io.StringIO()
    print_summary(Console(file=out, width=200, color_system=None), res)
    text = out.getvalue()
    assert "Trial [/] [bold]one[/bold]" in text and "Pain [/]" in text and "Score [/] [red]x" in text


def test_power_table_prints_names_literally():
    from effectmod.cli.power import print_power
    table = pd.DataFrame([{"outcome": "pain [/]", "timepoint": "12", "moderator": "[bold]age", "n": 100, "scale": NAN,
                           "true_interaction": 0.3, "generating_interaction": 0.3, "analysis_estimand": 0.3,
                           "power": 0.5, "mcse": 0.01, "ate_power": 0.9, "ate_mcse": 0.01}])
    out = io.StringIO()
    print_power(Console(file=out, width=200, color_system=None), table)
    assert "pain [/]" in out.getvalue() and "[bold]age" in out.getvalue()



def test_bootstrap_drops_resamples_whose_fit_diverges():
    """A resample separated under maximum likelihood has an infinite interaction, not a draw from
    its sampling distribution: it is dropped (counted out of boot_replicates), as the risk
    differences of a diverging fit are left out; the age model keeps its replicates."""
    data, plan = separated_trial()
    plan = plan.model_copy(update={"analysis": plan.analysis.model_copy(update={"bootstrap": 30})})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = em.analyze(data, plan).table
    sex, age = (table[table["moderator"] == m].iloc[0] for m in ("sex", "age"))
    assert sex["boot_replicates"] < 30 and (sex["boot_replicates"] == 0 or abs(sex["boot_ci_high"]) < 100)
    assert age["boot_replicates"] > 20 and np.isfinite(age["boot_ci_low"])


def test_every_figure_name_is_a_safe_file_name_and_anchor_whatever_the_follow_up_labels():
    # follow-up labels are free text: each figure's file and its report link must still work
    import copy
    import re

    from effectmod.plan import validate_plan
    from effectmod.report import figures as figs
    from report_cases import RICH_PLAN, rich_data
    plan = copy.deepcopy(RICH_PLAN)
    plan["outcomes"][0]["followups"] = {"18 wk (visit 2)": "pain_18", "52 wk + 1": "pain_52"}
    plan["outcomes"][1]["followups"] = {"52 wk + 1": "severe_52"}
    plan["analysis"] = {**plan["analysis"], "bootstrap": 0}
    res = em.analyze(rich_data(), validate_plan(plan, origin="labels plan"))
    collected = figs.report_figures(res)
    try:
        names = [name for name, _, _ in collected]
    finally:
        figs.close(collected)
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+", n) for n in names), names
    assert len(set(names)) == len(names)
