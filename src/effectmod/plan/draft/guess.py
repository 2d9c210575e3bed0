"""`effectmod init`: inspect a data file and draft a commented analysis plan.

Every guess (id, arms, wide or long layout, outcomes and their follow-ups, moderator types,
ranges) is written into the draft and marked ``# CONFIRM:`` so the user reviews it; what cannot be
guessed is a ``TODO``. The text is built line by line, not dumped, so that the comments survive;
data labels are always quoted so YAML never turns "No" into false or "1" into a number.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ...data.load import read_data
from ...data.values import keys_of, missing_tokens_kept, numeric_column, sort_levels, value_key

# Column names that usually hold the participant id, the arm, or the assessment time.
_ID_NAME = re.compile(r"(^|[_.\s-])(id|pid|subject|subj|participant|patient|record|case|study_?id|person)([_.\s-]|$)|^id|id$", re.I)
_ARM_NAME = re.compile(r"group|arm|treat|trt|alloc|randomi[sz]|intervention|condition|assign|^rx$|^tx$", re.I)
_TIME_NAME = re.compile(r"^(week|weeks|wk|time|timepoint|time_point|visit|visit_?no|month|months|day|days|wave|occasion|session|period|year)$", re.I)
_CONTROL_WORDS = {"control", "cont", "ctrl", "waiting", "sham", "placebo", "usual", "tau", "waitlist", "wait", "wl", "obs", "observation",
                  "standard", "soc", "cau", "uc", "attention", "minimal", "none"}
_EVENT_WORDS = {"yes", "y", "true", "1", "event", "good", "improved", "success", "responder", "response", "present",
                "positive", "pos", "case", "dead", "died", "death", "relapse", "remission", "recovered"}
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
_BASE_WORDS = {"baseline", "base", "bl", "pre", "pretest", "screening"}
_PREFIXES = {"": 1.0, "t": 1.0, "time": 1.0, "v": 1.0, "visit": 1.0, "wave": 1.0, "fu": 1.0, "f": 1.0,
             "d": 1.0, "day": 1.0, "w": 7.0, "wk": 7.0, "week": 7.0, "m": 30.44, "mo": 30.44, "month": 30.44,
             "y": 365.25, "yr": 365.25, "year": 365.25}
_POSTFIXES = {"": None, "d": 1.0, "day": 1.0, "days": 1.0, "w": 7.0, "wk": 7.0, "wks": 7.0, "week": 7.0, "weeks": 7.0,
              "m": 30.44, "mo": 30.44, "mos": 30.44, "mth": 30.44, "month": 30.44, "months": 30.44,
              "y": 365.25, "yr": 365.25, "years": 365.25}
_ORDINAL_PREFIXES = {"t", "time", "v", "visit", "wave"}
# Text cells that stand for "missing" in exported files and would otherwise make a number column text.
_MISSING_TOKENS = {".", "-", "?", "*", "missing", "unknown", "nk", "n.k.", "dk", "n.a.", "#n/a", "#null!"}
_MAX_CATEGORIES = 10
# Columns that usually hold a stratification factor or centre: adjusted for, not a candidate moderator.
_STRATUM_NAME = re.compile(r"^(site|sites|centre|center|centre_?id|center_?id|site_?id|stratum|strata|stratification|"
                           r"clinic|hospital|practice|region|country|location|cohort|block)$", re.I)
# Time-to-event pairs (a follow-up time and an event indicator, matched by a shared prefix such as
# os_time/os_status) and count outcomes (whole numbers from 0): not analysed by this version.
_TTE_TIME_ALONE = {"time", "futime", "survtime", "stime", "ttime", "dtime", "days", "followup", "fu_time",
                   "follow_up_time", "survival_time", "time_to_event", "event_time"}
_TTE_TIME = re.compile(r"^(?P<pre>[a-z0-9]+?)[._\s-]?(time|futime|days)$|^(?P<gen>(time|days|months|weeks)_?to_?[a-z_]*)$")
_TTE_EVENT_ALONE = {"status", "event", "died", "death", "dead", "deceased", "censor", "censored", "cens", "fail",
                    "failure", "delta"}
_TTE_EVENT = re.compile(r"^(?P<pre>[a-z0-9]+?)[._\s-]?(status|event|cens|censor|censored|died|death|dead)$")
_COUNT_WORD = re.compile(r"^(seizures?|exacerbations?|falls?|counts?|episodes?|attacks?|admissions?|readmissions?|"
                         r"hospitali[sz]ations?|relapses|migraines)$")
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
_HISTORY_WORDS = {"prior", "previous", "history", "hx", "past", "baseline", "pre", "ever", "lifetime", "before"}
_NEGATION = {"no", "not", "non", "un", "without", "poor", "bad", "worse", "failure", "failed"}
# Single columns that, when no repeated measure is recognised, are probably the outcome.
_OUTCOME_NAME = re.compile(r"^(status|outcome|event|death|died|dead|response|responder|relapse|recurrence|remission|y)$|outcome", re.I)


@dataclass
class _Column:
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


@dataclass
class _Outcome:
    name: str
    type: str
    columns: list[str]                       # wide: baseline (if any) then follow-ups; long: [column]
    baseline: str | None = None              # wide: column; long: time value
    followups: dict[str, str] = field(default_factory=dict)
    column: str | None = None
    event: str | None = None
    levels: list[str] = field(default_factory=list)
    range: tuple[float, float] | None = None
    notes: list[str] = field(default_factory=list)
    label: str | None = None                 # from the file's variable labels (SPSS/Stata)
    better: str = "lower"
    better_note: str = ""


@dataclass
class _Moderator:
    name: str
    column: str
    type: str
    levels: list[str]
    n_missing: int
    note: str = ""


@dataclass
class _Draft:
    source: str
    rows: int
    id: str | None = None
    id_note: str = ""
    time: str | None = None
    time_levels: list[str] = field(default_factory=list)
    arm: str | None = None
    treated: str | None = None
    control: str | None = None
    arm_note: str = ""
    sheet: str | None = None
    missing_codes: list[str] = field(default_factory=list)
    outcomes: list[_Outcome] = field(default_factory=list)
    moderators: list[_Moderator] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    covariates: list[tuple[str, list[str]]] = field(default_factory=list)   # (column, levels): numeric codes
    labels: dict[str, str] = field(default_factory=dict)     # variable labels of an SPSS/Stata file
    later: set[str] = field(default_factory=set)             # columns named as measured after baseline
    unsupported: list[str] = field(default_factory=list)     # outcomes of a type this version cannot analyse


def draft_plan(data_path: str | Path) -> str:
    """Read a data file and return a commented YAML draft plan for it (see ``draft_with_notes``)."""
    return draft_with_notes(data_path)[0]


def variable_labels(path: Path) -> dict[str, str]:
    """The variable labels of an SPSS or Stata file (column -> label); empty for other files."""
    suffix = path.suffix.lower()
    if suffix not in (".sav", ".zsav", ".dta"):
        return {}
    import pyreadstat
    reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
    try:
        _, meta = reader(str(path), metadataonly=True)
    except Exception:     # labels are a convenience: a file read_data could read is drafted without them
        return {}
    return {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}


def draft_with_notes(data_path: str | Path) -> tuple[str, list[str]]:
    """Read a data file and return a commented YAML draft plan for it, and the notices the user
    must see (outcomes of a type this version does not analyse).

    Guesses the participant id, the arm column and which arm is the control, wide or long
    layout, outcomes with their baseline and follow-up columns (from names such as ``pain_0``,
    ``pain_18``, ``bdi.pre``, ``bdi.2m``, ``pain_w18``), outcome types and observed ranges, and
    moderator candidates with their types and reference levels. Every guess carries a
    ``# CONFIRM:`` comment and every placeholder a ``TODO``. When the guesses are complete the
    draft validates against the same data (``effectmod validate DATA --plan DRAFT``).
    """
    path = Path(data_path)
    frame = read_data(path)
    draft = guess_plan(frame, source=path.name, labels=variable_labels(path))
    if path.suffix.lower() in (".xlsx", ".xls"):
        draft.sheet = pd.ExcelFile(path).sheet_names[0]
    return render_draft(draft), list(draft.unsupported)


def guess_plan(frame: pd.DataFrame, source: str = "data", labels: dict[str, str] | None = None) -> _Draft:
    """The guesses behind a draft plan, from a data frame (never modified); ``labels`` are the
    file's variable labels (column -> label), used as outcome and moderator labels."""
    draft = _Draft(source=source, rows=len(frame))
    draft.missing_codes = _missing_tokens(frame)
    dates = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c].dtype)]
    draft.skipped += [(c, "holds dates") for c in dates]
    cols = {c: _describe(frame[c], draft.missing_codes) for c in frame.columns if c not in dates}
    _guess_layout(cols, draft)
    _guess_arm(cols, draft)
    used = {c for c in (draft.id, draft.time, draft.arm) if c}
    if labels:
        draft.labels = {str(k): str(v) for k, v in labels.items() if v and str(v).strip()}
    if not draft.time:
        _time_to_event(cols, draft, used)
        _single_counts(cols, draft, used)
    if draft.time:
        _long_outcomes(cols, draft, used)
    else:
        _wide_outcomes(cols, draft, used)
    _moderators(cols, draft, used)
    for o in draft.outcomes:
        o.label = _outcome_label(o, draft.labels)
        _guess_better(o)
    return draft


