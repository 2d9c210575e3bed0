"""Check a data frame against the plan and code it into a ``TrialData``.

Every problem is collected first and raised together (one line each), so one run tells the
user everything to fix. Problems that only make one model unusable are not raised here: the
analysis goes on and that model's row says why.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from ..plan.schema import Plan, covariate_column, covariate_type, parse_rule
from .load import closest_columns
from .trial import CovariateData, DataFlow, ModeratorData, OutcomeData, TrialData
from .values import (RowNames, describe_rows, is_infinite, is_missing_token, keys_of, missing_tokens_kept,
                     numeric_column, sort_levels, value_key)


class _Problems(list):
    """Problems that stop the analysis, and (``warnings``) doubts that the data flow records."""

    def __init__(self):
        super().__init__()
        self.warnings: list[str] = []

    def add(self, text: str) -> None:
        self.append(text)

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)


def prepare_trial(frame: pd.DataFrame, plan: Plan) -> TrialData:
    """Code ``frame`` for ``plan``. Never modifies ``frame``. Raises DataError with every problem."""
    problems = _Problems()
    for text in frame.attrs.get("read_warnings", ()):
        problems.warn(text)         # what reading the file found (encodings), recorded in the data flow
    usable = _check_columns(frame, plan, problems)
    if problems:
        # keep checking what the present columns allow, so that one run lists every problem
        plan = _without_missing_columns(plan, usable)
        if plan is None:
            raise DataError(problems)
    frame = _apply_missing_codes(frame, plan)

    rows_in_file = len(frame)
    # ids are text: words like 'NA' mean missing, numbers are compared exactly (no float rounding)
    id_keys = keys_of(frame[plan.data.id], tokens="missing")
    treat_keys = keys_of(frame[plan.data.treatment])
    if plan.data.time is not None:
        # the arm belongs to the participant: a visit row without it takes it from the others
        treat_keys = _participant_values(treat_keys, id_keys)
    treated_key, control_key = _arms(treat_keys, plan, problems)
    merged = _merged_spellings(frame[plan.data.id], id_keys)

    participants_in_file = len({k for k in id_keys if k is not None})
    excluded: list[tuple[str, int]] = []
    warnings: list[str] = []
    no_id = np.array([k is None for k in id_keys])
    if no_id.any():
        excluded.append((f"participant id ({plan.data.id}) missing", int(no_id.sum())))

    # with a wrong arm value the named arms' rows are still checked (problems are raised below)
    in_arms = np.isin(treat_keys, [k for k in (treated_key, control_key) if k is not None]) & ~no_id
    if problems and not in_arms.any():
        raise DataError(problems)   # no row in a named arm: nothing else can be checked
    _count_excluded_arms(treat_keys, id_keys, in_arms, no_id, plan, excluded)

    if plan.data.time is not None:
        wide, sources = _long_to_wide(frame, id_keys, treat_keys, in_arms, plan, problems)
    else:
        wide = frame.loc[in_arms].reset_index(drop=True)
        wide_ids = id_keys[in_arms]
        _check_unique_ids(wide_ids, plan, problems, merged)
        wide.insert(0, "__id__", wide_ids)
        wide.attrs["row_names"] = RowNames("row ", np.flatnonzero(in_arms) + 1)
        sources = {}
    if wide is None:
        raise DataError(problems)
    if "row_names" not in wide.attrs:
        wide.attrs["row_names"] = RowNames("id ", wide["__id__"].to_numpy(dtype=object))

    ids = wide["__id__"].to_numpy(dtype=object)
    treat = (keys_of(wide[plan.data.treatment]) == treated_key).astype(float)
    warnings += _near_duplicate_ids(ids)
    if merged and plan.data.time is not None:
        warnings.append(f"column '{plan.data.id}' (plan: data.id): ids written differently are read as one participant "
                        f"(spaces, invisible characters or Unicode forms differ): {_show_spellings(merged)}")

    outcomes = _code_outcomes(wide, plan, sources, problems)
    moderators = _code_moderators(wide, plan, problems)
    covariates = _code_covariates(wide, plan, problems)
    if problems:
        raise DataError(problems)

    flow = DataFlow(
        rows_in_file=rows_in_file,
        participants_in_file=participants_in_file,
        arms={"treated": int(treat.sum()), "control": int((1 - treat).sum())},
        arm_values={"treated": str(treated_key), "control": str(control_key)},
        excluded=excluded,
        warnings=warnings + problems.warnings,
    )
    base_cols = list(dict.fromkeys(
        [m.column for m in plan.moderators] + plan.covariate_columns()
        + [o.baseline for o in plan.outcomes if o.baseline is not None and plan.data.time is None and o.baseline in wide.columns]))
    baseline_frame = wide[base_cols].copy()
    baseline_frame.insert(0, "treat", treat)
    return TrialData(ids=ids, treat=treat, outcomes=outcomes, moderators=moderators,
                     covariates=covariates, flow=flow, baseline_frame=baseline_frame)


# ----------------------------------------------------------------------------- columns
def _apply_missing_codes(frame: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    codes = {value_key(c) for c in plan.data.missing_codes} - {None}
    if not codes:
        return frame
    out = frame.copy()
    # only the plan's columns: the others are never analysed, and keying every cell costs time
    for col in [c for c in plan.data_columns() if c in out.columns]:
        keys = keys_of(out[col])
        hit = np.isin(keys, list(codes))
        if hit.any():
            out[col] = out[col].astype(object).where(~hit, None)
    return out


def _check_columns(frame: pd.DataFrame, plan: Plan, problems: _Problems) -> set:
    """Problems with the plan's columns (absent, or named twice); returns the usable column names."""
    cols = set(frame.columns)
    repeated = set(frame.columns[frame.columns.duplicated()])
    wanted = [("data.id", plan.data.id), ("data.treatment", plan.data.treatment)]
    if plan.data.time is not None:
        wanted.append(("data.time", plan.data.time))
    for i, o in enumerate(plan.outcomes):
        if o.derive is not None:
            continue
        if plan.data.time is None:
            if o.baseline is not None:
                wanted.append((f"outcomes[{i}].baseline", str(o.baseline)))
            for label, col in (o.followups or {}).items():
                wanted.append((f"outcomes[{i}].followups['{label}']", col))
        else:
            wanted.append((f"outcomes[{i}].column", o.column))
    for i, m in enumerate(plan.moderators):
        wanted.append((f"moderators[{i}].column", m.column))
    for i, c in enumerate(plan.covariates):
        wanted.append((f"covariates[{i}]" + ("" if isinstance(c, str) else ".column"), covariate_column(c)))
    for where, col in wanted:
        if col not in cols:
            problems.add(f"column '{col}' (plan: {where}) is not in the data.{closest_columns(col, frame.columns)}")
        elif col in repeated:
            count = int(np.sum(frame.columns == col))
            problems.add(f"column '{col}' (plan: {where}): {count} columns of the data have this name; "
                         "rename or drop the copies so that the plan names one column")
    return cols - repeated


