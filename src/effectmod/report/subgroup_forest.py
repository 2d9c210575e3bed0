"""The combined subgroup forest plot trial papers print: one figure per outcome and follow-up of
the main analysis, every binary and categorical moderator as a group (its label and the
interaction P on a header row), one row per level with n per arm, the outcome per arm (mean (SD),
or events/n for a binary outcome), and the treatment effect in that level with its CI (mean
difference; odds ratio on a log axis for a binary outcome). Left columns are text drawn in the
figure; "favours" labels under the axis follow outcomes[].better, coloured per arm.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from .display import arm_name, level_name
from .drawing import ARM_COLOURS, LOG_RATIO_LIMIT, axis_window, clip_point, draw_interval, figure_stem, literal, ratio_ticks
from .labels import label_of
from .predictive_figures import SHRUNKEN_CAPTION, draw_shrunken, shrunken_point
from .sentences import interval, level_text, number, p_text, ratio, ratio_with_ci
from .tables import main_model_rows, timepoint_text
from .typography import minus

# x positions (figure fraction) of the text columns and of the forest's axes
COLUMNS = {"level": 0.01, "n": 0.29, "treated": 0.41, "control": 0.53}
AXES_LEFT, AXES_WIDTH, EFFECT_X = 0.64, 0.2, 0.855


def arm_summary(design, moderator, timepoint: str | None = None, observed: np.ndarray | None = None,
                values: np.ndarray | None = None) -> pd.DataFrame:
    """Per level of a binary/categorical moderator and arm: n, mean, SD and events of the outcome
    among the participants a fitted model analysed (its design rows; a mixed model's rows at
    ``timepoint``). Columns: level, arm ('treated'/'control'), n, mean, sd, events.

    Under multiple imputation ``design`` is a completed dataset's: only participants whose
    moderator (``moderator.values``, the observed data) and outcome (``observed``, one flag per
    participant) are observed are counted, so n and the summaries are of observed values."""
    keep = np.ones(len(design.y), dtype=bool)
    if design.times is not None and timepoint is not None:
        keep = np.asarray(design.times).astype(str) == str(timepoint)
    # a time-to-event design's y is the follow-up time: its events are the event indicator
    source = design.y if getattr(design, "event", None) is None else design.event
    y = np.asarray(source, dtype=float)[keep]
    if values is not None:        # an ordinal outcome's codes 0..K-1 as its category values
        y = np.where(np.isnan(y), np.nan, values[np.nan_to_num(y).astype(int)])
    treat = np.asarray(design.X[:, design.index("treat")])[keep] == 1
    rows = np.asarray(design.rows)[keep]
    values = np.asarray(moderator.values, dtype=float)[rows]
    seen = ~np.isnan(values)
    if observed is not None:
        seen &= np.asarray(observed, dtype=bool)[rows]
    codes = np.where(seen, values, -1.0).astype(int)      # -1: not observed, in no level
    out = []
    for code, level in enumerate(moderator.levels):
        for arm, mask in (("treated", treat), ("control", ~treat)):
            v = y[mask & (codes == code)]
            out.append({"level": str(level), "arm": arm, "n": int(v.size),
                         "mean": float(v.mean()) if v.size else math.nan,
                         "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
                         "events": int(v.sum())})
    return pd.DataFrame(out, columns=["level", "arm", "n", "mean", "sd", "events"])


def observed_outcome(trial, outcome: str, t) -> np.ndarray | None:
    """Per participant: the outcome at follow-up ``t`` observed (time-to-event: time and status)."""
    o = trial.outcomes[outcome]
    if o.type == "time_to_event":
        values = next(iter(o.followups.values()))
        return ~np.isnan(values) & (~np.isnan(o.status) if o.status is not None else True)
    values = o.followups.get(str(t))
    return None if values is None else ~np.isnan(np.asarray(values, dtype=float))


def _stem(outcome: str, t) -> str:
    return figure_stem("subgroup_forest", outcome, t)


def arm_names(results) -> tuple[str, str]:
    """The treated and control arms' names as the reader sees them (data.arm_labels, else the data's
    values): every figure's legend."""
    v = results.trial.flow.arm_values
    return arm_name(results.plan, v.get("treated", "intervention")), arm_name(results.plan, v.get("control", "control"))


def _short(text: str, width: int = 16) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _numeric_levels(o) -> bool:
    try:
        [float(v) for v in o.levels]
    except ValueError:
        return False
    return True


def _ordinal_values(o) -> np.ndarray | None:
    """An ordinal outcome's category values by code (1..5 for HSAUR3::Lanza's classification, whose
    codes 0..4 were summarised as 'mean 0.6'); text categories are numbered 1..K. None otherwise."""
    if o.type != "ordinal" or not o.levels:
        return None
    return np.array([float(v) for v in o.levels]) if _numeric_levels(o) else np.arange(1.0, len(o.levels) + 1)


def _summary_text(s: pd.Series, binary: bool) -> str:
    if s["n"] == 0:
        return "–"
    if binary:
        return f"{s['events']}/{s['n']}"
    return f"{number(s['mean'], 1)} ({number(s['sd'], 1)})"