# ----------------------------------------------------------------------------- columns
def _describe(series: pd.Series, missing: list[str]) -> _Column:
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
    return _Column(str(series.name), keys, levels, numeric and bool(levels), values)


def _missing_tokens(frame: pd.DataFrame) -> list[str]:
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


# ----------------------------------------------------------------------------- id, time, arm
def _guess_layout(cols: dict[str, _Column], draft: _Draft) -> None:
    n = draft.rows
    for c in cols.values():
        few = 2 <= len(c.levels) <= 20 and len(c.levels) < n / 2
        if not (_TIME_NAME.match(c.name) and few and c.n_missing == 0):
            continue
        ids = [o for o in cols.values() if o is not c and o.n_missing == 0 and len(o.levels) < n
               and len(set(zip(o.keys, c.keys))) == n]
        if ids:
            best = max(ids, key=lambda o: (bool(_ID_NAME.search(o.name)), -list(cols).index(o.name)))
            draft.time, draft.time_levels, draft.id = c.name, c.levels, best.name
            draft.id_note = f"one row per participant and {c.name}; {len(best.levels)} participants"
            return
    unique = [c for c in cols.values() if c.n_missing == 0 and len(c.levels) == n]
    if unique:
        def score(c):
            integer = c.numeric and bool(np.all(np.mod(c.values, 1) == 0))
            return (bool(_ID_NAME.search(c.name)), not c.numeric or integer, -list(cols).index(c.name))
        best = max(unique, key=score)
        draft.id = best.name
        draft.id_note = f"unique on every one of the {n} rows"