def _without_missing_columns(plan: Plan, cols: set) -> Plan | None:
    """The plan without the outcomes, moderators and covariates whose columns are absent
    (None when the id, treatment or time column is absent: nothing more can be checked)."""
    if any(c is not None and c not in cols for c in (plan.data.id, plan.data.treatment, plan.data.time)):
        return None
    long = plan.data.time is not None

    def present(o) -> bool:
        if o.derive is not None:
            return True
        if long:
            return o.column in cols
        return (o.baseline is None or str(o.baseline) in cols) and all(c in cols for c in (o.followups or {}).values())
    return plan.model_copy(update={
        "outcomes": [o for o in plan.outcomes if present(o)],
        "moderators": [m for m in plan.moderators if m.column in cols],
        "covariates": [c for c in plan.covariates if covariate_column(c) in cols],
    })


# ----------------------------------------------------------------------------- arms
def _arms(keys: np.ndarray, plan: Plan, problems: _Problems) -> tuple[str, str]:
    present = sort_levels({k for k in keys if k is not None})
    treated = value_key(plan.data.treated)
    control = value_key(plan.data.control) if plan.data.control is not None else None
    found = ", ".join(repr(a) for a in present) or "none"
    col = plan.data.treatment
    if treated not in present:
        hint = _bool_hint(plan.data.treated)
        problems.add(f"data.treated: the value {plan.data.treated!r} does not occur in column '{col}'; arms found: {found}.{hint}")
    if control is not None and control not in present:
        hint = _bool_hint(plan.data.control)
        problems.add(f"data.control: the value {plan.data.control!r} does not occur in column '{col}'; arms found: {found}.{hint}")
    kept = {a: n for a, n in missing_tokens_kept(keys).items() if a not in (treated, control)}
    if kept:
        problems.warn(f"column '{col}' (plan: data.treatment): {_token_counts(kept)} read as an arm, not as missing "
                      f"(in a text column only empty cells are missing); {_token_fix(kept)}")
    if control is None:
        others = [a for a in present if a != treated]
        if len(others) > 1 and treated in present:
            hint = f"; {_token_fix(kept)}" if kept else ""
            problems.add(f"data.control: column '{col}' has {len(present)} arms ({found}); name the control arm in the plan (data.control){hint}")
        elif not others and treated in present:
            problems.add(f"data.treatment: column '{col}' holds only one arm ({found}); a comparison needs two")
        control = others[0] if len(others) == 1 else None
    if treated is not None and treated == control:
        problems.add("data.control: the control value equals the treated value")
    return treated, control


