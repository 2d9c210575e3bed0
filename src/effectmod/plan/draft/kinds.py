"""Outcome types and directions: continuous or binary and the event level, which direction is
better (from the name's words), and the label from the file's variable labels."""
from __future__ import annotations

import math
import os
import re

import numpy as np

from ...data.values import sort_levels
from .columns import Column, identifier, name_words
from .records import Outcome

_EVENT_WORDS = {"yes", "y", "true", "1", "event", "good", "improved", "success", "responder", "response", "present",
                "positive", "pos", "case", "dead", "died", "death", "relapse", "remission", "recovered"}
# Direction of benefit: an event (or an outcome name) with one of these word stems is a good result;
# continuous scores with these names usually rise as participants do better.
_GOOD_EVENT = re.compile(r"^(good|improv\w*|respon\w*|remission|remit\w*|success\w*|recover\w*|cured?|alive|"
                         r"surviv\w*|abstinen\w*|abstain\w*|healed|healing)$")
_HIGHER_BETTER = re.compile(r"^(qol|hrqol|quality|function\w*|wellbeing|well|satisfaction|eq5d\w*|eqvas|sf36\w*|sf12\w*|"
                            r"mmse|moca|fev1?|walk\w*|6mwt|6mwd|grip|strength|mobility|efficacy|selfefficacy|wemwbs|who5)$")
_BAD_EVENT = re.compile(r"^(poor|bad|dead|died|death|relapse\w*|recurren\w*|fail\w*|wors\w*|adverse|complication\w*|"
                        r"readmi\w*|infection|progress\w*|exacerbation\w*|event)$")
_WORSE_WHEN_HIGHER = re.compile(r"^(disability|disabilities|impairment|pain|symptoms?|severity|limitations?|distress|"
                                r"fatigue|depression|anxiety|burden|dysfunction)$")
_NEGATION = {"no", "not", "non", "un", "without", "poor", "bad", "worse", "failure", "failed"}


def outcome_type(stem: str, columns: list[Column], notes: list[str]) -> Outcome | None:
    levels = sort_levels({lv for c in columns for lv in c.levels})
    name = identifier(stem, "outcome")
    if len(levels) == 2:
        event = next((lv for lv in levels if lv.lower() in _EVENT_WORDS), levels[1])
        return Outcome(name, "binary", [], event=event, levels=levels, notes=notes)
    if all(c.numeric for c in columns) and len(levels) > 2:
        values = np.concatenate([c.values for c in columns])
        lo, hi = math.floor(np.nanmin(values)), math.ceil(np.nanmax(values))
        return Outcome(name, "continuous", [], range=(lo, hi if hi > lo else lo + 1), notes=notes)
    return None


def _good(text: str, pattern: re.Pattern) -> str | None:
    """The word of ``text`` that marks a good result, unless the text is negated ('no response')."""
    words = name_words(text)
    if any(w in _NEGATION for w in words):
        return None
    return next((w for w in words if pattern.match(w)), None)


def guess_better(o: Outcome) -> None:
    """Which direction of the outcome is better for participants, with the reason, for `better:`."""
    names = [o.name] + ([o.label] if o.label else [])
    if o.type == "binary":
        event = o.event or ""
        hit = _good(event, _GOOD_EVENT)
        if hit:
            o.better, o.better_note = "higher", f"the event {o.event!r} looks like a good result"
            return
        if any(_BAD_EVENT.match(w) for w in name_words(event)):
            o.better, o.better_note = "lower", f"the event {o.event!r} looks like a bad result"
            return
        hit = next((h for h in (_good(t, _GOOD_EVENT) for t in names) if h), None)
        if hit:
            o.better, o.better_note = "higher", f"'{hit}' in the outcome's name or label suggests the event is good"
            return
        o.better, o.better_note = "lower", f"the event {o.event!r} taken as a bad result (e.g. relapse, adverse event)"
        return
    hit = next((h for h in (_good(t, _HIGHER_BETTER) for t in names) if h), None)
    if hit and not any(_WORSE_WHEN_HIGHER.match(w) for t in names for w in name_words(t)):
        o.better, o.better_note = "higher", f"'{hit}' suggests a score that rises as participants do better (quality of life, function)"
    else:
        o.better, o.better_note = "lower", "taken as a symptom score where lower is better, like pain, depression or disability"


def outcome_label(o: Outcome, labels: dict[str, str]) -> str | None:
    """An outcome's label from its columns' variable labels: their common start ('BDI-II total'
    from 'BDI-II total, baseline' and 'BDI-II total, 2 months'), else the first follow-up's."""
    found = [labels[c] for c in o.columns if c in labels]
    if not found:
        return None
    if len(found) > 1:
        common = os.path.commonprefix(found)
        if any(len(f) > len(common) and f[len(common)].isalnum() for f in found) and common[-1:].isalnum():
            common = re.sub(r"\w+$", "", common)           # 'Weight p' of 'Weight pre'/'Weight post': back to 'Weight'
        common = re.sub(r"(\s(at|@))?[\s,;:(\[-]*$", "", re.sub(r"[\s,;:(\[-]+$", "", common)).strip()
        if len(common) >= 3:
            return common
    return labels.get(next(iter(o.followups.values()), ""), found[0]) if o.followups else found[0]
