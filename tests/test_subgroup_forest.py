"""The combined subgroup forest plot: per outcome and follow-up, every binary/categorical
moderator's levels with n and the outcome per arm, the effect per level and the interaction P."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.text import Text

from effectmod.report.figures import style
from effectmod.report.sentences import p_text
from effectmod.report.subgroup_forest import arm_summary, subgroup_forest_figures
from report_cases import demo_results, rich_results


def _fitted(res, outcome, moderator, t):
    return next(f for f in res.fitted if f.spec.kind == _model(res, outcome) and f.spec.outcome == outcome
                and f.spec.moderator == moderator and str(f.spec.timepoint) == t)


def _model(res, outcome) -> str:
    # a binary outcome's main analysis is the logistic model
    return "logistic" if res.trial.outcomes[outcome].type == "binary" else res.plan.analysis.model


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def _p(res, outcome, t, moderator) -> str:
    tab = res.table
    rows = tab[(tab["model"] == _model(res, outcome)) & (tab["outcome"] == outcome) & (tab["timepoint"] == t)
               & (tab["moderator"] == moderator)]
    joint = rows[rows["term"] == "joint"]
    return p_text(float((joint if len(joint) else rows)["p_value"].iloc[0]), res.plan.analysis.evidence_threshold)


def test_arm_summary_equals_a_groupby_of_the_analysed_participants():
    res = rich_results()
    for outcome, moderator, t in (("pain", "age_group", "18"), ("severe", "age_group", "52"), ("pain", "psychoactive", "52")):
        fm = _fitted(res, outcome, moderator, t)
        mod = res.trial.moderators[moderator]
        got = arm_summary(fm.design, mod, t)
        assert got["n"].sum() == fm.design.n
        rows = fm.design.rows
        frame = pd.DataFrame({"y": fm.design.y,
                              "arm": np.where(res.trial.treat[rows] == 1, "treated", "control"),
                              "level": np.asarray(mod.levels)[mod.values[rows].astype(int)]})
        want = frame.groupby(["level", "arm"])["y"].agg(["size", "mean", "std", "sum"])
        for r in got.itertuples():
            w = want.loc[(r.level, r.arm)]
            assert r.n == w["size"] and r.events == w["sum"]
            assert np.isclose(r.mean, w["mean"]) and np.isclose(r.sd, w["std"])


def test_demo_figure_shows_levels_n_per_arm_summaries_and_interaction_p():
    res = demo_results()
    with style():
        figs = subgroup_forest_figures(res)
    assert [s for s, _, _ in figs] == ["subgroup_forest_pain_18", "subgroup_forest_pain_52",
                                       "subgroup_forest_disability_18", "subgroup_forest_disability_52"]
    stem, caption, fig = figs[0]
    text = _texts(fig)
    summ = arm_summary(_fitted(res, "pain", "psychoactive_medication", "18").design,
                       res.trial.moderators["psychoactive_medication"], "18").set_index(["level", "arm"])
    for lv in ("no", "yes"):
        assert f"{summ.loc[(lv, 'treated'), 'n']} / {summ.loc[(lv, 'control'), 'n']}" in text
        assert any(t.startswith(f"{summ.loc[(lv, 'treated'), 'mean']:.1f} (") for t in text)
    assert {"no", "yes", "Mean difference (95% CI)"} <= set(text)
    assert f"interaction {_p(res, 'pain', '18', 'psychoactive_medication')}" in text
    # lower pain is better: effects below 0 favour the treated arm, on the left
    assert "← favours sensorimotor " in text and " favours sham →" in text
    assert "mean difference" in caption


def test_categorical_moderator_and_binary_outcome_on_the_odds_ratio_scale():
    res = rich_results()
    with style():
        figs = dict((s, (c, f)) for s, c, f in subgroup_forest_figures(res))
    caption, fig = figs["subgroup_forest_severe_52"]
    text = _texts(fig)
    assert {"under 40", "40-59", "60 and over", "Age group", "Psychoactive medication", "Odds ratio (95% CI)"} <= set(text)
    assert f"interaction {_p(res, 'severe', '52', 'age_group')}" in text     # the joint test of the 3 levels
    summ = arm_summary(_fitted(res, "severe", "age_group", "52").design, res.trial.moderators["age_group"], "52")
    for r in summ.itertuples():
        assert f"{r.events}/{r.n}" in text
    ce = res.sections["conditional_effects"]
    row = ce[(ce["outcome"] == "severe") & (ce["moderator"] == "age_group") & (ce["moderator_value"] == "40-59")
             & (ce["scale"] == "log odds ratio")].iloc[0]
    assert any(t.startswith(f"{np.exp(row['effect']):.2f} (") for t in text)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in ticks and np.isclose(ax.get_xticks()[ticks.index("1")], 0.0)   # a log axis labelled as OR
    assert "odds ratio, log axis" in caption


def test_binary_outcome_subgroup_figure_is_on_a_log_odds_ratio_axis():
    from pathlib import Path

    import effectmod as em
    from effectmod.report.effect_figures import subgroup_figure

    case = Path(__file__).parent / "reference" / "colon_logistic"
    res = em.analyze(case / "data.csv", case / "plan.yaml")
    with style():
        stem, caption, fig = subgroup_figure(res, "sex", {"logistic"})
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("Odds ratio (Lev+5FU vs Obs, log axis)")
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in ticks and np.isclose(ax.get_xticks()[ticks.index("1")], 0.0)
    assert "odds ratio, Lev+5FU vs Obs, log axis" in caption


def test_favours_colour_follows_the_arm_not_the_sign(monkeypatch):
    from effectmod.records import JNRegion
    from effectmod.report.drawing import ARM_COLOURS
    from effectmod.report.effect_figures import conditional_effect_figure

    res = demo_results()
    fm = _fitted(res, "pain", "kinesiophobia", "18")
    obs = res.trial.moderators["kinesiophobia"].values
    lo, hi = float(np.nanmin(obs)), float(np.nanmax(obs))
    colours = {}
    for better in ("lower", "higher"):
        monkeypatch.setattr(type(res.plan), "better_direction", lambda self, o, b=better: b)
        with style():
            _, _, fig = conditional_effect_figure(res, fm, "18", None, (JNRegion(lo, (lo + hi) / 2, "effect > 0"),))
        colours[better] = [t.get_color() for t in fig.findobj(Text) if t.get_text().startswith("favours")]
    # a positive effect favours the control arm when lower is better, the treated arm when higher is
    assert colours == {"lower": [ARM_COLOURS["control"]], "higher": [ARM_COLOURS["treated"]]}