def _token_counts(kept: dict[str, int]) -> str:
    return ", ".join(f"'{k}' ({n} rows)" for k, n in kept.items())


def _token_fix(kept: dict[str, int]) -> str:
    codes = ", ".join(f"'{k}'" for k in kept)
    return f"if {'it means' if len(kept) == 1 else 'they mean'} missing, add {codes} to data.missing_codes"


def _bool_hint(value) -> str:
    if isinstance(value, bool):
        return (" YAML reads unquoted yes/no/on/off/true/false as a boolean; "
                "quote the value in the plan (e.g. \"No\")")
    return ""


def _count_excluded_arms(treat_keys, id_keys, in_arms, no_id, plan, excluded) -> None:
    def participants(mask):
        return len({k for k in id_keys[mask]})
    missing = np.array([k is None for k in treat_keys]) & ~no_id
    if missing.any():
        excluded.append((f"treatment ({plan.data.treatment}) missing", participants(missing)))
    other = ~in_arms & ~missing & ~no_id
    for arm in sort_levels({k for k in treat_keys[other]}):
        mask = other & (treat_keys == arm)
        excluded.append((f"in arm '{arm}', not one of the two analysed arms", participants(mask)))


def _participant_values(keys: np.ndarray, id_keys: np.ndarray) -> np.ndarray:
    """Each row's value replaced by its participant's first observed value (conflicts between a
    participant's rows are reported where long data is made wide)."""
    frame = pd.DataFrame({"id": id_keys, "value": keys}, dtype=object)
    first = np.array(frame.groupby("id", sort=False, dropna=True)["value"].transform("first"), dtype=object)
    # a participant missing the value on every row gets pandas' NaN from 'first': that is a missing key too
    first[pd.isna(first)] = None
    return np.where(pd.isna(frame["id"]), keys, first).astype(object)


def _check_unique_ids(ids: np.ndarray, plan: Plan, problems: _Problems, merged: dict | None = None) -> None:
    # in order of each id's first repeat (pandas hashes the column: no Python loop over rows)
    keys = pd.Series(ids, dtype=object)
    dupes = list(dict.fromkeys(keys[keys.duplicated()]))
    if dupes:
        shown = ", ".join(repr(d) for d in dupes[:8]) + (f" and {len(dupes) - 8} more" if len(dupes) > 8 else "")
        spelt = {k: v for k, v in (merged or {}).items() if k in set(dupes)}
        also = (f"; written differently in the file (spaces, invisible characters or Unicode forms differ): "
                f"{_show_spellings(spelt)}") if spelt else ""
        problems.add(f"column '{plan.data.id}' (plan: data.id): wide data needs one row per participant; "
                     f"ids occurring more than once: {shown}{also}. For one row per visit, set data.time (long format)")


def _merged_spellings(series: pd.Series, keys: np.ndarray) -> dict[str, list[str]]:
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