def subgroup_forest_figures(results) -> list[tuple[str, str, Figure]]:
    """(file stem, caption, Figure) per outcome x follow-up of the main analysis that has any
    binary or categorical moderator with subgroup effects."""
    ce = results.sections.get("conditional_effects")
    if ce is None or ce.empty:
        return []
    main = set(main_model_rows(results)["model"])
    trial = results.trial
    categorical = [m.name for m in results.plan.moderators
                   if m.name in trial.moderators and trial.moderators[m.name].type != "continuous"]
    # rmst rows are differences in days, not ratios: they have their own subgroup figures (subgroups_*_rmst)
    sel = ce[ce["moderator"].isin(categorical) & ce["model"].isin(main - {"rmst"}) & (ce["scale"] != "risk difference")]
    out = []
    for outcome, t in dict.fromkeys(zip(sel["outcome"], sel["timepoint"])):
        fig = subgroup_forest(results, outcome, t, sel[(sel["outcome"] == outcome) & (sel["timepoint"] == t)])
        if fig is not None:
            out.append(fig)
    return out


def _fitted(results, outcome: str, moderator: str, model: str, t):
    for fm in results.fitted:
        if (fm.spec.outcome == outcome and fm.spec.moderator == moderator and fm.spec.kind == model
                and fm.design is not None and (fm.spec.timepoint is None or str(fm.spec.timepoint) == str(t))):
            return fm
    return None


def _interaction_p(results, model: str, outcome: str, t, moderator: str) -> float:
    tab = results.table
    ints = tab[(tab["model"] == model) & (tab["outcome"] == outcome) & (tab["timepoint"].astype(str) == str(t))
               & (tab["moderator"] == moderator)]
    joint = ints[ints["term"] == "joint"]
    rows = joint if len(joint) else ints
    return float(rows["p_value"].iloc[0]) if len(rows) else math.nan


