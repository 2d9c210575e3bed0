"""The plan's columns in the data frame: missing-value codes applied, absent or misspelt columns found,
and the plan reduced to the columns present so that one run lists every problem."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..plan.schema import Plan, covariate_column
from .load import closest_columns
from .named_values import named_values
from .problems import Problems
from .values import float_code_hits, integer_code_hits, is_missing_token, keys_of, value_key

# R writes a missing value as NA in every column (write.csv); files from R are common, so NA is
# missing unless the plan lists its missing codes itself
R_MISSING = "NA"


def apply_missing_codes(frame: pd.DataFrame, plan: Plan, problems: Problems | None = None,
                        keyed: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """The plan's columns with their missing codes set to missing: the cells of
    ``data.missing_codes`` and, when the plan does not give that key, R's ``NA``; an ``NA`` in a
    text column is said in a warning (it may be a level, e.g. North America), with the remedy.
    With ``missing_codes`` given (even ``[]``), ``NA`` is a level in a text column and missing in a
    number column, as other words for missing are (``data.values.keys_of``).

    ``keyed``, when given, receives the keys (``keys_of(tokens="text")``) of the columns keyed here
    and left as they are, so that they are not keyed twice (``keys_of(raw=...)``)."""
    explicit = "missing_codes" in plan.data.model_fields_set
    codes = {k for c in plan.data.missing_codes if (k := value_key(c)) is not None}
    if not explicit:
        codes.add(R_MISSING)
    if not codes:
        return frame
    out = frame.copy(deep=False)     # columns with codes are replaced, never written into
    named = named_values(plan)
    # only the plan's columns: the others are never analysed, and keying every cell costs time
    for col in [c for c in plan.data_columns() if c in out.columns]:
        fast = float_code_hits(out[col], codes)
        if fast is None:
            fast = integer_code_hits(out[col], codes)
        if fast is not None and not fast.any():
            continue
        keys = keys_of(out[col], tokens="text")
        # R's NA is not missing in a column where the plan names it as a value (a level, an arm)
        col_codes = codes - named.get(col, set()) if not explicit else codes
        hit = np.isin(keys, list(col_codes))
        if not hit.any():
            if keyed is not None:
                keyed[col] = keys
            continue
        for k in sorted(codes & named.get(col, set())) if explicit else ():
            if (n := int(np.sum(keys == k))) > 0 and problems is not None:
                problems.warn(f"column '{col}': {k!r} ({n} rows) is listed in data.missing_codes and named by the plan as "
                              "a value of this column (a level, reference, event or arm); it is read as missing")
        na = (keys == R_MISSING) & hit
        if not explicit and na.any() and problems is not None and _text_beside(keys, na | (keys == None)):  # noqa: E711
            problems.warn(f"column '{col}': 'NA' ({int(na.sum())} rows) read as missing, as R writes a missing value; "
                          "if 'NA' is a level here (e.g. North America), give data.missing_codes in the plan "
                          "(missing_codes: [] keeps it as a level)")
        out[col] = out[col].astype(object).where(~hit, None)
    return out


def _text_beside(keys: np.ndarray, skip: np.ndarray) -> bool:
    """Whether the column's other values hold text (not only numbers or true/false)."""
    for k in pd.unique(keys[~skip]):
        if k in ("true", "false") or is_missing_token(k):
            continue
        try:
            float(k)
        except (TypeError, ValueError):
            return True
    return False


def check_columns(frame: pd.DataFrame, plan: Plan, problems: Problems) -> set:
    """Problems with the plan's columns (absent, or named twice); returns the usable column names."""
    cols = set(frame.columns)
    repeated = set(frame.columns[frame.columns.duplicated()])
    wanted = [("data.id", plan.data.id), ("data.treatment", plan.data.treatment)]
    if plan.data.time is not None:
        wanted.append(("data.time", plan.data.time))
    if plan.data.cluster is not None:
        wanted.append(("data.cluster", plan.data.cluster))
    for i, o in enumerate(plan.outcomes):
        if o.derive is not None:
            continue
        if o.type == "time_to_event":
            wanted += [(f"outcomes[{i}].time", str(o.time)), (f"outcomes[{i}].event", str(o.event))]
            continue
        if plan.data.time is None:
            if o.baseline is not None:
                wanted.append((f"outcomes[{i}].baseline", str(o.baseline)))
            for label, col in (o.followups or {}).items():
                wanted.append((f"outcomes[{i}].followups['{label}']", col))
        elif o.column is not None:      # long data: the plan's own check requires it
            wanted.append((f"outcomes[{i}].column", o.column))
        if o.exposure is not None:
            wanted.append((f"outcomes[{i}].exposure", o.exposure))
    for i, m in enumerate(plan.moderators):
        wanted.append((f"moderators[{i}].column", m.column))
    for i, c in enumerate(plan.covariates):
        wanted.append((f"covariates[{i}]" + ("" if isinstance(c, str) else ".column"), covariate_column(c)))
    if plan.predictive is not None:
        for key in ("risk_predictors", "effect_predictors"):
            for i, name in enumerate(getattr(plan.predictive, key)):
                if name in plan.predictive_columns():
                    wanted.append((f"predictive.{key}[{i}]", name))
    for where, col in wanted:
        if col not in cols:
            problems.add(f"column '{col}' (plan: {where}) is not in the data.{closest_columns(col, frame.columns)}")
        elif col in repeated:
            count = int(np.sum(frame.columns == col))
            problems.add(f"column '{col}' (plan: {where}): {count} columns of the data have this name; "
                         "rename or drop the copies so that the plan names one column")
    return cols - repeated


def without_missing_columns(plan: Plan, cols: set) -> Plan | None:
    """The plan without the outcomes, moderators and covariates whose columns are absent
    (None when the id, treatment or time column is absent: nothing more can be checked)."""
    if any(c is not None and c not in cols for c in (plan.data.id, plan.data.treatment, plan.data.time)):
        return None
    long = plan.data.time is not None

    def present(o) -> bool:
        if o.derive is not None:
            return True
        if o.exposure is not None and o.exposure not in cols:
            return False
        if o.type == "time_to_event":
            return str(o.time) in cols and str(o.event) in cols
        if long:
            return o.column in cols
        return (o.baseline is None or str(o.baseline) in cols) and all(c in cols for c in (o.followups or {}).values())
    return plan.model_copy(update={
        "outcomes": [o for o in plan.outcomes if present(o)],
        "moderators": [m for m in plan.moderators if m.column in cols],
        "covariates": [c for c in plan.covariates if covariate_column(c) in cols],
    })