def _show_spellings(merged: dict[str, list[str]], limit: int = 5) -> str:
    parts = [" / ".join(ascii(x) for x in v) for v in list(merged.values())[:limit]]
    more = f" and {len(merged) - limit} more" if len(merged) > limit else ""
    return "; ".join(parts) + more


def _near_duplicate_ids(ids: np.ndarray) -> list[str]:
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


# ----------------------------------------------------------------------------- long data
def _long_to_wide(frame, id_keys, treat_keys, in_arms, plan: Plan, problems: _Problems):
    """One row per participant; outcome follow-ups become columns '<outcome>@<time>'."""
    time_col = plan.data.time
    sub = frame.loc[in_arms].reset_index(drop=True)
    ids = id_keys[in_arms]
    # text time labels (e.g. "baseline", "week 18") are allowed and ordered as text
    times, bad, _ = numeric_column(sub[time_col])
    time_keys = keys_of(sub[time_col], tokens="missing") if bad else np.array([value_key(t) for t in times], dtype=object)
    merged = _merged_spellings(sub[time_col], time_keys)
    if merged:
        problems.warn(f"column '{time_col}' (plan: data.time): time values written differently are read as one follow-up: "
                      f"{_show_spellings(merged)}")
    pair = pd.Series([f"{a}\x00{b}" for a, b in zip(ids, time_keys)])
    dup = pair.duplicated(keep=False)
    if dup.any():
        shown = sorted({f"{a} at {time_col} {b}" for a, b, d in zip(ids, time_keys, dup) if d})[:6]
        problems.add(f"columns '{plan.data.id}' x '{time_col}' (plan: data.id, data.time): long data needs one row per participant "
                     f"and time; repeated: {', '.join(shown)}")
        return None, {}
    order = list(dict.fromkeys(ids))
    wide = pd.DataFrame({"__id__": order})
    index = {k: i for i, k in enumerate(order)}
    rows = np.array([index[k] for k in ids])
    # baseline characteristics: one value per participant (first observed), conflicts reported
    base_cols = list(dict.fromkeys([plan.data.treatment] + [m.column for m in plan.moderators] + plan.covariate_columns()))
    for col in base_cols:
        keys = keys_of(sub[col])
        first = {}
        conflict = []
        for r, k, raw in zip(rows, keys, sub[col].tolist()):
            if k is None:
                continue
            if r in first and first[r][0] != k:
                conflict.append(order[r])
            first.setdefault(r, (k, raw))
        if conflict:
            shown = ", ".join(repr(c) for c in sorted(set(conflict))[:6])
            problems.add(f"column '{col}': a baseline characteristic must be the same on every row of a participant; it varies for ids {shown}")
        wide[col] = [first.get(i, (None, None))[1] for i in range(len(order))]
    all_times = sorted({t for t in time_keys if t is not None}, key=_time_sort_key)
    sources = {}
    for i, o in enumerate(plan.outcomes):
        if o.derive is not None:
            continue
        base_key = value_key(o.baseline) if o.baseline is not None else None
        if base_key is not None and base_key not in all_times:
            problems.add(f"outcomes[{i}].baseline: time value {o.baseline!r} does not occur in column '{time_col}'; times found: {', '.join(all_times)}")
        for t in all_times:
            vals = pd.Series([None] * len(order), dtype=object)
            mask = time_keys == t
            vals.iloc[rows[mask]] = sub[o.column].to_numpy(dtype=object)[mask]
            name = f"{o.name}@{t}"
            wide[name] = vals
            sources[(o.name, t)] = name
        sources[(o.name, "__baseline__")] = f"{o.name}@{base_key}" if base_key in all_times else None
        sources[(o.name, "__followups__")] = [t for t in all_times if t != base_key]
    return wide, sources


def _time_sort_key(t: str):
    try:
        return (0, float(t), "")
    except ValueError:
        return (1, 0.0, t)


