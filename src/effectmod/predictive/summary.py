"""The predictive section's statements, in words (numbers formatted as everywhere in the report):
what was done, how well the risk and effect models discriminate, and whether the effect model
discriminates benefit at all (PATH asks that this be said plainly)."""
from __future__ import annotations

import math

import pandas as pd

from ..formatting import interval, level_text, number, p_text
from ..plan.labels import label_of
from ..plan.schema import Plan
from .summary_families import FAMILY_SCALES, effect_not_done, family_groups_text, family_where

COLUMNS = ("outcome", "timepoint", "topic", "statement")


def _metric(frame: pd.DataFrame, model: str, metric: str):
    rows = frame[(frame["model"] == model) & (frame["metric"] == metric)]
    return rows.iloc[0] if len(rows) else None


def _value(r) -> str:
    if r is None or not math.isfinite(float(r["estimate"])):
        return "not estimable"
    ci = f" ({interval(r['ci_low'], r['ci_high'])})" if math.isfinite(float(r["ci_low"])) else ""
    return number(r["estimate"]) + ci


def _slope_text(r) -> str:
    """The calibration-for-benefit slope, or why there is none (its row's note)."""
    text = _value(r)
    note = r["note"] if r is not None and "note" in r else ""
    return f"{text}: {note}" if text == "not estimable" and isinstance(note, str) and note else text


def statements(out: dict, plan: Plan) -> pd.DataFrame:
    pred = plan.predictive
    assert pred is not None
    level, threshold = plan.analysis.ci_level, plan.analysis.evidence_threshold
    rows = [("", "", "status", (
        "These predictive analyses were pre-specified in the plan (predictive.prespecified: true)." if pred.prespecified else
        "These predictive analyses are exploratory (predictive.prespecified is not set): they describe how the treatment effect "
        "may vary with predicted risk and with several characteristics at once, and are not confirmatory."))]
    rows.append(("", "", "data", "Each model uses the participants with the outcome and every predictor observed (complete cases), "
                 "also when the main analysis imputes missing values."))
    rows.append(("", "", "methods", (
        f"Metrics are corrected for optimism by {pred.bootstrap} bootstrap resamples (Harrell), with approximate {level_text(level)} "
        "intervals; the c-for-benefit matches treated and control participants 1:1 on predicted benefit (van Klaveren 2018)."
        if pred.bootstrap else "Metrics are apparent values (predictive.bootstrap: 0): no optimism correction and no intervals.")))
    labels = {o.name: label_of(o) for o in plan.outcomes}
    types = {o.name: o.type for o in plan.outcomes}
    risk = out.get("risk_groups")
    metrics = out.get("benefit_metrics", pd.DataFrame(columns=["outcome", "timepoint", "model", "metric"]))
    keys = list(dict.fromkeys(zip(metrics["outcome"], metrics["timepoint"])))
    for outcome, t in keys:
        m = metrics[(metrics["outcome"] == outcome) & (metrics["timepoint"] == t)]
        unit = plan.data.time_unit
        where = f"{labels.get(outcome, outcome)}, {t} {unit}" if unit else f"{labels.get(outcome, outcome)}, follow-up {t}"
        family = types.get(outcome) in FAMILY_SCALES
        if family:
            where = family_where(plan, outcome, t, labels.get(outcome, outcome))
        if _metric(m, "risk", "c_statistic") is not None:
            text = (f"{where}: the risk model's c-statistic is {_value(_metric(m, 'risk', 'c_statistic'))} and its calibration "
                    f"slope {_value(_metric(m, 'risk', 'calibration_slope'))}.")
            note = _metric(m, "risk", "c_statistic")["note"]
            if isinstance(note, str) and note:
                text += f" ({note})"
            if risk is not None:
                g = risk[(risk["outcome"] == outcome) & (risk["timepoint"] == t)]
                if len(g) and family:
                    text += family_groups_text(plan, outcome, g, threshold)
                elif len(g):
                    # each group's effect with its interval: two point estimates alone read as a difference
                    lo, hi = g.iloc[0], g.iloc[-1]
                    text += (f" The absolute treatment effect is {number(lo['absolute_effect'])} ({level_text(level)} CI, "
                             f"{interval(lo['absolute_ci_low'], lo['absolute_ci_high'])}) in the lowest-risk group and "
                             f"{number(hi['absolute_effect'])} ({interval(hi['absolute_ci_low'], hi['absolute_ci_high'])}) in "
                             f"the highest; the treatment × predicted-risk interaction "
                             f"has {p_text(float(g['p_interaction'].iloc[0]), threshold)}.")
            rows.append((outcome, t, "risk model", text))
        c = _metric(m, "effect", "c_for_benefit")
        if c is not None:
            judged = math.isfinite(float(c["ci_low"]))
            if not math.isfinite(float(c["estimate"])):
                verdict = f"The effect model could not be judged: {c['note']}."
            elif not judged:
                verdict = "Without intervals (bootstrap: 0) its discrimination of benefit is not judged."
            elif c["ci_low"] <= 0.5 <= c["ci_high"]:
                verdict = ("The model does not discriminate benefit: the interval of the c-for-benefit includes 0.5, so its "
                           "individual predictions of benefit should not be used.")
            else:
                verdict = "The model discriminates benefit better than chance (the interval excludes 0.5)."
            rows.append((outcome, t, "effect model",
                         f"{where}: the {pred.penalty} effect model's c-for-benefit is {_value(c)}, its E-for-benefit "
                         f"{_value(_metric(m, 'effect', 'e_for_benefit'))} and its calibration-for-benefit slope "
                         f"{_slope_text(_metric(m, 'effect', 'calibration_for_benefit_slope'))}. {verdict}"))
    rows += [(o, t, "effect model", text) for o, t, text in effect_not_done(plan)]
    shrunk = out.get("shrunken_subgroups")
    if shrunk is not None:
        rows.append(("", "", "shrinkage", (
            "Subgroup effects of binary and categorical moderators are shown beside the same effects shrunk towards their common "
            "effect (normal-normal empirical Bayes, REML between-subgroup variance): a subgroup that stands out before shrinkage "
            "and not after is what chance alone would produce." if len(shrunk) else
            "No binary or categorical moderator had subgroup effects to shrink.")))
    return pd.DataFrame(rows, columns=list(COLUMNS))
