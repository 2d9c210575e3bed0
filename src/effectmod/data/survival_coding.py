"""A time-to-event outcome coded as arrays: the follow-up time and the event indicator (CONTRACT
§6.1). One row per participant; a participant with either missing is an incomplete case."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..plan.labels import label_of
from .problems import Problems
from .trial import OutcomeData

# the key of the single "follow-up" of a time-to-event outcome: its rows' timepoint is empty (cox)
TTE_KEY = ""


def code_time_to_event(wide, o, i: int, problems: Problems, numbers, binary_outcome) -> OutcomeData | None:
    """``numbers`` and ``binary_outcome`` are data/coding.py's coders of a numeric column and of
    a binary outcome (passed in: that module calls this one)."""
    where = f"outcomes[{i}].time"
    before = len(problems)
    time = numbers(wide, str(o.time), where, problems, None)
    if len(problems) > before:
        return None
    seen = time[~np.isnan(time)]
    if (seen < 0).any():
        problems.add(f"column '{o.time}' (plan: {where}): follow-up times must be 0 or more; "
                     f"negative in {int((seen < 0).sum())} row(s) (first: {float(seen[seen < 0][0]):g})")
        return None
    # the event column is coded as a binary outcome whose event value is event_value
    shim = SimpleNamespace(name=o.name, event=o.event_value)
    before = len(problems)
    coded, event = binary_outcome(wide, {"event": str(o.event)}, shim, i, problems)
    if len(problems) > before or "event" not in coded:
        # the binary coder's words, in the keys of a time-to-event outcome
        for k in range(before, len(problems)):
            problems[k] = (problems[k].replace(f"outcomes[{i}].event:", f"outcomes[{i}].event_value:")
                           .replace(f"outcomes[{i}]: a binary outcome needs two values",
                                    f"column '{o.event}' (plan: outcomes[{i}].event): an event indicator needs two values"))
        return None
    status = coded["event"]
    time = np.where(np.isnan(status), np.nan, time)
    return OutcomeData(o.name, label_of(o), "time_to_event", None, None, {TTE_KEY: time}, None, event,
                       status=status, horizon=o.horizon, time_unit=o.time_unit)
