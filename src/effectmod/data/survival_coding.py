"""A time-to-event outcome coded as arrays: the follow-up time and the event indicator (CONTRACT
§6.1). One row per participant; a participant with either missing is an incomplete case."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..plan.labels import label_of
from .problems import Problems
from .trial import OutcomeData
from .values import keys_and_words, sort_levels, value_key

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
    coded, event = binary_outcome(_others_censored(wide, str(o.event), o.event_value), {"event": str(o.event)}, shim, i, problems)
    if len(problems) > before or "event" not in coded:
        # the binary coder's words, in the keys of a time-to-event outcome
        for k in range(before, len(problems)):
            problems[k] = (problems[k].replace(f"outcomes[{i}].event:", f"outcomes[{i}].event_value:")
                           .replace(f"outcomes[{i}]: a binary outcome needs two values",
                                    f"column '{o.event}' (plan: outcomes[{i}].event): an event indicator needs two values"
                                    + ("" if o.event_value is not None else
                                       f", or outcomes[{i}].event_value naming the event (any other value is then censored)")))
        return None
    status = coded["event"]
    time = np.where(np.isnan(status), np.nan, time)
    return OutcomeData(o.name, label_of(o), "time_to_event", None, None, {TTE_KEY: time}, None, event,
                       status=status, horizon=o.horizon, time_unit=o.time_unit)


def _others_censored(wide, col: str, event_value):
    """The data with every value of the event column other than ``event_value`` (and missing)
    replaced by one of them, so that e.g. survival::pbc's status 0 = censored, 1 = transplant,
    2 = death with event_value 2 reads as death vs censored (the plan key's meaning: any other
    value is censored). Unchanged when event_value is unset or the column has two values."""
    if event_value is None or col not in wide.columns:
        return wide
    event = value_key(event_value)
    keys, _ = keys_and_words(wide[col], keep={event} - {None})
    others = sort_levels({k for k in keys if k is not None and k != event})
    if len(others) <= 1 or event not in set(keys):
        return wide
    censored = np.array([k is not None and k != event for k in keys])
    first = wide[col].iloc[int(np.flatnonzero(keys == others[0])[0])]
    return wide.assign(**{col: wide[col].where(~censored, first)})
