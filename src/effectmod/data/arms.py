"""Arms and participant flow: the two analysed arms found among the treatment values, ids checked
(missing, repeated, written two ways, near duplicates) and the rows outside the arms counted."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..plan.schema import Plan
from .display_checks import check_arm_labels
from .problems import Problems, bool_hint, token_counts, token_fix
from .values import missing_tokens_kept, sort_levels, value_key


def find_arms(keys: np.ndarray, plan: Plan, problems: Problems) -> tuple[str | None, str | None]:
    """The (treated, control) arm keys; None for an arm that cannot be found (``problems`` says why)."""
    distinct = pd.unique(keys)
    present = sort_levels({k for k in distinct if k is not None})
    treated = value_key(plan.data.treated_arms[0])
    control = value_key(plan.data.control) if plan.data.control is not None else None
    found = ", ".join(repr(a) for a in present) or "none"
    col = plan.data.treatment
    for i, arm in enumerate(plan.data.treated_arms):
        if value_key(arm) not in present:
            hint = bool_hint(arm)
            where = f"data.treated[{i}]" if isinstance(plan.data.treated, list) else "data.treated"
            problems.add(f"{where}: the value {arm!r} does not occur in column '{col}'; arms found: {found}.{hint}")
    if control is not None and control not in present:
        hint = bool_hint(plan.data.control)
        problems.add(f"data.control: the value {plan.data.control!r} does not occur in column '{col}'; arms found: {found}.{hint}")
    named = {value_key(a) for a in plan.data.treated_arms} | {control}
    kept = {a: n for a, n in missing_tokens_kept(keys, distinct).items() if a not in named}
    if kept:
        problems.warn(f"column '{col}' (plan: data.treatment): {token_counts(kept)} read as an arm, not as missing "
                      f"(in a text column only empty cells are missing); {token_fix(kept)}")
    if control is None:
        others = [a for a in present if a != treated]
        if len(others) > 1 and treated in present:
            hint = f"; {token_fix(kept)}" if kept else ""
            problems.add(f"data.control: column '{col}' has {len(present)} arms ({found}); name the control arm in the plan (data.control){hint}")
        elif not others and treated in present:
            problems.add(f"data.treatment: column '{col}' holds only one arm ({found}); a comparison needs two")
        control = others[0] if len(others) == 1 else None
    if treated is not None and treated == control:
        problems.add("data.control: the control value equals the treated value")
    check_arm_labels(plan, treated, control, problems)
    return treated, control


def treated_keys(plan: Plan) -> tuple:
    """The keys of every intervention arm, in plan order."""
    return tuple(value_key(a) for a in plan.data.treated_arms)


def count_excluded_arms(treat_keys, id_keys, in_arms, no_id, plan, excluded) -> None:
    def participants(mask):
        return len({k for k in id_keys[mask]})
    missing = (treat_keys == None) & ~no_id     # noqa: E711 (elementwise: the missing keys)
    if missing.any():
        excluded.append((f"treatment ({plan.data.treatment}) missing", participants(missing)))
    other = ~in_arms & ~missing & ~no_id
    for arm in sort_levels({k for k in treat_keys[other]}):
        mask = other & (treat_keys == arm)
        what = "the analysed arms" if plan.data.multi_arm else "the two analysed arms"
        excluded.append((f"in arm '{arm}', not one of {what}", participants(mask)))


def participant_values(keys: np.ndarray, id_keys: np.ndarray) -> np.ndarray:
    """Each row's value replaced by its participant's first observed value (conflicts between a
    participant's rows are reported where long data is made wide)."""
    frame = pd.DataFrame({"id": id_keys, "value": keys}, dtype=object)
    first = np.array(frame.groupby("id", sort=False, dropna=True)["value"].transform("first"), dtype=object)
    # a participant missing the value on every row gets pandas' NaN from 'first': that is a missing key too
    first[pd.isna(first)] = None
    return np.where(pd.isna(frame["id"]), keys, first).astype(object)


def check_unique_ids(ids: np.ndarray, plan: Plan, problems: Problems, merged: dict | None = None,
                     numbers: np.ndarray | None = None) -> None:
    """``numbers``: the ids as the column's whole numbers (one key each), hashed faster than their text."""
    # in order of each id's first repeat (pandas hashes the column: no Python loop over rows)
    keys = pd.Series(ids, dtype=object, copy=False)
    repeated = keys.duplicated() if numbers is None else pd.Series(numbers, copy=False).duplicated().to_numpy()
    dupes = list(dict.fromkeys(keys[repeated]))
    if dupes:
        shown = ", ".join(repr(d) for d in dupes[:8]) + (f" and {len(dupes) - 8} more" if len(dupes) > 8 else "")
        spelt = {k: v for k, v in (merged or {}).items() if k in set(dupes)}
        also = (f"; written differently in the file (spaces, invisible characters or Unicode forms differ): "
                f"{show_spellings(spelt)}") if spelt else ""
        problems.add(f"column '{plan.data.id}' (plan: data.id): wide data needs one row per participant; "
                     f"ids occurring more than once: {shown}{also}. For one row per visit, set data.time (long format)")


def merged_spellings(series: pd.Series, keys: np.ndarray) -> dict[str, list[str]]:
    """Keys that stand for more than one spelling of a text cell ('P001' and ' P001', 'José' in
    NFC and NFD, a zero-width space), with those spellings: the normalisation merged them."""
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return {}
    raw = pd.Series(series.to_numpy(dtype=object), dtype=object)
    if len(pd.unique(raw)) == len(pd.unique(keys)):
        return {}       # the common case: every spelling is its own key (one hash pass, no loop)
    seen = pd.DataFrame({"key": keys, "raw": raw.map(lambda v: v if isinstance(v, str) else None)}).dropna()
    counts = seen.drop_duplicates().groupby("key", sort=False)["raw"].agg(list)
    return {k: sorted(v) for k, v in counts.items() if len(v) > 1}


def show_spellings(merged: dict[str, list[str]], limit: int = 5) -> str:
    parts = [" / ".join(ascii(x) for x in v) for v in list(merged.values())[:limit]]
    more = f" and {len(merged) - limit} more" if len(merged) > limit else ""
    return "; ".join(parts) + more


_NUMBERS_ONLY = re.compile(r"[0-9.+|-]*")


def _numbers_only(ids: np.ndarray) -> bool:
    try:
        return _NUMBERS_ONLY.fullmatch("|".join(ids)) is not None
    except TypeError:       # a missing id (None): the general check below
        return False


def near_duplicate_ids(ids: np.ndarray) -> list[str]:
    if _numbers_only(ids):
        return []   # numbers only (no spaces, no letters): no two can differ only in case or spaces
    text = pd.Series(ids, dtype=object).astype(str)
    if text.str.replace(r"\s+", "", regex=True).str.casefold().nunique() == text.nunique():
        return []   # the common case, found without a Python loop over a million ids
    folded: dict[str, list[str]] = {}
    for k in ids:
        folded.setdefault("".join(str(k).split()).casefold(), []).append(str(k))
    clashes = [v for v in folded.values() if len(set(v)) > 1]
    if not clashes:
        return []
    shown = "; ".join(" / ".join(repr(x) for x in sorted(set(v))) for v in clashes[:5])
    return [f"participant ids that differ only in case or spaces are treated as different people: {shown}"]
