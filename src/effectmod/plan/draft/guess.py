"""`effectmod init`: inspect a data file and draft a commented analysis plan.

Every guess (id, arms, wide or long layout, outcomes and their follow-ups, moderator types,
ranges) is written into the draft and marked ``# CONFIRM:`` so the user reviews it; what cannot be
guessed is a ``TODO``. The text is built line by line, not dumped, so that the comments survive;
data labels are always quoted so YAML never turns "No" into false or "1" into a number.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ...data.load import read_data
from .clusters import guess_cluster
from .columns import (
    ARM_NAME,
    BASE_WORDS,
    HISTORY_WORDS,
    ID_NAME,
    MAX_CATEGORIES,
    ORDINAL_PREFIXES,
    OUTCOME_NAME,
    STRATUM_NAME,
    TIME_NAME,
    TTE_EVENT,
    TTE_EVENT_ALONE,
    TTE_TIME,
    TTE_TIME_ALONE,
    Column,
    count_like,
    describe,
    identifier,
    is_control,
    missing_tokens,
    name_words,
    timed_name,
    varies_within,
)
from .kinds import count_outcome, guess_better, numeric_rating, outcome_label, outcome_type
from .records import Draft, Moderator
from .render import render_draft
from .survival import survival_outcome
from .value_labels import attach_value_labels, file_metadata, value_labels


def draft_plan(data_path: str | Path) -> str:
    """Read a data file and return a commented YAML draft plan for it (see ``draft_with_notes``)."""
    return draft_with_notes(data_path)[0]


def variable_labels(path: Path) -> dict[str, str]:
    """The variable labels of an SPSS or Stata file (column -> label); empty for other files."""
    meta = file_metadata(path)
    return {k: v for k, v in (meta.column_names_to_labels or {}).items() if v} if meta is not None else {}


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
    attach_value_labels(draft, frame, value_labels(path))     # coded arms and levels named by the file
    if path.suffix.lower() in (".xlsx", ".xls"):
        draft.sheet = frame.attrs.get("sheet_name")     # the sheet read_data took (the first)
    return render_draft(draft), list(draft.unsupported)


def guess_plan(frame: pd.DataFrame, source: str = "data", labels: dict[str, str] | None = None) -> Draft:
    """The guesses behind a draft plan, from a data frame (never modified); ``labels`` are the
    file's variable labels (column -> label), used as outcome and moderator labels."""
    draft = Draft(source=source, rows=len(frame))
    draft.missing_codes = missing_tokens(frame)
    dates = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c].dtype) or _iso_dates(frame[c])]
    draft.skipped += [(c, "holds dates") for c in dates]
    cols = {c: describe(frame[c], draft.missing_codes) for c in frame.columns if c not in dates}
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
    guess_cluster(cols, draft, used)
    _moderators(cols, draft, used)
    for o in draft.outcomes:
        o.label = outcome_label(o, draft.labels)
        guess_better(o)
    return draft


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


def _iso_dates(s: pd.Series) -> bool:
    """Text that is all ISO dates (a CSV read leaves survival::rhDNase's entry.dt as text): dates,
    not a moderator with many text levels."""
    if not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
        return False
    seen = s.dropna().astype(str)
    return bool(len(seen)) and bool(seen.str.match(_ISO_DATE).all())


def _guess_layout(cols: dict[str, Column], draft: Draft) -> None:
    n = draft.rows
    for c in cols.values():
        few = 2 <= len(c.levels) <= 20 and len(c.levels) < n / 2
        if not (TIME_NAME.match(c.name) and few and c.n_missing == 0):
            continue
        ids = [o for o in cols.values() if o is not c and o.n_missing == 0 and len(o.levels) < n
               and len(set(zip(o.keys, c.keys))) == n]
        if ids:
            best = max(ids, key=lambda o: (bool(ID_NAME.search(o.name)), -list(cols).index(o.name)))
            draft.time, draft.time_levels, draft.id = c.name, c.levels, best.name
            draft.id_note = f"one row per participant and {c.name}; {len(best.levels)} participants"
            return
    unique = [c for c in cols.values() if c.n_missing == 0 and len(c.levels) == n]
    if unique:
        def score(c):
            integer = c.numeric and bool(np.all(np.mod(c.values, 1) == 0))
            return (bool(ID_NAME.search(c.name)), not c.numeric or integer, -list(cols).index(c.name))
        best = max(unique, key=score)
        draft.id = best.name
        draft.id_note = f"unique on every one of the {n} rows"