def _is_control(level: str) -> bool:
    tokens = set(re.split(r"[^a-z0-9]+", level.lower())) - {""}
    return bool(tokens & _CONTROL_WORDS)


def _guess_arm(cols: dict[str, _Column], draft: _Draft) -> None:
    skip = {draft.id, draft.time}
    cands = [c for c in cols.values() if c.name not in skip and 2 <= len(c.levels) <= 4]
    named = [c for c in cands if _ARM_NAME.search(c.name)]
    by_value = [c for c in cands if any(_is_control(lv) for lv in c.levels)]
    pool = named or by_value
    if not pool:
        return
    best = min(pool, key=lambda c: (len(c.levels) != 2, not any(_is_control(lv) for lv in c.levels),
                                    list(cols).index(c.name)))
    draft.arm = best.name
    levels = best.levels
    controls = [lv for lv in levels if _is_control(lv)]
    if set(levels) == {"0", "1"}:
        draft.control, draft.treated = "0", "1"
        note = "coded 0/1; 1 taken as the intervention"
    elif controls:
        draft.control = controls[0]
        draft.treated = next(lv for lv in levels if lv != draft.control)
        note = f"'{draft.control}' looks like the control arm"
    else:
        draft.control, draft.treated = levels[0], levels[1]
        note = "could not tell which arm is the intervention; swap treated and control if needed"
    others = [lv for lv in levels if lv not in (draft.treated, draft.control)]
    if others:
        note += f"; arms {', '.join(repr(o) for o in others)} will be excluded (counted in the data flow)"
    draft.arm_note = note


# ----------------------------------------------------------------------------- unsupported outcome types
_NOT_SUPPORTED = "are not supported by this version of effectmod (it analyses continuous and binary outcomes)"


