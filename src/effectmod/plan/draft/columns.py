"""Column recognition: what a column's name says (id, arm, time, stratum, time-to-event, counts,
assessment times in names such as ``pain_w18`` or ``bdi.pre``) and what its values are (``Column``)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...data.values import keys_of, missing_tokens_kept, numeric_column, sort_levels

# Column names that usually hold the participant id, the arm, or the assessment time.
ID_NAME = re.compile(r"(^|[_.\s-])(id|pid|subject|subj|participant|patient|record|case|study_?id|person)([_.\s-]|$)|^id|id$", re.I)
ARM_NAME = re.compile(r"group|arm|treat|trt|alloc|randomi[sz]|intervention|condition|assign|^rx$|^tx$", re.I)
TIME_NAME = re.compile(r"^(week|weeks|wk|time|timepoint|time_point|visit|visit_?no|month|months|day|days|wave|occasion|session|period|year)$", re.I)
_CONTROL_WORDS = {"control", "cont", "ctrl", "waiting", "sham", "placebo", "usual", "tau", "waitlist", "wait", "wl", "obs", "observation",
                  "standard", "soc", "cau", "uc", "attention", "minimal", "none"}
# Suffixes that name an assessment time: pain_0, pain_18, bdi.pre, bdi.2m, pain_w18, pain_m6, pain_bl.
_TIME_WORD = r"[A-Za-z]{0,6}\s?\d+(?:\.\d+)?\s?[A-Za-z]{0,7}|baseline|base|bl|pre|pretest|screening|post|posttest"
_SUFFIX = re.compile(rf"^(?P<stem>.+?)\s*[._\s-](?P<suf>{_TIME_WORD})$", re.I)
# Other ways of writing a time into a name, tried in order after _SUFFIX: run-together suffixes
# (bdi2m, bdiPre: a unit or a capitalised word, so that item numbers such as phq1..phq9 are not
# taken for times), prefixes (m2_bdi, w18_pain, baseline_bdi, pre_wt) and run-together pre/post
# prefixes (Prewt, Postwt; a lone one never makes a series, as a series needs two columns).
_RUN_SUFFIX = re.compile(r"^(?P<stem>[A-Za-z][A-Za-z_]*?[A-Za-z])(?P<suf>\d+(?:\.\d+)?(?:m|mo|mos|months?|w|wk|wks|weeks?|"
                         r"y|yr|years?|days)|Pre|Post|Baseline|Base|BL|PRE|POST)$")   # not 'd': eq5d is no time
_PREFIX = re.compile(rf"^(?P<suf>{_TIME_WORD})[._\s-]+(?P<stem>.+)$", re.I)
_RUN_PREFIX = re.compile(r"^(?P<suf>pre|post|Pre|Post|PRE|POST|Baseline|baseline)(?P<stem>[A-Za-z][A-Za-z0-9_]*)$")
_TIMED = re.compile(r"^(?P<pre>[a-z]*)(?P<num>\d+(?:\.\d+)?)(?P<post>[a-z]*)$")
BASE_WORDS = {"baseline", "base", "bl", "pre", "pretest", "screening"}
_PREFIXES = {"": 1.0, "t": 1.0, "time": 1.0, "v": 1.0, "visit": 1.0, "wave": 1.0, "fu": 1.0, "f": 1.0,
             "d": 1.0, "day": 1.0, "w": 7.0, "wk": 7.0, "week": 7.0, "m": 30.44, "mo": 30.44, "month": 30.44,
             "y": 365.25, "yr": 365.25, "year": 365.25}
_POSTFIXES = {"": None, "d": 1.0, "day": 1.0, "days": 1.0, "w": 7.0, "wk": 7.0, "wks": 7.0, "week": 7.0, "weeks": 7.0,
              "m": 30.44, "mo": 30.44, "mos": 30.44, "mth": 30.44, "month": 30.44, "months": 30.44,
              "y": 365.25, "yr": 365.25, "years": 365.25}
ORDINAL_PREFIXES = {"t", "time", "v", "visit", "wave"}
# Text cells that stand for "missing" in exported files and would otherwise make a number column text.
_MISSING_TOKENS = {".", "-", "?", "*", "missing", "unknown", "nk", "n.k.", "dk", "n.a.", "#n/a", "#null!"}
MAX_CATEGORIES = 10
# Columns that usually hold a stratification factor or centre: adjusted for, not a candidate moderator.
STRATUM_NAME = re.compile(r"^(site|sites|centre|center|centre_?id|center_?id|site_?id|stratum|strata|stratification|"
                          r"clinic|hospital|practice|region|country|location|cohort|block)$", re.I)
# Time-to-event pairs (a follow-up time and an event indicator, matched by a shared prefix such as
# os_time/os_status) and count outcomes (whole numbers from 0): not analysed by this version.
TTE_TIME_ALONE = {"time", "futime", "survtime", "stime", "ttime", "dtime", "days", "followup", "fu_time",
                  "follow_up_time", "survival_time", "time_to_event", "event_time",
                  "tstop", "stop", "stoptime", "stop_time"}   # counting-process stop time (survival::cgd, Surv(tstart, tstop, status))
TTE_TIME = re.compile(r"^(?P<pre>[a-z0-9]+?)[._\s-]?(time|futime|days)$|^(?P<gen>(time|days|months|weeks)_?to_?[a-z_]*)$")
TTE_EVENT_ALONE = {"status", "event", "died", "death", "dead", "deceased", "censor", "censored", "cens", "fail",
                   "failure", "delta", "infect", "infection"}   # survival::rhDNase: futime + infect
TTE_EVENT = re.compile(r"^(?P<pre>[a-z0-9]+?)[._\s-]?(status|event|cens|censor|censored|died|death|dead)$")
_COUNT_WORD = re.compile(r"^(seizures?|exacerbations?|falls?|counts?|episodes?|attacks?|admissions?|readmissions?|"
                         r"hospitali[sz]ations?|relapses|migraines)$")
HISTORY_WORDS = {"prior", "previous", "history", "hx", "past", "baseline", "pre", "ever", "lifetime", "before"}
# Single columns that, when no repeated measure is recognised, are probably the outcome.
OUTCOME_NAME = re.compile(r"^(status|outcome|event|death|died|dead|response|responder|relapse|recurrence|remission|y)$|outcome", re.I)


@dataclass
class Column:
    name: str
    keys: np.ndarray          # value_key of every cell (None = missing)
    levels: list[str]         # distinct non-missing keys in plan order
    numeric: bool             # every non-missing cell is a number
    values: np.ndarray        # the numbers (NaN where missing or text)

    @property
    def n_missing(self) -> int:
        return int(sum(k is None for k in self.keys))

    def levels_are_integers(self) -> bool:
        seen = self.values[~np.isnan(self.values)]
        return bool(seen.size) and bool(np.all(seen == np.round(seen)))


def describe(series: pd.Series, missing: list[str]) -> Column:
    keys = keys_of(series)
    if missing:
        keys = np.array([None if k in missing else k for k in keys], dtype=object)
    values = np.full(len(keys), np.nan)
    numeric = True
    for i, k in enumerate(keys):
        if k is None:
            continue
        try:
            values[i] = float(k)
        except ValueError:
            numeric = False
    if not numeric:
        values[:] = np.nan
    levels = sort_levels({k for k in keys if k is not None})
    return Column(str(series.name), keys, levels, numeric and bool(levels), values)


def missing_tokens(frame: pd.DataFrame) -> list[str]:
    """Tokens such as '.' that make an otherwise numeric column text (Stata/SAS exports)."""
    found: set[str] = set()
    for c in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[c].dtype) or pd.api.types.is_bool_dtype(frame[c].dtype):
            continue
        _, bad, _ = numeric_column(frame[c])
        tokens = {t.lower() for _, t in bad}
        if bad and tokens <= _MISSING_TOKENS and len(bad) < 0.5 * len(frame):
            found |= {t for _, t in bad}
        # 'NA', 'None' and the like are levels in a text column unless declared (R writes NA for missing text)
        found |= set(missing_tokens_kept(keys_of(frame[c])))
    return sorted(found)


def is_control(level: str) -> bool:
    tokens = set(re.split(r"[^a-z0-9]+", level.lower())) - {""}
    return bool(tokens & _CONTROL_WORDS)


def count_like(name: str, columns: list[Column]) -> str | None:
    """A note when the name says count (seizures, falls, exacerbations, episodes, count) and every
    value is a whole number from 0 with more than two values; else None."""
    if not any(_COUNT_WORD.match(w) for w in name_words(name)):
        return None
    values = np.concatenate([c.values for c in columns])
    values = values[~np.isnan(values)]
    if not all(c.numeric for c in columns) or values.size == 0 or len(np.unique(values)) <= 2:
        return None
    if values.min() < 0 or np.any(np.mod(values, 1) != 0):
        return None
    return f"whole numbers from 0, {np.mean(values == 0):.0%} zeros"


def _time_of(suffix: str) -> tuple[float, str] | None:
    """(order, label) of a column-name suffix; order 0 and label '' mean baseline."""
    s = suffix.lower()
    if s in BASE_WORDS:
        return 0.0, ""
    if s in ("post", "posttest"):
        return math.inf, "post"
    m = _TIMED.match(s)
    if not m or m["pre"] not in _PREFIXES or m["post"] not in _POSTFIXES:
        return None
    if m["pre"] and m["post"]:
        return None
    number = float(m["num"])
    scale = _POSTFIXES[m["post"]] or _PREFIXES[m["pre"]]
    label = str(int(number)) if number.is_integer() else m["num"]
    return number * scale, ("" if number == 0 else label)


def timed_name(name: str) -> tuple[str, float, str, str, bool] | None:
    """(stem, order, label, time prefix, alone_later) of a column name that carries an assessment
    time, or None. Label '' means baseline; alone_later: the name by itself says it was measured
    after baseline (see ``_explicitly_later``)."""
    for pattern in (_SUFFIX, _RUN_SUFFIX, _PREFIX, _RUN_PREFIX):
        m = pattern.match(name)
        if not m:
            continue
        suf = re.sub(r"\s+", "", m["suf"])
        t = _time_of(suf)
        stem = m["stem"].strip(" ._-")
        if t is not None and stem:
            pre = _TIMED.match(suf.lower())
            return stem, t[0], t[1], pre["pre"] if pre else "", bool(t[1]) and _explicitly_later(suf, pattern)
    return None


def _explicitly_later(suffix: str, pattern: re.Pattern) -> bool:
    """A time after baseline named in units (6m, w18, 2months, t2) or as a trailing post (wt_post),
    not a bare number (age_65 is not a time) nor a leading post (post_menopausal, Posture)."""
    s = suffix.lower()
    if s in ("post", "posttest"):
        return pattern is _SUFFIX
    m = _TIMED.match(s)
    return m is not None and bool(m["pre"] or m["post"]) and float(m["num"]) > 0


def varies_within(keys: np.ndarray, ids: np.ndarray) -> bool:
    first: dict = {}
    for i, k in zip(ids, keys):
        if k is None:
            continue
        if first.setdefault(i, k) != k:
            return True
    return False


def name_words(text: str) -> list[str]:
    """Lower-case words of a name or label: 'BDI_2m', 'goodStatus', 'Quality of life' -> words."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text))
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def identifier(text: str, fallback: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", text.strip()).strip("_")
    if not name or not re.match(r"[A-Za-z_]", name):
        name = f"{fallback}_{name}" if name else fallback
    return name