# ----------------------------------------------------------------------------- outcomes
def _code_outcomes(wide, plan: Plan, sources, problems: _Problems) -> dict[str, OutcomeData]:
    out: dict[str, OutcomeData] = {}
    long = plan.data.time is not None
    for i, o in enumerate(plan.outcomes):
        if o.derive is not None:
            continue
        if long:
            base_col = sources.get((o.name, "__baseline__"))
            follow = {t: sources[(o.name, t)] for t in sources.get((o.name, "__followups__"), [])}
            where = f"outcomes[{i}].column"
            if not follow:
                problems.add(f"outcomes[{i}]: no follow-up time in column '{plan.data.time}' besides the baseline")
                continue
        else:
            base_col = str(o.baseline) if o.baseline is not None else None
            follow = dict(o.followups)
            where = None
        label = o.label or o.name
        event = None
        if o.type == "continuous":
            coded = {t: _numeric(wide, col, where or f"outcomes[{i}].followups['{t}']", problems, o.range) for t, col in follow.items()}
            base = _numeric(wide, base_col, where or f"outcomes[{i}].baseline", problems, o.range) if base_col else None
        else:
            coded, event = _binary_outcome(wide, follow, o, i, problems)
            base = (_binary_baseline(wide, base_col, event, follow, where or f"outcomes[{i}].baseline", problems)
                    if base_col else None)
        out[o.name] = OutcomeData(o.name, label, o.type, base, base_col, coded, o.range, event)
    for i, o in enumerate(plan.outcomes):
        if o.derive is not None and o.derive.from_ in out:
            out[o.name] = _derive(out[o.derive.from_], o, i, problems)
    return out


def _numeric(wide, col, where, problems, bounds) -> np.ndarray | None:
    if col is None:
        return None
    values, bad, hint = numeric_column(wide[col])
    names = wide.attrs.get("row_names")
    shown = f"column '{_shown(col)}' (plan: {where})"
    infinite = [(r, t) for r, t in bad if is_infinite(t)]
    if infinite:
        bad = [(r, t) for r, t in bad if not is_infinite(t)]
        problems.add(f"{shown}: {_infinite_values(infinite, names)}")
    dots = [(r, t) for r, t in bad if t == "."]
    if dots:
        # SAS and Stata write a missing number as '.'; reading it as missing is almost surely right
        bad = [(r, t) for r, t in bad if t != "."]
        problems.warn(f"{shown}: {len(dots)} cell(s) hold '.', read as missing; "
                      "declare it in data.missing_codes: ['.'] to confirm")
    if bad:
        observed = int(np.sum(~np.isnan(values))) + len(bad)
        texts = sorted({t for _, t in bad})
        if len(bad) == observed and len(texts) <= 10 and not hint:
            hint = (f"; it holds only text levels ({', '.join(repr(t) for t in texts)}): if it is a category, "
                    "declare it so in the plan (type: binary or categorical)")
        problems.add(f"{shown}: expected numbers, found text {describe_rows(bad, names=names)}{hint}")
    codes = _suspicious_codes(values, bounds)
    if bounds is not None:
        lo, hi = bounds
        outside = [(int(r), value_key(values[r])) for r in np.flatnonzero((values < lo) | (values > hi))]
        if outside:
            code_hint = (f" ({', '.join(value_key(c) for c in codes)} look like missing-value codes: "
                         "declare them in data.missing_codes)") if codes else ""
            problems.add(f"{shown}: values outside the declared range [{value_key(lo)}, {value_key(hi)}]: "
                         f"{describe_rows(outside, names=names)}{code_hint}")
    elif codes:
        counts = ", ".join(f"{value_key(c)} ({int(np.sum(values == c))} rows)" for c in codes)
        problems.warn(f"{shown}: {counts} look like missing-value codes and are analysed as numbers; "
                      "if they mean missing, declare them in data.missing_codes")
    return values


def _infinite_values(bad, names) -> str:
    return (f"infinite values {describe_rows(bad, names=names)}; expected finite numbers: correct them, "
            "or leave the cells empty if they are missing")


# numbers that questionnaires and databases use for 'missing', 'refused', 'not applicable'
_CODE_CANDIDATES = (-9999.0, -999.0, -99.0, -9.0, -8.0, -7.0, -1.0, 77.0, 88.0, 99.0, 777.0, 888.0, 999.0, 9999.0)