def _time_to_event(cols: dict[str, _Column], draft: _Draft, used: set[str]) -> None:
    """Pairs of a follow-up time and an event indicator (time + status, os_time + os_status,
    days + died): named in the draft as not supported, neither drafted nor offered as moderators."""
    def time_key(c: _Column) -> str | None:
        n = c.name.lower()
        if not (c.numeric and len(c.levels) > 2 and np.nanmin(c.values) >= 0):
            return None
        if n in _TTE_TIME_ALONE:
            return ""
        m = _TTE_TIME.match(n)
        return None if m is None else ("" if m["gen"] else m["pre"])

    def event_key(c: _Column) -> str | None:
        n = c.name.lower()
        if len(c.levels) != 2:
            return None
        if n in _TTE_EVENT_ALONE:
            return ""
        m = _TTE_EVENT.match(n)
        return m["pre"] if m else None

    free = [c for name, c in cols.items() if name not in used]
    events = [(event_key(c), c.name) for c in free]
    for c in free:
        key = time_key(c)
        if key is None or c.name in used:
            continue
        event = next((e for k, e in events if k == key and e not in used and e != c.name), None)
        if event is None:
            continue
        used.update((c.name, event))
        draft.unsupported.append(f"time-to-event outcome (time: {c.name}, event: {event}): time-to-event outcomes "
                                 f"{_NOT_SUPPORTED}; it is not drafted as an outcome and its columns are not offered "
                                 "as moderators")
        draft.skipped += [(c.name, "follow-up time of a time-to-event outcome (not supported by this version)"),
                          (event, "event indicator of a time-to-event outcome (not supported by this version)")]


def _count_like(name: str, columns: list[_Column]) -> str | None:
    """A note when the name says count (seizures, falls, exacerbations, episodes, count) and every
    value is a whole number from 0 with more than two values; else None."""
    if not any(_COUNT_WORD.match(w) for w in _words(name)):
        return None
    values = np.concatenate([c.values for c in columns])
    values = values[~np.isnan(values)]
    if not all(c.numeric for c in columns) or values.size == 0 or len(np.unique(values)) <= 2:
        return None
    if values.min() < 0 or np.any(np.mod(values, 1) != 0):
        return None
    return f"whole numbers from 0, {np.mean(values == 0):.0%} zeros"


def _count_note(columns: list[str], why: str) -> str:
    return (f"count outcome ({', '.join(columns)}; {why}): count outcomes {_NOT_SUPPORTED}; it is not drafted "
            "as a continuous or binary outcome")


def _single_counts(cols: dict[str, _Column], draft: _Draft, used: set[str]) -> None:
    """Count-like columns with no time in their name (seizures, n_falls): probably the outcome,
    unless the name says it is history before randomisation (prior_falls: a moderator)."""
    for name, c in cols.items():
        if name in used or _timed_name(name) is not None or set(_words(name)) & _HISTORY_WORDS:
            continue
        why = _count_like(name, [c])
        if why:
            used.add(name)
            draft.unsupported.append(_count_note([name], why))
            draft.skipped.append((name, "looks like a count outcome (not supported by this version)"))


# ----------------------------------------------------------------------------- outcomes
def _time_of(suffix: str) -> tuple[float, str] | None:
    """(order, label) of a column-name suffix; order 0 and label '' mean baseline."""
    s = suffix.lower()
    if s in _BASE_WORDS:
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


def _timed_name(name: str) -> tuple[str, float, str, str, bool] | None:
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
    return bool(m) and bool(m["pre"] or m["post"]) and float(m["num"]) > 0


