"""Count and ordinal outcomes coded as arrays (CONTRACT §6.1, §6.3).

Count: whole numbers from 0 at each follow-up, an optional exposure (> 0) per follow-up (the same
column for every follow-up of wide data, the visit row's value in long data), the baseline as it
is. Ordinal: each follow-up coded as its category's position (0 = lowest) in the declared
``levels`` or, without them, among the numeric categories ordered by value; a baseline that takes
the outcome's categories enters as its level index (1 = lowest), any other baseline as numbers.
Every problem is one line naming the plan key and the column.
"""
from __future__ import annotations

import numpy as np

from .named_values import say_missing_words
from .problems import Problems
from .trial import OutcomeData
from .values import describe_rows, keys_and_words, numeric_column, value_key


def _shown(col: str) -> str:
    return col.replace("@", " at time ") if "@" in col else col


def count_followups(wide, follow: dict, i: int, problems: Problems, numbers, where_of, bounds=None) -> dict[str, np.ndarray]:
    """The follow-up counts; ``numbers(wide, col, where, problems, bounds)`` reads a numeric column."""
    coded = {}
    names = wide.attrs.get("row_names")
    for t, col in follow.items():
        v = numbers(wide, col, where_of(t), problems, bounds)
        seen = ~np.isnan(v)
        bad = [(int(r), value_key(v[r]) or "") for r in np.flatnonzero(seen & ((v < 0) | (v != np.round(v))))]
        if bad:
            problems.add(f"column '{_shown(col)}' (plan: {where_of(t)}): a count outcome (type: count) takes whole numbers "
                         f"from 0; found {describe_rows(bad, names=names)}")
        coded[t] = v
    return coded


def count_exposure(wide, o, i: int, follow: dict, long: bool, problems: Problems) -> dict[str, np.ndarray] | None:
    """log-offset source per follow-up: the exposure (> 0, NaN = missing), or None without one."""
    if o.exposure is None:
        return None
    out = {}
    names = wide.attrs.get("row_names")
    for t in follow:
        col = f"{o.name}@{t}#exposure" if long else o.exposure
        values, bad, _ = numeric_column(wide[col])
        shown = f"column '{o.exposure}' (plan: outcomes[{i}].exposure)"
        if bad:
            problems.add(f"{shown}: expected numbers (the exposure, > 0), found text {describe_rows(bad, names=names)}")
        nonpos = [(int(r), value_key(values[r]) or "") for r in np.flatnonzero(~np.isnan(values) & ~(values > 0))]
        if nonpos or np.any(np.isinf(values)):
            problems.add(f"{shown}: the exposure must be a finite number above 0 (log(exposure) is the offset); "
                         f"found {describe_rows(nonpos, names=names) if nonpos else 'infinite values'}")
        out[t] = values
        if not long:
            return {tt: values for tt in follow}
    return out


def ordinal_followups(wide, follow: dict, o, i: int, problems: Problems, where_of) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """Codes 0..K-1 per follow-up and the level names (declared, or the numeric categories)."""
    # a declared level is never a word for missing ('none' in levels: [none, mild, severe])
    keep = {value_key(v) for v in o.levels or []} - {None}
    keys = {t: _ordinal_keys(wide, col, where_of(t), problems, keep) for t, col in follow.items()}
    found = {k for arr in keys.values() for k in arr if k is not None}
    names = wide.attrs.get("row_names")
    if o.levels is not None:
        levels = tuple(value_key(v) or "" for v in o.levels)
        unknown = sorted(found - set(levels))
        if unknown:
            for t, col in follow.items():
                bad = [(int(r), k) for r, k in enumerate(keys[t]) if k is not None and k not in levels]
                if bad:
                    problems.add(f"column '{_shown(col)}' (plan: {where_of(t)}): values not among outcomes[{i}].levels "
                                 f"({', '.join(repr(v) for v in levels)}): {describe_rows(bad, names=names)}")
            return {}, levels
    else:
        try:
            ordered = sorted(found, key=float)
        except ValueError:
            text = sorted(k for k in found if not _is_number(k))
            problems.add(f"outcomes[{i}].levels: required, since the ordinal outcome '{o.name}' has text categories "
                         f"({', '.join(repr(v) for v in text[:8])}); list every category from lowest to highest")
            return {}, ()
        levels = tuple(ordered)
        if len(levels) > 30:
            problems.add(f"outcomes[{i}]: an ordinal outcome with {len(levels)} distinct values is a score, not a few ordered "
                         "categories; declare it type: continuous or type: count")
            return {}, levels
    code = {lv: float(j) for j, lv in enumerate(levels)}
    coded = {t: np.array([np.nan if k is None else code[k] for k in arr]) for t, arr in keys.items()}
    return coded, levels


def ordinal_baseline(wide, col: str, levels: tuple[str, ...], where: str, problems: Problems, numbers) -> np.ndarray:
    """The baseline's level index (1 = lowest) when it takes the outcome's categories, else its numbers."""
    keys = _ordinal_keys(wide, col, where, problems, set(levels))
    seen = {k for k in keys if k is not None}
    if levels and seen <= set(levels):
        index = {lv: float(j + 1) for j, lv in enumerate(levels)}
        return np.array([np.nan if k is None else index[k] for k in keys])
    return numbers(wide, col, where, problems, None)


def _ordinal_keys(wide, col: str, where: str, problems: Problems, keep) -> np.ndarray:
    """An ordinal column's keys: words for missing are missing (and said), except a declared level."""
    keys, words = keys_and_words(wide[col], tokens="missing", keep=keep)
    text = any(not _is_number(k) for k in {k for k in keys if k is not None})
    say_missing_words(problems, f"column '{_shown(col)}' (plan: {where})", words, number_column=not text)
    return keys


def code_count_ordinal(wide, o, i: int, follow: dict, base_col: str | None, where: str | None, long: bool,
                       problems: Problems, numbers) -> OutcomeData:
    """One count or ordinal outcome (``where``: the long-data plan key, None for wide data)."""
    from ..plan.labels import label_of

    def where_of(t):
        return where or f"outcomes[{i}].followups['{t}']"
    base_where = where or f"outcomes[{i}].baseline"
    if o.type == "count":
        coded = count_followups(wide, follow, i, problems, numbers, where_of, o.range)
        base = numbers(wide, base_col, base_where, problems, None) if base_col else None
        exposure = count_exposure(wide, o, i, follow, long, problems)
        return OutcomeData(o.name, label_of(o), "count", base, base_col, coded, o.range, None, exposure=exposure)
    coded, levels = ordinal_followups(wide, follow, o, i, problems, where_of)
    base = ordinal_baseline(wide, base_col, levels, base_where, problems, numbers) if base_col else None
    return OutcomeData(o.name, label_of(o), "ordinal", base, base_col, coded, None, None, levels=levels)


def _is_number(key: str) -> bool:
    try:
        float(key)
        return True
    except ValueError:
        return False