def subgroup_forest(results, outcome: str, t, sel: pd.DataFrame) -> tuple[str, str, Figure] | None:
    """One outcome and follow-up: ``sel`` holds its conditional-effects level rows (main model)."""
    plan, trial = results.plan, results.trial
    threshold, level = plan.analysis.evidence_threshold, plan.analysis.ci_level
    survival = trial.outcomes[outcome].type == "time_to_event"
    binary = trial.outcomes[outcome].type == "binary" or survival      # events/n per arm
    # binary, count, ordinal and time-to-event effects are log ratios, drawn on a log axis labelled as ratios
    scale_word = {"binary": "odds ratio", "ordinal": "odds ratio", "count": "rate ratio",
                  "time_to_event": "hazard ratio"}.get(trial.outcomes[outcome].type)
    on_ratio = scale_word is not None
    treated, control = arm_names(results)
    # multiple imputation: the effects are pooled; n and the per-arm summaries are of observed values
    imputed = bool(plan.analysis.imputations)
    # rows top to bottom: (kind, text, summary or None, effect row or None, P)
    lines: list[tuple] = []
    mods = [m for m in plan.moderators if (sel["moderator"] == m.name).any()]
    for m in mods:
        sub = sel[sel["moderator"] == m.name]
        model = str(sub["model"].iloc[0])
        lines.append(("header", label_of(m), None, None, _interaction_p(results, model, outcome, t, m.name)))
        fm = _fitted(results, outcome, m.name, model, t)
        observed = observed_outcome(trial, outcome, t) if imputed else None
        summ = (arm_summary(fm.design, trial.moderators[m.name], t, observed, _ordinal_values(trial.outcomes[outcome]))
                if fm is not None else None)
        for lv in dict.fromkeys(sub["moderator_value"].astype(str)):
            r = sub[sub["moderator_value"].astype(str) == lv].iloc[0]
            s = summ[summ["level"] == lv].set_index("arm") if summ is not None else None
            lines.append(("level", level_name(plan, m.name, lv), s, r, math.nan))
    if not lines:
        return None
    est, lo, hi = (sel[c].to_numpy(float) for c in ("effect", "ci_low", "ci_high"))
    with np.errstate(invalid="ignore", over="ignore"):
        diverging = np.maximum(np.abs(lo), np.abs(hi)) > LOG_RATIO_LIMIT if on_ratio else np.zeros(len(sel), bool)
    window = axis_window(lo, hi, est, diverging)
    n_rows = len(lines) + 1
    # at least 3 inches tall: a one-moderator figure stays legible when a phone scales its
    # 9.6-inch width down to the screen
    height = max(3.0, 1.25 + 0.22 * n_rows)
    fig = Figure(figsize=(9.6, height))
    bottom = 0.75 / height
    ax = fig.add_axes((AXES_LEFT, bottom, AXES_WIDTH, 1 - bottom - 0.2 / height))
    text = blended_transform_factory(fig.transFigure, ax.transData)
    y_head = n_rows - 1
    sub_head = "events/n" if binary else "mean (SD)" if _numeric_levels(trial.outcomes[outcome]) else "mean category (SD)"
    heads = [("level", "Subgroup", ""), ("n", "n", "treated / control"), ("treated", _short(treated), sub_head),
             ("control", _short(control), sub_head)]
    for key, head, under in heads:
        ax.text(COLUMNS[key], y_head, literal(head), transform=text, va="center", fontsize=8, fontweight="bold")
        ax.text(COLUMNS[key], y_head - 0.45, under, transform=text, va="center", fontsize=7, color="#555555")
    effect_word = scale_word.capitalize() if scale_word else "Mean difference"
    ax.text(EFFECT_X, y_head, f"{effect_word} ({level_text(level)} CI)", transform=text, va="center",
            fontsize=8, fontweight="bold")
    for k, (kind, label, s, r, p) in enumerate(lines):
        y = n_rows - 2 - k
        if kind == "header":
            ax.text(COLUMNS["level"], y, literal(label), transform=text, va="center", fontsize=8, fontweight="bold")
            ax.text(EFFECT_X, y, f"interaction {p_text(p, threshold)}", transform=text, va="center", fontsize=7.5,
                    fontstyle="italic")
            continue
        ax.text(COLUMNS["level"] + 0.015, y, literal(label), transform=text, va="center", fontsize=8)
        if s is not None:
            ax.text(COLUMNS["n"], y, f"{s.loc['treated', 'n']} / {s.loc['control', 'n']}", transform=text, va="center", fontsize=8)
            for arm in ("treated", "control"):
                ax.text(COLUMNS[arm], y, _summary_text(s.loc[arm], binary), transform=text, va="center", fontsize=8)
        e, a, b = (float(r[c]) for c in ("effect", "ci_low", "ci_high"))
        draw_interval(ax, a, b, y, window, color="black", lw=1.2, solid_capstyle="butt")
        ax.plot([clip_point(e, window)], [y], marker="s", color="black", ms=4.5, ls="none")
        shrunk = shrunken_point(results, r)
        if shrunk is not None:
            draw_shrunken(ax, shrunk, y, window, clip_point)
        # as the tables print it: '0.80 (0.51-1.24)', '-0.06 (-0.17 to 0.05)' with true minus signs
        if not (math.isfinite(a) and math.isfinite(b)):
            ci = minus(f"{ratio(e) if on_ratio else number(e)} (NA)")
        else:
            ci = minus("{} ({})".format(*ratio_with_ci(e, a, b)) if on_ratio else f"{number(e)} ({interval(a, b)})")
        ax.text(EFFECT_X, y, ci, transform=text, va="center", fontsize=8)
    if window is None:
        # the line of no effect inside the axis, with room on both sides
        a, b = min(np.nanmin(lo), 0.0), max(np.nanmax(hi), 0.0)
        pad = 0.08 * (b - a or 1.0)
        window = (a - pad, b + pad)
    ax.set_xlim(*window)
    ax.axvline(0, color="black", lw=0.7, zorder=0)
    ax.set_ylim(-0.6, n_rows - 0.4)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    if on_ratio:
        # the axis is the log odds ratio; ticks are labelled as odds ratios (a log axis)
        ratio_ticks(ax)
    ax.tick_params(axis="x", labelsize=7.5)
    better = plan.better_direction(outcome)
    favours_left = treated if better == "lower" else control
    favours_right = control if better == "lower" else treated
    colours = {treated: ARM_COLOURS["treated"], control: ARM_COLOURS["control"]}
    # the labels meet at the line of no effect, each pointing away from it
    at_zero = blended_transform_factory(ax.transData, ax.transAxes)
    for ha, arm, words in (("right", favours_left, f"← favours {favours_left} "), ("left", favours_right, f" favours {favours_right} →")):
        ax.annotate(literal(words), (0, 0), xycoords=at_zero, xytext=(0, -20), textcoords="offset points",
                    ha=ha, va="top", fontsize=7.5, color=colours[arm])
    olab = label_of(next(o for o in plan.outcomes if o.name == outcome))
    when = "over follow-up" if survival else timepoint_text(t, plan.data.time_unit)
    fig.suptitle(literal(f"{olab}, {when}: treatment effect by subgroup"), x=0.01, ha="left", fontsize=9.5)
    caption = (f"Subgroup analyses for {olab} {when if survival else 'at ' + when} (main analysis): for each binary or categorical moderator, "
               f"participants analysed per arm ({treated} / {control}), the outcome per arm "
               f"({'events/n' if binary else 'mean (SD)'}), and the treatment effect within each level "
               f"({f'{scale_word}, log axis' if scale_word else f'{treated} minus {control}, mean difference'}) with "
               f"{level_text(level)} CIs; the P on each moderator's row tests the interaction (joint test for "
               f"categorical moderators). Direction of benefit: {plan.better_text(outcome)}. Subgroup effects are "
               "descriptive; the interaction test is the evidence that the effect differs.")
    if imputed:
        caption += (" With multiple imputation, n and the outcome per arm are of the participants with the moderator "
                    "and the outcome observed; the effects are pooled over the imputations.")
    if "shrunken_subgroups" in results.sections:
        caption += SHRUNKEN_CAPTION
    return _stem(outcome, t), caption, fig
