"""The level effects that shrinkage starts from for time-to-event outcomes: the log hazard ratio of
treatment from a Cox model (Efron ties) fitted within each level of each binary or categorical
moderator (a baseline hazard of its own per level), with its model-based SE and Wald z interval.

They replace the main Cox model's per-level effects (one baseline hazard shared across levels,
``model: cox`` rows of the conditional effects) in shrunken_subgroups.csv; a level where an arm
has no events or the fit fails has no estimate, and its moderator is then left out (as for the
other outcome types)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ..engines.cox import fit_cox
from ..engines.errors import EngineError
from ..plan.schema import Plan


def level_fit(time: np.ndarray, event: np.ndarray, treat: np.ndarray) -> tuple[float, float]:
    """(log hazard ratio, SE) of treatment in one level; NaN when an arm has no events or the fit fails."""
    if min(float(event[treat == 1].sum()), float(event[treat == 0].sum())) == 0:
        return math.nan, math.nan
    try:
        c = fit_cox(treat[:, None], time, event).contrast(np.array([1.0]))
    except EngineError:
        return math.nan, math.nan
    return c.estimate, c.std_error


def survival_level_effects(trial, plan: Plan) -> pd.DataFrame:
    """Rows shaped as the conditional effects (outcome, timepoint, moderator, moderator_value,
    effect, std_error, ci_low, ci_high, scale, model) for every time-to-event outcome."""
    z = float(stats.norm.ppf(1 - (1 - plan.analysis.ci_level) / 2))
    rows = []
    for o in trial.outcomes.values():
        if o.type != "time_to_event":
            continue
        time = np.asarray(next(iter(o.followups.values())), float)
        event = np.asarray(o.status, float)
        seen = ~np.isnan(time) & ~np.isnan(event)
        for m in plan.moderators:
            if m.type not in ("binary", "categorical"):
                continue
            md = trial.moderators[m.name]
            for k, text in enumerate(md.levels):
                r = seen & (md.values == k)
                est, se = level_fit(time[r], event[r], trial.treat[r])
                rows.append({"outcome": o.name, "timepoint": "", "moderator": m.name, "moderator_value": text, "effect": est,
                             "std_error": se, "ci_low": est - z * se, "ci_high": est + z * se, "scale": "log hazard ratio",
                             "model": "cox"})
    return pd.DataFrame(rows, columns=["outcome", "timepoint", "moderator", "moderator_value", "effect", "std_error", "ci_low",
                                       "ci_high", "scale", "model"])
