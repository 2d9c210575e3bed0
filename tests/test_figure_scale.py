"""The interaction forest plot's default scale keeps continuous moderators visible beside a
binary moderator's wide interval (per SD of each continuous moderator), the figure labels wrap
without breaking inside parentheses, and the report links every figure to its full-size file."""
from __future__ import annotations

import dataclasses
import textwrap

import numpy as np
import pytest

from effectmod.plan.schema import Analysis
from effectmod.report.drawing import wrap_label
from effectmod.report.figures import forest_plot, forest_rows, report_figures
from effectmod.report.html import RenderedFigure, render_report
from report_cases import demo_results


def _with_scale(res, scale: str):
    a = res.plan.analysis.model_copy(update={"forest_scale": scale})
    return dataclasses.replace(res, plan=res.plan.model_copy(update={"analysis": a}))


def _ci_shares(fig) -> list[float]:
    """Each drawn CI's length as a share of its panel's x-axis (CI lines: two points at one height)."""
    out = []
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        for line in ax.lines:
            x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
            if len(x) == 2 and y[0] == y[1]:
                out.append(abs(x[1] - x[0]) / (hi - lo))
    return out


def test_default_forest_scale_is_per_sd():
    assert Analysis.model_fields["forest_scale"].default == "per_sd"
    assert demo_results().plan.analysis.forest_scale == "per_sd"


def test_continuous_moderators_are_not_flattened_by_a_binary_moderators_wide_ci():
    res = demo_results()
    fig = forest_plot(res)
    shares = _ci_shares(fig)
    t, per_sd = forest_rows(res)
    assert per_sd and len(shares) == len(t)
    # every interval, the continuous moderators' included, takes a readable share of its panel
    assert min(shares) > 0.1, sorted(shares)[:5]
    # on the raw scale the same continuous intervals collapse onto zero beside the binary moderator's
    raw = _ci_shares(forest_plot(_with_scale(res, "raw")))
    assert min(raw) < 0.05
    # the values drawn are the per-unit interactions times the moderator's SD among the analysed participants
    raw_rows, _ = forest_rows(_with_scale(res, "raw"))
    cont = t["moderator_sd"].notna().to_numpy()
    assert cont.sum() >= 7 and (~cont).sum() >= 2
    assert np.allclose(t.loc[cont, "estimate"], raw_rows.loc[cont, "estimate"] * raw_rows.loc[cont, "moderator_sd"])
    assert np.allclose(t.loc[~cont, "estimate"], raw_rows.loc[~cont, "estimate"])
    # the labels say which rows are per SD; the axis says so too
    labels = [tick.get_text() for tick in fig.axes[0].get_yticklabels()]
    assert any(lab.endswith("per SD") for lab in labels)
    assert not any("Psychoactive" in lab and "per SD" in lab for lab in labels)
    assert "per SD of moderator" in fig.axes[0].get_xlabel()


def test_caption_and_report_text_say_the_scale():
    res = demo_results()
    figs = report_figures(res)
    try:
        caption = next(c for n, c, _ in figs if n == "forest_interactions")
    finally:
        for _, _, f in figs:
            f.clear()
    assert "per standard deviation (SD) of each continuous moderator" in caption
    assert "Table 2 and results.csv give them per unit" in caption
    html = render_report(res, [RenderedFigure("forest_interactions", caption, b"<svg xmlns='http://www.w3.org/2000/svg'/>")])
    forest = html[html.index('id="forest"'):]
    assert "Continuous moderators are drawn per standard deviation (SD)" in forest
    raw_html = render_report(_with_scale(res, "raw"), [RenderedFigure("forest_interactions", "c", b"<svg/>")])
    assert "drawn per unit of each moderator" in raw_html


def test_every_figure_links_to_its_full_size_view():
    res = demo_results()
    figs = [RenderedFigure(n, "caption", b"<svg/>") for n in ("consort_flow", "forest_interactions", "subgroups_x")]
    html = render_report(res, figs)
    for f in figs:
        # an in-page link (the page stays self-contained): the targeted figure shows at full size
        assert f'<figure id="figure-{f.name}" class="fig"><a class="zoom" href="#figure-{f.name}" title="full size">' \
               f'<img src="{f.data_uri}"' in html


@pytest.mark.parametrize("text, width", [
    ("Beliefs about back pain consequences (BBQ 9-45)", 42),
    ("Pain intensity (NRS 0-10), per SD", 20),
    ("Kinesiophobia (Tampa Scale of Kinesiophobia 17-68) [level]", 25),
])
def test_wrapped_labels_never_break_inside_parentheses(text, width):
    lines = wrap_label(text, width).split("\n")
    assert " ".join(lines) == text
    for line in lines:
        assert line.count("(") == line.count(")"), lines
    # plain textwrap would have broken these inside the parentheses (the test is not vacuous)
    plain = textwrap.wrap(text, width)
    assert any(line.count("(") != line.count(")") for line in plain)


def test_wrap_keeps_short_text_and_hyphenated_words_whole():
    assert wrap_label("Age", 30) == "Age"
    assert wrap_label("", 30) == ""
    assert "0-\n10" not in wrap_label("A long label ending with a range 0-10", 12)


def test_a_one_row_ratio_forest_plot_has_room_for_its_wrapped_axis_label():
    """One moderator of a Cox model (survival::rhDNase): the ratio axis label wraps to two lines and
    the figure keeps room for it and the legend (matplotlib warned 'Tight layout not applied')."""
    import warnings
    from pathlib import Path

    import effectmod as em
    case = Path(__file__).parent / "reference" / "rhdnase_cox"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = em.analyze(case / "data.csv", case / "plan.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = forest_plot(res)
    assert fig is not None and "\n" in fig.axes[0].get_xlabel()
