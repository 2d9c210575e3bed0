"""Effect figures of the ratio families (Cox, count, ordinal): the conditional effect against a
continuous moderator is drawn on a log axis labelled in ratios (hazard, rate, odds ratios), with the
line of no effect at 1; count subgroup figures use a rate-ratio log axis as the logistic ones do."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

import effectmod as em
from effectmod.report.effect_figures import conditional_effect_figure, subgroup_figure

REF = Path(__file__).parent / "reference"


def _results(case: str):
    plan = yaml.safe_load((REF / case / "plan.yaml").read_text(encoding="utf-8"))
    return em.analyze(REF / case / "data.csv", plan)


def _ratio_labels_match_positions(labels, positions):
    values = [float(lab.get_text()) for lab in labels]
    assert len(values) >= 2
    assert np.allclose(np.log(values), positions, atol=5e-3 * max(1.0, np.ptp(positions)))


@pytest.mark.parametrize("case, kind, moderator, name", [
    ("veteran_cox", "cox", "karno", "Hazard ratio"),
    ("epil_count", "poisson", "age", "Rate ratio"),
    ("btheb_ordinal", "ordinal", "bdi_pre", "Odds ratio"),
])
def test_continuous_moderator_curve_is_a_ratio_on_a_log_axis(case, kind, moderator, name):
    res = _results(case)
    fm = next(f for f in res.fitted if f.spec.kind == kind and f.spec.moderator == moderator and f.fit is not None)
    t = fm.design.timepoints[0] if fm.design.timepoints else ""
    _, caption, fig = conditional_effect_figure(res, fm, t, None, regions=())
    ax = fig.axes[0]
    assert ax.get_ylabel().startswith(name) and "log axis" in ax.get_ylabel()
    _ratio_labels_match_positions(ax.get_yticklabels(), ax.get_yticks())
    # the curve is still the log ratio: exp of the drawn line is the ratio at each moderator value
    line = next(ln for ln in ax.lines if ln.get_label() == "treatment effect")
    x0, y0 = line.get_xdata()[0], line.get_ydata()[0]
    assert y0 == pytest.approx(fm.fit.contrast(fm.design.effect_L(np.array([x0]), t)).estimate, rel=1e-12)
    assert f"{name.lower()}, " in caption and "log axis" in caption and "CI excludes 1" in caption
    title = ax.get_title(loc="left")
    if "Larger benefit" in title:
        assert name.lower() in title


def test_count_subgroup_figure_is_drawn_in_rate_ratios():
    res = _results("epil_count")
    _, caption, fig = subgroup_figure(res, "age_group", {"poisson"})
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("Rate ratio") and "log axis" in ax.get_xlabel()
    _ratio_labels_match_positions(ax.get_xticklabels(), ax.get_xticks())
    assert "rate ratio" in caption and math.isfinite(ax.get_xlim()[0])


def test_cox_and_rmst_subgroups_are_drawn_on_their_own_axes():
    from effectmod.report.effect_figures import figures_for
    res = _results("veteran_cox")
    figs = {stem: (caption, fig) for stem, caption, fig in figures_for(res)}
    assert {"subgroups_prior", "subgroups_prior_rmst"} <= set(figs)
    caption, fig = figs["subgroups_prior"]
    assert fig.axes[0].get_xlabel().startswith("Hazard ratio") and "hazard ratio" in caption
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "Death, over follow-up" in labels and not any("180" in lab for lab in labels)
    caption, fig = figs["subgroups_prior_rmst"]
    assert "ratio" not in fig.axes[0].get_xlabel() and any("180" in t.get_text() for t in fig.axes[0].get_yticklabels())