def _suspicious_codes(values: np.ndarray, bounds) -> list[float]:
    """Code-like values that lie outside the declared range, or outside the range of the other values."""
    seen = values[~np.isnan(values)]
    out = []
    for c in _CODE_CANDIDATES:
        hit = seen == c
        if not hit.any():
            continue
        rest = seen[~hit]
        if bounds is not None:
            if not bounds[0] <= c <= bounds[1]:
                out.append(c)
        elif len(rest) >= 5 and (c < rest.min() or c > rest.max()) and (c <= -7 or c >= 77):
            out.append(c)
    return out


def _shown(col: str) -> str:
    return col.replace("@", " at time ") if "@" in col else col


def _two_levels(arrays: dict, what: str, problems: _Problems) -> dict:
    """Key arrays of one binary variable with 'NA', 'None' and the like read as missing when the
    variable has two other values besides them: a binary variable cannot have a third level."""
    levels = {k for arr in arrays.values() for k in pd.unique(arr) if k is not None}
    tokens = {k for k in levels if is_missing_token(k)}
    if not tokens or len(levels) <= 2 or len(levels - tokens) > 2:
        return arrays
    counts = {t: sum(int(np.sum(arr == t)) for arr in arrays.values()) for t in sort_levels(tokens)}
    problems.warn(f"{what}: {_token_counts(counts)} read as missing, since a binary variable has two values "
                  f"({', '.join(repr(v) for v in sort_levels(levels - tokens))}) besides "
                  f"{'it' if len(tokens) == 1 else 'them'}; declare it in data.missing_codes to confirm")
    out = {}
    for name, arr in arrays.items():
        arr = arr.copy()
        arr[np.isin(arr, list(tokens))] = None
        out[name] = arr
    return out


def _tokens_as_levels(keys: np.ndarray, what: str, problems: _Problems) -> None:
    """Warn that a text column's 'NA', 'None' and the like are analysed as levels."""
    kept = missing_tokens_kept(keys)
    if kept:
        problems.warn(f"{what}: {_token_counts(kept)} read as a level, not as missing "
                      f"(in a text column only empty cells are missing); {_token_fix(kept)}")


def _binary_outcome(wide, follow, o, i, problems):
    keys = _two_levels({t: keys_of(wide[col]) for t, col in follow.items()}, f"outcomes[{i}] ('{o.name}', binary)", problems)
    levels = sort_levels({k for arr in keys.values() for k in arr if k is not None})
    event = value_key(o.event) if o.event is not None else None
    if len(levels) > 2:
        problems.add(f"outcomes[{i}]: a binary outcome needs two values; found {len(levels)}: {', '.join(repr(v) for v in levels[:8])}")
        return {}, event
    if event is None:
        if set(levels) <= {"0", "1"}:
            event = "1"
        elif set(levels) <= {"true", "false"}:
            event = "true"
        else:
            problems.add(f"outcomes[{i}].event: required, since the values are {', '.join(repr(v) for v in levels)} (not 0/1 or true/false)")
            return {}, event
    elif event not in levels and levels:
        problems.add(f"outcomes[{i}].event: {o.event!r} does not occur; values found: {', '.join(repr(v) for v in levels)}")
        return {}, event
    coded = {}
    for t, arr in keys.items():
        v = np.where(arr == event, 1.0, 0.0)
        v[np.array([k is None for k in arr])] = np.nan
        coded[t] = v
    return coded, event


def _binary_baseline(wide, col, event, follow, where, problems):
    """A binary outcome's baseline, coded like the outcome (1 = event) when it takes the outcome's
    values, as R users code it; otherwise as numbers (e.g. a score measured only at baseline)."""
    arrays = _two_levels({c: keys_of(wide[c]) for c in [col, *follow.values()]}, f"column '{_shown(col)}' (plan: {where})", problems)
    arr = arrays[col]
    seen = {k for k in arr if k is not None}
    levels = {k for c in follow.values() for k in arrays[c] if k is not None}
    if event is not None and len(seen | levels | {event}) <= 2:
        v = np.where(arr == event, 1.0, 0.0)
        v[np.array([k is None for k in arr])] = np.nan
        return v
    return _numeric(wide, col, where, problems, None)


_OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