def _guess_arm(cols: dict[str, Column], draft: Draft) -> None:
    skip = {draft.id, draft.time}
    cands = [c for c in cols.values() if c.name not in skip and 2 <= len(c.levels) <= 4]
    named = [c for c in cands if ARM_NAME.search(c.name)]
    by_value = [c for c in cands if any(is_control(lv) for lv in c.levels)]
    pool = named or by_value
    if not pool:
        return
    best = min(pool, key=lambda c: (len(c.levels) != 2, not any(is_control(lv) for lv in c.levels),
                                    list(cols).index(c.name)))
    draft.arm = best.name
    levels = best.levels
    controls = [lv for lv in levels if is_control(lv)]
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
        # more than two arms: a multi-arm analysis, every other arm compared with the guessed control
        draft.treated_arms = [str(draft.treated), *others]
        note += (f"; {len(levels)} arms: each of {', '.join(repr(a) for a in draft.treated_arms)} is compared with "
                 f"'{draft.control}' (the control guessed); list only the arms to analyse")
    if best.n_missing:
        # survival::pbc: 106 of 418 rows have no arm (not randomised); they are excluded from every model
        note += (f"; {best.n_missing} of {len(best.keys)} rows have no arm (e.g. not randomised) and are excluded "
                 "from the analysis")
    draft.arm_note = note


_NOT_SUPPORTED = "are not supported by this version of effectmod (it analyses continuous and binary outcomes)"


def _time_to_event(cols: dict[str, Column], draft: Draft, used: set[str]) -> None:
    """Pairs of a follow-up time and an event indicator (time + status, os_time + os_status,
    days + died): drafted as time_to_event outcomes; neither column is offered as a moderator."""
    def time_key(c: Column) -> str | None:
        n = c.name.lower()
        if not (c.numeric and len(c.levels) > 2 and np.nanmin(c.values) >= 0):
            return None
        if n in TTE_TIME_ALONE:
            return ""
        m = TTE_TIME.match(n)
        return None if m is None else ("" if m["gen"] else m["pre"])

    def event_key(c: Column) -> str | None:
        n = c.name.lower()
        # two values, or three status codes (survival::pbc: 0 censored, 1 transplant, 2 death): event_value drafted
        if len(c.levels) not in (2, 3):
            return None
        if n in TTE_EVENT_ALONE:
            return ""
        m = TTE_EVENT.match(n)
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
        draft.outcomes.append(survival_outcome(c, cols[event], key))




def _single_counts(cols: dict[str, Column], draft: Draft, used: set[str]) -> None:
    """Count-like columns with no time in their name (seizures, n_falls): probably the outcome,
    unless the name says it is history before randomisation (prior_falls: a moderator)."""
    for name, c in cols.items():
        if name in used or timed_name(name) is not None or set(name_words(name)) & HISTORY_WORDS:
            continue
        why = count_like(name, [c])
        if why:
            used.add(name)
            draft.outcomes.append(count_outcome(name, [name], why, followups={"end": name}))


def _wide_outcomes(cols: dict[str, Column], draft: Draft, used: set[str]) -> None:
    groups: dict[str, list[tuple[float, str, str, str]]] = {}
    stems: dict[str, str] = {}
    for name in cols:
        if name in used:
            continue
        parsed = timed_name(name)
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
        if not base and items[0][3] in ORDINAL_PREFIXES and len(follow) >= 2:
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
        why = count_like(stem, [cols[c] for c in columns])
        outcome = (count_outcome(stem, columns, why, notes=notes) if why
                   else outcome_type(stem, [cols[c] for c in columns], notes))
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


