"""The predictive section's statements for time-to-event and count outcomes: where (the horizon in
the time unit), the risk groups' effects on their scales (RMST difference and hazard ratio; rate
difference and rate ratio), and that no effect model was fitted."""
from __future__ import annotations

import pandas as pd

from ..formatting import number, p_text
from ..plan.schema import Plan
from .run_families import EFFECT_NOT_DONE

# outcome type: (absolute effect, relative effect) in words
FAMILY_SCALES = {
    "time_to_event": ("restricted mean survival time (RMST) difference", "hazard ratio"),
    "count": ("rate difference (events per unit exposure)", "rate ratio"),
}


def _outcome(plan: Plan, name: str):
    return next(o for o in plan.outcomes if o.name == name)


def family_where(plan: Plan, outcome: str, t: str, label: str) -> str:
    o = _outcome(plan, outcome)
    if o.type == "time_to_event":
        return f"{label}, risk by {t}" + (f" {o.time_unit}" if o.time_unit else "")
    unit = plan.data.time_unit
    return f"{label}, {t} {unit}" if unit else f"{label}, follow-up {t}"


def family_groups_text(plan: Plan, outcome: str, g: pd.DataFrame, threshold: float) -> str:
    o = _outcome(plan, outcome)
    absolute, relative = FAMILY_SCALES[o.type]
    unit = f" {o.time_unit}" if o.type == "time_to_event" and o.time_unit else ""
    return (f" The {absolute} of treated minus control is {number(g['absolute_effect'].iloc[0])}{unit} in the lowest-risk group "
            f"and {number(g['absolute_effect'].iloc[-1])}{unit} in the highest, the {relative} "
            f"{number(g['relative_effect'].iloc[0])} and {number(g['relative_effect'].iloc[-1])}; the treatment × "
            f"predicted-risk interaction has {p_text(float(g['p_interaction'].iloc[0]), threshold)}.")


def effect_not_done(plan: Plan) -> list[tuple[str, str, str]]:
    """One statement per time-to-event or count outcome when effect predictors are given."""
    pred = plan.predictive
    if pred is None or not pred.effect_predictors:
        return []
    return [(o.name, "", f"{EFFECT_NOT_DONE[o.type][0].upper()}{EFFECT_NOT_DONE[o.type][1:]}; predictive.effect_predictors is not "
             "used for this outcome (only its risk model is reported).") for o in plan.outcomes if o.type in EFFECT_NOT_DONE]
