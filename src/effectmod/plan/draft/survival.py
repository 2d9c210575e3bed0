"""`effectmod init`: a time-to-event outcome drafted from a time column and an event column."""
from __future__ import annotations

import re

from .columns import Column, identifier
from .records import Outcome

_UNITS = (("day", "days"), ("week", "weeks"), ("month", "months"), ("year", "years"), ("wk", "weeks"),
          ("mo", "months"), ("yr", "years"))
# 0/1 and true/false need no event_value; anything else names the event value for the user to confirm
_PLAIN = ({"0", "1"}, {"false", "true"})


def survival_outcome(time: Column, event: Column, key: str) -> Outcome:
    """The draft's outcome for the pair: named after their common prefix (os, pfs) or 'event'."""
    name = identifier(key.strip("_ .") if key else "", "event") if key else "event"
    levels = [str(v) for v in event.levels]
    event_value = None if {v.lower() for v in levels} in _PLAIN else _event_guess(levels)
    words = re.split(r"[^a-z]+", time.name.lower())
    unit = next((u for w in words for stem, u in _UNITS if w.startswith(stem)), None)
    return Outcome(name=name, type="time_to_event", columns=[time.name, event.name], event=event_value, levels=levels,
                   time=time.name, event_column=event.name, time_unit=unit)


def _event_guess(levels: list[str]) -> str:
    bad = re.compile(r"(dead|died|death|event|yes|relapse|progress|fail|recur)", re.I)
    return next((v for v in levels if bad.search(v)), levels[-1])


def render_survival(o: Outcome, q, name) -> list[str]:
    """The outcome's lines after its type: time, event (and event_value), horizon, time_unit."""
    lines = [f"    time: {name(o.time)}   # CONFIRM: follow-up time (to the event or to censoring)",
             f"    event: {name(o.event_column)}   # CONFIRM: event indicator (values: {', '.join(o.levels)})"]
    if o.event is not None:
        others = [v for v in o.levels if v != o.event]
        lines.append(f"    event_value: {q(o.event)}   # CONFIRM: the value that marks an event; any other value is censored"
                     + (f" ({', '.join(others)}: {len(o.levels)} codes, so one may be a competing event, e.g. transplant, "
                        "analysed here as censored)" if len(o.levels) > 2 else ""))
    lines.append("    # horizon: TODO   # the horizon (in the time column's units) for restricted mean survival time "
                 "(rmst rows) and absolute risks, e.g. 365")
    if o.time_unit:
        lines.append(f"    time_unit: {o.time_unit}   # CONFIRM: from the column's name")
    else:
        lines.append("    # time_unit: days   # TODO: the unit of the time column, shown in the report")
    return lines