def _single_outcomes(cols: dict[str, Column], draft: Draft, used: set[str]) -> None:
    """Outcome-like names (status, outcome, response, ...) as outcomes with one follow-up."""
    for name, c in cols.items():
        # also a rating that is only ever an outcome (modified Rankin, patient global impression of change)
        # (and an endoscopic or similar classification 1-5, as HSAUR3::Lanza's)
        rating = (bool(set(name_words(name)) & {"rankin", "mrs", "pgic", "pgi", "classification"})
                  and numeric_rating(name, [c]) is not None)
        if name in used or not (OUTCOME_NAME.search(name) or rating):
            continue
        outcome = outcome_type(name, [c], [f"'{name}' guessed as an outcome from its name; no baseline recognised"])
        if outcome is None:
            continue
        outcome.followups = {"end": name}
        outcome.columns = [name]
        draft.outcomes.append(outcome)
        used.add(name)


def _long_outcomes(cols: dict[str, Column], draft: Draft, used: set[str]) -> None:
    assert draft.id is not None and draft.time is not None
    ids, times = cols[draft.id].keys, cols[draft.time]
    base_time = next((lv for lv in times.levels if lv.lower() in BASE_WORDS or lv.lower() in ("0", "week 0", "t0")),
                     times.levels[0])
    for name, c in cols.items():
        if name in used or not varies_within(c.keys, ids):
            continue
        notes: list[str] = []
        used.add(name)
        if _follows_time(c, times):
            draft.skipped.append((name, f"a function of the time column '{draft.time}' (e.g. a period indicator), not an outcome"))
            continue
        if c.numeric and TIME_NAME.match(name.strip()):
            # HSAUR3::toenail: time (months since baseline) beside visit 1-7: the visit's time, not an outcome
            draft.skipped.append((name, f"a second time column beside '{draft.time}' (when each visit happened), not an outcome"))
            continue
        why = count_like(name, [c])
        outcome = count_outcome(name, [name], why, notes=notes) if why else outcome_type(name, [c], notes)
        if outcome is None:
            draft.skipped.append((name, "varies over time but holds text, not numbers or two levels"))
            continue
        outcome.column = name
        outcome.columns = [name]
        outcome.baseline = base_time
        if outcome.type == "count" and base_time.lower() not in BASE_WORDS:
            outcome.notes.append(f"no baseline visit recognised: {draft.time} {base_time} is taken as the baseline; if it is a "
                                 "follow-up period, delete the baseline line (a baseline count measured once, over another "
                                 "length of time, can be a covariate)")
        draft.outcomes.append(outcome)


def _follows_time(c: Column, times: Column) -> bool:
    """The column takes one value per time value (the same for every participant): a period
    indicator or the time in other units, never an outcome."""
    seen: dict[str, str] = {}
    for k, t in zip(c.keys, times.keys):
        if k is None or t is None:
            continue
        if seen.setdefault(t, k) != k:
            return False
    return len(seen) > 1 and len(set(seen.values())) > 1


def _moderators(cols: dict[str, Column], draft: Draft, used: set[str]) -> None:
    long_ids = cols[draft.id].keys if draft.time and draft.id is not None else None
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
        if long_ids is not None and varies_within(c.keys, long_ids):
            draft.skipped.append((name, "varies within a participant"))
            continue
        note = ""
        if name == draft.cluster and c.numeric and k > MAX_CATEGORIES and c.levels_are_integers():
            # survival::rhDNase: inst 1-51, numbered centres: a code, never a continuous moderator
            draft.skipped.append((name, f"{k} numbered centres or clusters (a code, not a quantity); see the data.cluster line"))
            continue
        if STRATUM_NAME.match(name.strip()) and c.numeric and 2 < k <= 12 and c.levels_are_integers():
            draft.covariates.append((name, c.levels))
            continue
        if k == 2:
            kind = "binary"
        elif c.numeric and k > 5:
            kind = "continuous"
        elif c.numeric:
            kind, note = "categorical", f"{k} numeric codes: categorical guessed; use continuous if they are an ordered score"
        elif k <= MAX_CATEGORIES:
            kind = "categorical"
        else:
            reason = "a different text on almost every row" if k > 0.5 * draft.rows else f"{k} text levels (too many for a categorical moderator)"
            draft.skipped.append((name, reason))
            continue
        mod_name = identifier(name, "moderator")
        while mod_name in names:
            mod_name += "_mod"
        names.add(mod_name)
        draft.moderators.append(Moderator(mod_name, name, kind, c.levels, c.n_missing, note))