def _wide_outcomes(cols: dict[str, _Column], draft: _Draft, used: set[str]) -> None:
    groups: dict[str, list[tuple[float, str, str, str]]] = {}
    stems: dict[str, str] = {}
    for name in cols:
        if name in used:
            continue
        parsed = _timed_name(name)
        if parsed is not None:
            stem, order, label, prefix, alone_later = parsed
            key = stem.lower()
            stems.setdefault(key, stem)
            groups.setdefault(key, []).append((order, label, name, prefix))
            if alone_later:
                draft.later.add(name)
    for key, items in groups.items():
        stem = stems[key]
        if len(items) >= 2:
            draft.later.update(it[2] for it in items if it[1])
        if len(items) < 2:
            continue
        items.sort(key=lambda it: it[0])
        base = [it for it in items if it[1] == ""]
        follow = [it for it in items if it[1] != ""]
        notes = []
        if not base and items[0][3] in _ORDINAL_PREFIXES and len(follow) >= 2:
            base, follow = [items[0]], items[1:]
            notes.append(f"'{items[0][2]}' (the first assessment) taken as the baseline")
        if not follow:
            continue
        labels: dict[str, str] = {}
        for _, label, col, _ in follow:
            labels[label if label not in labels else col] = col
        if len(base) > 1:
            notes.append(f"several baseline columns ({', '.join(b[2] for b in base)}); the first is used")
        columns = ([base[0][2]] if base else []) + list(labels.values())
        why = _count_like(stem, [cols[c] for c in columns])
        if why:
            draft.unsupported.append(_count_note(columns, why))
            draft.skipped += [(c, "follow-up of a count outcome (not supported by this version)") for c in labels.values()]
            used.update(labels.values())
            continue
        outcome = _outcome_type(stem, [cols[c] for c in columns], notes)
        if outcome is None:
            draft.skipped += [(c, "looks like a repeated measure but holds text, not numbers or two levels") for c in columns]
            used.update(labels.values())
            continue
        outcome.baseline = base[0][2] if base else None
        outcome.followups = labels
        outcome.columns = columns
        draft.outcomes.append(outcome)
        used.update(labels.values())
    if not draft.outcomes:
        _single_outcomes(cols, draft, used)


def _single_outcomes(cols: dict[str, _Column], draft: _Draft, used: set[str]) -> None:
    """Outcome-like names (status, outcome, response, ...) as outcomes with one follow-up."""
    for name, c in cols.items():
        if name in used or not _OUTCOME_NAME.search(name):
            continue
        outcome = _outcome_type(name, [c], [f"'{name}' guessed as an outcome from its name; no baseline recognised"])
        if outcome is None:
            continue
        outcome.followups = {"end": name}
        outcome.columns = [name]
        draft.outcomes.append(outcome)
        used.add(name)


def _long_outcomes(cols: dict[str, _Column], draft: _Draft, used: set[str]) -> None:
    ids, times = cols[draft.id].keys, cols[draft.time]
    base_time = next((lv for lv in times.levels if lv.lower() in _BASE_WORDS or lv.lower() in ("0", "week 0", "t0")),
                     times.levels[0])
    for name, c in cols.items():
        if name in used or not _varies_within(c.keys, ids):
            continue
        notes = []
        used.add(name)
        why = _count_like(name, [c])
        if why:
            draft.unsupported.append(_count_note([name], why))
            draft.skipped.append((name, "a count outcome (not supported by this version)"))
            continue
        outcome = _outcome_type(name, [c], notes)
        if outcome is None:
            draft.skipped.append((name, "varies over time but holds text, not numbers or two levels"))
            continue
        outcome.column = name
        outcome.columns = [name]
        outcome.baseline = base_time
        draft.outcomes.append(outcome)


def _varies_within(keys: np.ndarray, ids: np.ndarray) -> bool:
    first: dict = {}
    for i, k in zip(ids, keys):
        if k is None:
            continue
        if first.setdefault(i, k) != k:
            return True
    return False


def _outcome_type(stem: str, columns: list[_Column], notes: list[str]) -> _Outcome | None:
    levels = sort_levels({lv for c in columns for lv in c.levels})
    name = _identifier(stem, "outcome")
    if len(levels) == 2:
        event = next((lv for lv in levels if lv.lower() in _EVENT_WORDS), levels[1])
        return _Outcome(name, "binary", [], event=event, levels=levels, notes=notes)
    if all(c.numeric for c in columns) and len(levels) > 2:
        values = np.concatenate([c.values for c in columns])
        lo, hi = math.floor(np.nanmin(values)), math.ceil(np.nanmax(values))
        return _Outcome(name, "continuous", [], range=(lo, hi if hi > lo else lo + 1), notes=notes)
    return None