def derive_followups(src: OutcomeData, quantity: str, op: str, threshold: float) -> dict[str, np.ndarray]:
    """The 0/1 responder values (NaN where undetermined) of a rule (``parse_rule``) at each
    follow-up of ``src``; also used after multiple imputation (passive imputation)."""
    coded = {}
    for t, y in src.followups.items():
        b = src.baseline
        with np.errstate(divide="ignore", invalid="ignore"):
            q = {"value": y, "change_from_baseline": None if b is None else y - b,
                 "reduction_from_baseline": None if b is None else b - y,
                 "reduction_from_baseline_pct": None if b is None else np.where(b != 0, 100.0 * (b - y) / b, np.nan)}[quantity]
            v = _OPS[op](q, threshold).astype(float)
        v[np.isnan(q)] = np.nan
        coded[t] = v
    return coded


def _derive(src: OutcomeData, o, i, problems) -> OutcomeData:
    try:
        quantity, op, threshold = parse_rule(o.derive.rule)
    except ValueError as exc:
        problems.add(f"outcomes[{i}].derive.rule: {exc}")
        return src
    if quantity != "value" and src.baseline is None:
        problems.add(f"outcomes[{i}].derive.rule: '{quantity}' needs a baseline, and outcome '{src.name}' has none")
        return src
    coded = derive_followups(src, quantity, op, threshold)
    label = o.label or f"{src.label}: {o.derive.rule}"
    # the derived outcome's baseline is the source's baseline value (continuous), adjusted for as is
    return OutcomeData(o.name, label, "binary", src.baseline, src.baseline_source, coded, None, "1")


# ----------------------------------------------------------------------------- moderators
def _code_moderators(wide, plan: Plan, problems: _Problems) -> dict[str, ModeratorData]:
    out = {}
    for i, m in enumerate(plan.moderators):
        where = f"moderators[{i}].column"
        label = m.label or m.name
        if m.type == "continuous":
            values = _numeric(wide, m.column, where, problems, None)
            out[m.name] = ModeratorData(m.name, label, "continuous", values, m.column)
            continue
        shown = f"column '{m.column}' (plan: {where})"
        keys = keys_of(wide[m.column])
        if m.type == "binary":
            keys = _two_levels({m.column: keys}, shown, problems)[m.column]
        else:
            _tokens_as_levels(keys, shown, problems)
        levels = sort_levels({k for k in keys if k is not None})
        if m.type == "binary" and len(levels) > 2:
            kept = missing_tokens_kept(keys)
            hint = f"; {_token_fix(kept)}" if kept else ""
            problems.add(f"{shown}: declared binary but has {len(levels)} levels "
                         f"({', '.join(repr(v) for v in levels[:8])}); declare it categorical or recode it{hint}")
            continue
        if m.reference is not None:
            ref = value_key(m.reference)
            if ref not in levels:
                hint = _bool_hint(m.reference)
                problems.add(f"moderators[{i}].reference: {m.reference!r} is not a level of column '{m.column}'; "
                             f"levels: {', '.join(repr(v) for v in levels)}.{hint}")
                continue
        else:
            ref = levels[0] if levels else None
        ordered = tuple([ref] + [lv for lv in levels if lv != ref]) if ref is not None else tuple(levels)
        code = {lv: j for j, lv in enumerate(ordered)}
        values = np.array([np.nan if k is None else float(code[k]) for k in keys])
        out[m.name] = ModeratorData(m.name, label, m.type, values, m.column, ordered)
    return out


