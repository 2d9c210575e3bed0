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
                        r"readmi\w*|infection|progress\w*|exacerbation\w*|event|severe|serious)$")
_WORSE_WHEN_HIGHER = re.compile(r"^(disability|disabilities|impairment|pain|symptoms?|severity|limitations?|distress|"
                                r"fatigue|depression|anxiety|burden|dysfunction)$")
_NEGATION = {"no", "not", "non", "un", "without", "poor", "bad", "worse", "failure", "failed"}


# ordered vocabularies of rating scales, lowest first: text outcomes whose levels all come from
# one of them are drafted as ordinal, in this order
_ORDERED_SCALES = (
    ("none", "minimal", "mild", "moderate", "severe", "very severe", "extreme"),
    ("very poor", "poor", "fair", "good", "very good", "excellent"),
    ("never", "rarely", "sometimes", "often", "usually", "always"),
    ("much worse", "worse", "slightly worse", "no change", "unchanged", "same", "slightly better", "better", "much better"),
    ("strongly disagree", "disagree", "neutral", "neither", "agree", "strongly agree"),
    ("low", "medium", "moderate", "high", "very high"),
)
# integers from 0 with at least this share of zeros, a maximum of at least COUNT_MAX and above
# COUNT_SKEW times the median look like event counts (seizures, visits): right-skewed with no
# upper bound in sight, unlike a bounded score (pain 0-10, RMDQ 0-24)
COUNT_ZEROS = 0.05
COUNT_MAX = 20
COUNT_SKEW = 3.0
# numeric rating scales drafted as ordinal: whole numbers on a short scale from 0 or 1 (0-4, 1-5, mRS 0-6,
# PGIC/CGI 1-7) with at least 3 and at most ORDINAL_MAX_LEVELS values seen, and a name that says rating
ORDINAL_NAME = re.compile(r"^(likert\w*|ratings?|rated|severity|rankin|mrs|pgic|pgi\w*|cgi\w*|score|classification)$")
ORDINAL_MAX_LEVELS = 7


def count_outcome(stem: str, columns: list[str], why: str, notes: list[str] | None = None,
                  followups: dict[str, str] | None = None) -> Outcome:
    """A count outcome (whole numbers from 0), drafted with its reason in a note."""
    o = Outcome(identifier(stem, "outcome"), "count", list(columns), notes=[*(notes or []), f"count outcome: {why}"])
    if followups is not None:
        o.followups = followups
    return o


def ordered_levels(levels: list[str]) -> list[str] | None:
    """The levels in the order of the rating scale they all come from (3 to 7 levels), else None."""
    if not 3 <= len(levels) <= 7:
        return None
    low = {lv.lower().replace("_", " ").strip(): lv for lv in levels}
    for scale in _ORDERED_SCALES:
        if set(low) <= set(scale):
            return [low[w] for w in scale if w in low]
    return None


def numeric_rating(stem: str, columns: list[Column]) -> str | None:
    """Why the numeric columns read as an ordinal rating scale (a short whole-number scale from 0 or
    1 and a rating word in the name, e.g. rankin_90 0-6, pgic 1-7, symptom_score 0-4), else None."""
    word = next((w for w in name_words(stem) if ORDINAL_NAME.match(w)), None)
    if word is None or not columns or not all(c.numeric for c in columns):
        return None
    values = np.concatenate([c.values for c in columns])
    seen = values[~np.isnan(values)]
    if not seen.size or not np.all(seen == np.round(seen)):
        return None
    lo, hi, k = int(seen.min()), int(seen.max()), np.unique(seen).size
    if lo not in (0, 1) or hi - lo + 1 > ORDINAL_MAX_LEVELS or k < 3:
        return None
    return (f"ordinal outcome: whole numbers {lo}-{hi} ({k} values seen) and '{word}' in the name read as an ordered rating "
            "scale (proportional odds); CONFIRM, or set type: continuous to analyse it as a score")


def outcome_type(stem: str, columns: list[Column], notes: list[str]) -> Outcome | None:
    levels = sort_levels({lv for c in columns for lv in c.levels})
    name = identifier(stem, "outcome")
    if (rating := numeric_rating(stem, columns)) is not None:
        return Outcome(name, "ordinal", [], levels=sorted(levels, key=float), notes=[*notes, rating])
    if not all(c.numeric for c in columns) and (ordered := ordered_levels(levels)) is not None:
        return Outcome(name, "ordinal", [], levels=ordered, notes=[*notes, "ordinal outcome: its levels read as a rating scale"])
    if all(c.numeric for c in columns) and len(levels) > 2:
        values = np.concatenate([c.values for c in columns])
        seen = values[~np.isnan(values)]
        if (seen.size and np.all(seen == np.round(seen)) and seen.min() >= 0 and np.mean(seen == 0) >= COUNT_ZEROS
                and seen.max() >= COUNT_MAX and seen.max() > COUNT_SKEW * np.median(seen)):
            return Outcome(name, "count", [], notes=[*notes, f"count outcome: whole numbers from 0, {np.mean(seen == 0):.0%} zeros"])
    if len(levels) == 2:
        event = next((lv for lv in levels if lv.lower() in _EVENT_WORDS), None)
        if event is None:
            # HSAUR3::toenail: 'moderate or severe' vs 'none or mild': the bad level is the event
            bad = [lv for lv in levels if not set(name_words(lv)) & _NEGATION and any(_BAD_EVENT.match(w) for w in name_words(lv))]
            event = bad[0] if len(bad) == 1 else levels[1]
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
    if o.type == "ordinal" and o.levels:
        hit = next((h for h in (_good(t, _GOOD_EVENT) for t in o.levels[-1:]) if h), None)
        if hit or o.levels[-1].lower() in ("excellent", "always", "much better", "strongly agree", "better"):
            o.better, o.better_note = "higher", f"the highest category {o.levels[-1]!r} looks like the best result"
            return
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