def _words(text: str) -> list[str]:
    """Lower-case words of a name or label: 'BDI_2m', 'goodStatus', 'Quality of life' -> words."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text))
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def _good(text: str, pattern: re.Pattern) -> str | None:
    """The word of ``text`` that marks a good result, unless the text is negated ('no response')."""
    words = _words(text)
    if any(w in _NEGATION for w in words):
        return None
    return next((w for w in words if pattern.match(w)), None)


def _guess_better(o: _Outcome) -> None:
    """Which direction of the outcome is better for participants, with the reason, for `better:`."""
    names = [o.name] + ([o.label] if o.label else [])
    if o.type == "binary":
        hit = _good(o.event, _GOOD_EVENT)
        if hit:
            o.better, o.better_note = "higher", f"the event {o.event!r} looks like a good result"
            return
        if any(_BAD_EVENT.match(w) for w in _words(o.event)):
            o.better, o.better_note = "lower", f"the event {o.event!r} looks like a bad result"
            return
        hit = next((h for h in (_good(t, _GOOD_EVENT) for t in names) if h), None)
        if hit:
            o.better, o.better_note = "higher", f"'{hit}' in the outcome's name or label suggests the event is good"
            return
        o.better, o.better_note = "lower", f"the event {o.event!r} taken as a bad result (e.g. relapse, adverse event)"
        return
    hit = next((h for h in (_good(t, _HIGHER_BETTER) for t in names) if h), None)
    if hit and not any(_WORSE_WHEN_HIGHER.match(w) for t in names for w in _words(t)):
        o.better, o.better_note = "higher", f"'{hit}' suggests a score that rises as participants do better (quality of life, function)"
    else:
        o.better, o.better_note = "lower", "taken as a symptom score where lower is better, like pain, depression or disability"


# ----------------------------------------------------------------------------- moderators
def _moderators(cols: dict[str, _Column], draft: _Draft, used: set[str]) -> None:
    long_ids = cols[draft.id].keys if draft.time else None
    names: set[str] = {o.name for o in draft.outcomes}
    baselines = {o.baseline for o in draft.outcomes if not draft.time}
    for name, c in cols.items():
        if name in used:
            continue
        if name in draft.later and name not in baselines:
            draft.skipped.append((name, "its name says it was measured after baseline, so it cannot be a moderator"))
            continue
        k = len(c.levels)
        if k < 2:
            draft.skipped.append((name, "has one value only" if k else "is empty"))
            continue
        if long_ids is not None and _varies_within(c.keys, long_ids):
            draft.skipped.append((name, "varies within a participant"))
            continue
        note = ""
        if _STRATUM_NAME.match(name.strip()) and c.numeric and 2 < k <= 12 and c.levels_are_integers():
            draft.covariates.append((name, c.levels))
            continue
        if k == 2:
            kind = "binary"
        elif c.numeric and k > 5:
            kind = "continuous"
        elif c.numeric:
            kind, note = "categorical", f"{k} numeric codes: categorical guessed; use continuous if they are an ordered score"
        elif k <= _MAX_CATEGORIES:
            kind = "categorical"
        else:
            reason = "a different text on almost every row" if k > 0.5 * draft.rows else f"{k} text levels (too many for a categorical moderator)"
            draft.skipped.append((name, reason))
            continue
        mod_name = _identifier(name, "moderator")
        while mod_name in names:
            mod_name += "_mod"
        names.add(mod_name)
        draft.moderators.append(_Moderator(mod_name, name, kind, c.levels, c.n_missing, note))


def _outcome_label(o: _Outcome, labels: dict[str, str]) -> str | None:
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


def _identifier(text: str, fallback: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", text.strip()).strip("_")
    if not name or not re.match(r"[A-Za-z_]", name):
        name = f"{fallback}_{name}" if name else fallback
    return name


# ----------------------------------------------------------------------------- YAML text
def _q(value) -> str:
    """A data label as a double-quoted YAML string: never read back as a boolean or number."""
    return json.dumps(str(value), ensure_ascii=False)


def _name(text: str) -> str:
    """A column or plan name: plain when YAML reads it back as the same string, else quoted."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", text) and yaml.safe_load(text) == text:
        return text
    return _q(text)


def _levels_text(levels: list[str], limit: int = 6) -> str:
    shown = ", ".join(_q(lv) for lv in levels[:limit])
    return shown + (f" and {len(levels) - limit} more" if len(levels) > limit else "")


