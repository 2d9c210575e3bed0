"""Long data (one row per visit) reshaped to one row per participant, with the visit of each value
recorded so that problems can name it."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..plan.schema import Plan
from .arms import merged_spellings, show_spellings
from .problems import Problems
from .values import keys_of, numeric_column, value_key


def long_to_wide(frame, id_keys, treat_keys, in_arms, plan: Plan, problems: Problems):
    """One row per participant; outcome follow-ups become columns '<outcome>@<time>'."""
    time_col = plan.data.time
    sub = frame.loc[in_arms].reset_index(drop=True)
    ids = id_keys[in_arms]
    # text time labels (e.g. "baseline", "week 18") are allowed and ordered as text
    times, bad, _ = numeric_column(sub[time_col])
    time_keys = keys_of(sub[time_col], tokens="missing") if bad else np.array([value_key(t) for t in times], dtype=object)
    merged = merged_spellings(sub[time_col], time_keys)
    if merged:
        problems.warn(f"column '{time_col}' (plan: data.time): time values written differently are read as one follow-up: "
                      f"{show_spellings(merged)}")
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
    base_cols = list(dict.fromkeys([plan.data.treatment] + [m.column for m in plan.moderators] + plan.covariate_columns()
                                   + [c for c in plan.predictive_columns() if c in sub.columns]))
    for col in base_cols:
        keys = keys_of(sub[col])
        first: dict[int, tuple[str, object]] = {}
        conflict = []
        for r, k, raw in zip(rows, keys, sub[col].tolist()):
            if k is None:
                continue
            if r in first and first[r][0] != k:
                conflict.append(order[r])
            first.setdefault(r, (k, raw))
        if conflict:
            varying = ", ".join(repr(c) for c in sorted(set(conflict))[:6])
            problems.add(f"column '{col}': a baseline characteristic must be the same on every row of a participant; it varies for ids {varying}")
        wide[col] = [first.get(i, (None, None))[1] for i in range(len(order))]
    all_times = sorted({t for t in time_keys if t is not None}, key=_time_sort_key)
    sources: dict[tuple[str, str], str | list[str] | None] = {}
    for i, o in enumerate(plan.outcomes):
        if o.derive is not None:
            continue
        base_key = value_key(o.baseline) if o.baseline is not None else None
        if base_key is not None and base_key not in all_times:
            problems.add(f"outcomes[{i}].baseline: time value {o.baseline!r} does not occur in column '{time_col}'; "
                         f"times found: {', '.join(all_times)}")
        for t in all_times:
            vals = pd.Series([None] * len(order), dtype=object)
            mask = time_keys == t
            vals.iloc[rows[mask]] = sub[o.column].to_numpy(dtype=object)[mask]
            name = f"{o.name}@{t}"
            wide[name] = vals
            sources[(o.name, t)] = name
            if o.exposure is not None:      # a count outcome's exposure, per visit row
                exp = pd.Series([None] * len(order), dtype=object)
                exp.iloc[rows[mask]] = sub[o.exposure].to_numpy(dtype=object)[mask]
                wide[f"{o.name}@{t}#exposure"] = exp
        sources[(o.name, "__baseline__")] = f"{o.name}@{base_key}" if base_key in all_times else None
        sources[(o.name, "__followups__")] = [t for t in all_times if t != base_key]
    return wide, sources


def _time_sort_key(t: str):
    try:
        return (0, float(t), "")
    except ValueError:
        return (1, 0.0, t)