def _code_covariates(wide, plan: Plan, problems: _Problems) -> CovariateData:
    names, cols, sources, references = [], [], [], {}
    for i, entry in enumerate(plan.covariates):
        c, declared = covariate_column(entry), covariate_type(entry)
        where = f"covariates[{i}]" if declared is None else f"covariates[{i}].column"
        if declared != "categorical":
            values, bad, hint = numeric_column(wide[c])
            infinite = [(r, t) for r, t in bad if is_infinite(t)]
            if infinite:
                problems.add(f"column '{c}' (plan: {where}): {_infinite_values(infinite, wide.attrs.get('row_names'))}")
                continue
            if hint or (declared == "continuous" and any(t != "." for _, t in bad)):
                # '1,200' or '7,5' are numbers written for people; as categories they would change the model silently
                if not hint and declared == "continuous":
                    hint = "; declared type: continuous, so every value must be a number (type: categorical for levels)"
                problems.add(f"column '{c}' (plan: {where}): expected numbers, found text "
                             f"{describe_rows(bad, names=wide.attrs.get('row_names'))}{hint}")
                continue
            if all(t == "." for _, t in bad):
                # numbers, perhaps with '.' for missing: read as _numeric reads moderators (with its warning)
                names.append(c)
                cols.append(_numeric(wide, c, where, problems, None) if bad else values)
                sources.append(c)
                continue
            observed = int(np.sum(~np.isnan(values))) + len(bad)
            if declared is None and bad and observed - len(bad) >= 0.9 * observed:
                # a number column with a stray text cell would silently become a factor of every value
                problems.add(f"column '{c}' (plan: {where}): numbers except for {describe_rows(bad, names=wide.attrs.get('row_names'))}; "
                             "fix those cells or declare them in data.missing_codes (a covariate with text is entered as a "
                             "category: if it is one, write all its levels as text)")
                continue
        keys = keys_of(wide[c])
        _tokens_as_levels(keys, f"column '{c}' (plan: covariates[{i}])", problems)
        levels = sort_levels({k for k in keys if k is not None})
        if declared is None and len(levels) > 20:
            problems.add(f"column '{c}' (plan: {where}): mixes numbers and text ({describe_rows(bad, names=wide.attrs.get('row_names'))}); "
                         "fix the values or recode it as a category with few levels")
            continue
        ref = levels[0] if levels else None
        if declared == "categorical":
            if entry.reference is not None:
                ref = value_key(entry.reference)
                if ref not in levels:
                    problems.add(f"covariates[{i}].reference: {entry.reference!r} is not a level of column '{c}'; "
                                 f"levels: {', '.join(repr(v) for v in levels[:20])}.{_bool_hint(entry.reference)}")
                    continue
            if len(levels) < 2:
                problems.add(f"column '{c}' (plan: {where}): a categorical covariate needs at least two levels; "
                             f"found {len(levels)}{': ' + repr(levels[0]) if levels else ''}")
                continue
            if len(levels) > 0.5 * len(keys):
                problems.add(f"column '{c}' (plan: {where}): declared categorical but has {len(levels)} levels for "
                             f"{len(keys)} participants; a category needs several participants per level "
                             "(type: continuous, or a plain name, enters it as one term)")
                continue
        if ref is not None:
            references[c] = ref
        for lv in levels:
            if lv == ref:
                continue
            v = np.array([np.nan if k is None else float(k == lv) for k in keys])
            names.append(f"{c}={lv}")
            cols.append(v)
            sources.append(c)
    matrix = np.column_stack(cols) if cols else np.empty((len(wide), 0))
    return CovariateData(tuple(names), matrix, tuple(sources), references)


def few_integer_codes(values: np.ndarray, most: int = 12) -> list[str] | None:
    """The levels of a numeric column that looks like codes (2 < levels <= ``most``, all whole
    numbers, not 0/1): a site or stratum number entered as one linear term by mistake."""
    seen = values[~np.isnan(values)]
    if not seen.size or not np.all(seen == np.round(seen)):
        return None
    levels = np.unique(seen)
    if not 2 < len(levels) <= most:
        return None
    return [value_key(v) for v in levels]


def undeclared_code_covariates(plan: Plan, trial) -> list[str]:
    """Warnings for covariates given by plain name that hold few integer codes (e.g. site 1-5):
    they enter the model as one linear term, which is rarely what a stratification factor means."""
    out = []
    cov = trial.covariates
    for i, entry in enumerate(plan.covariates):
        if not isinstance(entry, str) or entry not in cov.names:
            continue
        levels = few_integer_codes(cov.matrix[:, cov.names.index(entry)])
        if levels is None:
            continue
        shown = ", ".join(levels[:6]) + (f" and {len(levels) - 6} more" if len(levels) > 6 else "")
        out.append(f"covariates[{i}]: '{entry}' holds {len(levels)} whole-number codes ({shown}) and enters every model "
                   f"as one linear term; if they are categories (site, stratum), write {{column: {entry}, type: categorical}}, "
                   f"or {{column: {entry}, type: continuous}} to keep it linear and silence this warning")
    return out