def render_draft(d: _Draft) -> str:
    """The commented YAML text of a draft plan."""
    out = [
        f"# effectmod analysis plan: a DRAFT written by `effectmod init` from {d.source} ({d.rows} rows).",
        "# Every guess is marked CONFIRM and every placeholder TODO: check each one against the trial's",
        "# protocol and statistical analysis plan, delete what does not belong, then run",
        f"#   effectmod validate {d.source} --plan THIS_FILE",
        "# Unknown keys are errors; the full list of keys is in docs/plan-reference.md.",
        "",
        f"title: {_q('Treatment effect modifiers: ' + Path(d.source).stem)}   # TODO: free text shown in the report",
        "",
        "data:",
    ]
    if d.id:
        out.append(f"  id: {_name(d.id)}   # CONFIRM: participant id column ({d.id_note})")
    else:
        out.append("  id: TODO_id_column   # TODO: the participant id column (no column is unique on every row)")
    if d.arm:
        out.append(f"  treatment: {_name(d.arm)}   # CONFIRM: column holding the randomised arm")
        out.append(f"  treated: {_q(d.treated)}   # CONFIRM: the intervention arm's value ({d.arm_note})")
        out.append(f"  control: {_q(d.control)}   # CONFIRM: the control arm's value")
    else:
        out += ["  treatment: TODO_arm_column   # TODO: the column holding the randomised arm (none found by name or value)",
                "  treated: TODO   # TODO: the value that marks the intervention arm",
                "  control: TODO   # TODO: the value that marks the control arm"]
    if d.time:
        out.append(f"  time: {_name(d.time)}   # CONFIRM: long format (one row per visit); times found: {_levels_text(d.time_levels)}")
    else:
        out.append("  # time: only for long data (one row per participant and visit): the column holding the time")
    if d.sheet is not None:
        out.append(f"  sheet: {_q(d.sheet)}   # Excel: the sheet to read (name or 0-based index)")
    if d.missing_codes:
        out.append(f"  missing_codes: [{', '.join(_q(m) for m in d.missing_codes)}]   "
                   "# CONFIRM: cells with these values are read as missing in every column")
    else:
        out.append("  missing_codes: []   # values that mean 'missing' in every column, e.g. [-99, \".\"]")
    out += ["", "# One entry per outcome. Continuous outcomes are analysed on their scale; binary ones by logistic",
            "# regression (event = the value that counts). range: values outside are reported as data errors.",
            "outcomes:"]
    for note in d.unsupported:
        out.append(f"# NOT SUPPORTED: {note}.")
    if not d.outcomes:
        out += ["  - name: TODO_outcome   # TODO: no repeated-measure columns recognised (names like pain_0, pain_18)",
                "    type: continuous",
                "    better: lower   # TODO: lower | higher: which direction of the outcome is better for participants",
                "    baseline: TODO_baseline_column   # TODO: or delete the line when there is no baseline",
                "    followups:   # follow-up label -> column, in time order",
                "      \"TODO\": TODO_followup_column"]
    for o in d.outcomes:
        out += _render_outcome(o, d)
    out += ["", "# Candidate moderators: every remaining column measured once per participant. Keep only the",
            "# pre-specified ones (baseline characteristics measured before randomisation); for each, state",
            "# the hypothesised direction and the rationale (the pre-specification record shown in the report).",
            "moderators:"]
    if d.time:
        out.append("# (Long data: to use an outcome's baseline as a moderator, add a column holding it on every row.)")
    if not d.moderators:
        out += ["  - name: TODO_moderator   # TODO: no candidate column found",
                "    column: TODO_column",
                "    type: continuous   # continuous | binary | categorical"]
    for m in d.moderators:
        out += _render_moderator(m, d.labels)
    if d.skipped:
        out += ["", "# Columns not used (add them back by hand if they belong in the plan):"]
        out += [f"#   {c}: {why}" for c, why in d.skipped]
    if d.covariates:
        out += ["", "covariates:   # CONFIRM: columns adjusted for in every model (add others, e.g. age)"]
        out += [f"  - {{column: {_name(c)}, type: categorical}}   # CONFIRM: {len(lv)} numeric codes ({_levels_text(lv)}): "
                f"one indicator per level but the first, not one linear term"
                for c, lv in d.covariates]
    else:
        out += ["", "covariates: []   # TODO: columns adjusted for in every model (e.g. stratification factors: [site, age])"]
    out += [
        "",
        "analysis:",
        "  model: linear   # linear: one regression per outcome and follow-up | mixed: one model over all follow-ups",
        "  sensitivity: []   # further model types run beside the main one, e.g. [mixed]",
        "  adjust_for_baseline: true   # include the outcome's baseline value as a covariate when it exists",
        "  ci_level: 0.95",
        "  evidence_threshold: 0.05   # p below this: 'evidence'",
        "  exploratory_threshold: 0.2   # p below this (and not evidence): 'hypothesis-generating'",
        "  se: classical   # classical | HC3 (sandwich variance for linear models)",
        "  multiplicity: none   # none | holm | fdr_bh (adjusted p reported beside the raw p)",
        "  bootstrap: 0   # bootstrap resamples for percentile CIs (0 = none)",
        "  permutations: 0   # Freedman-Lane permutations for a permutation p (0 = none)",
        "  imputations: 0   # multiple imputations (0 = complete cases per model)",
        "  binary_method: firth_if_separated   # ml | firth | firth_if_separated (logistic fits; see docs/methods.md)",
        "  seed: 2024   # seed of every random step",
    ]
    return "\n".join(out) + "\n"


def _render_outcome(o: _Outcome, d: _Draft) -> list[str]:
    label = (f"    label: {_q(o.label)}   # CONFIRM: from the file's variable labels; add the instrument's range" if o.label
             else f"    label: {_q(o.name)}   # TODO: display label with the instrument and its range, e.g. \"Pain (NRS 0-10)\"")
    lines = [f"  - name: {_name(o.name)}",
             label,
             f"    type: {o.type}   # CONFIRM: continuous | binary"]
    if o.type == "binary":
        lines.append(f"    event: {_q(o.event)}   # CONFIRM: the value that counts as the event (values: {_levels_text(o.levels)})")
    lines.append(f"    better: {o.better}   # CONFIRM: lower | higher: which direction is better for participants "
                 f"({o.better_note}); it decides 'benefit' and 'favours' in the report")
    if o.range is not None:
        lines.append(f"    range: [{value_key(o.range[0])}, {value_key(o.range[1])}]   # CONFIRM: observed min/max rounded outward; "
                     "replace with the instrument's range")
    if d.time:
        lines.append(f"    column: {_name(o.column)}")
        lines.append(f"    baseline: {_q(o.baseline)}   # CONFIRM: the baseline time value; "
                     f"every other {d.time} value is a follow-up")
    else:
        if o.baseline:
            lines.append(f"    baseline: {_name(o.baseline)}   # CONFIRM: baseline column")
        else:
            lines.append("    # baseline: no baseline column recognised; add one if it exists")
        lines.append("    followups:   # CONFIRM: follow-up label -> column, in time order")
        lines += [f"      {_q(label)}: {_name(col)}" for label, col in o.followups.items()]
    lines += [f"    # note: {n}" for n in o.notes]
    return lines


def _render_moderator(m: _Moderator, labels: dict[str, str]) -> list[str]:
    kind_note = {"continuous": "numbers with many values", "binary": f"two levels: {_levels_text(m.levels)}",
                 "categorical": f"{len(m.levels)} levels: {_levels_text(m.levels)}"}[m.type]
    if m.note:
        kind_note += f"; {m.note}"
    missing = f"; {m.n_missing} missing" if m.n_missing else ""
    lines = [f"  - name: {_name(m.name)}",
             f"    column: {_name(m.column)}",
             f"    type: {m.type}   # CONFIRM: {kind_note}{missing}",
             (f"    label: {_q(labels[m.column])}   # CONFIRM: from the file's variable labels" if m.column in labels
              else f"    label: {_q(m.column)}   # TODO: display label, e.g. \"Back perception (FreBAQ 0-36)\"")]
    if m.type != "continuous":
        lines.append(f"    reference: {_q(m.levels[0])}   # CONFIRM: the reference level (the first level)")
    lines += ["    hypothesised_direction: unspecified   # TODO: greater_benefit_when_higher | less_benefit_when_higher | unspecified",
              "    rationale: \"\"   # TODO: why this moderator was pre-specified"]
    return lines
