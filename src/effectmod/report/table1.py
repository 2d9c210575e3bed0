"""Table 1: baseline characteristics by arm, as journals print them.

Categories are read with the analysis's own rules for missing values (``data.values.keys_of``):
an empty cell or a word such as 'NA' is missing - counted on the 'missing' line, never shown as a
level of its own - and 1, 1.0 and "1" are one level.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.values import keys_of, sort_levels
from .display import arm_name, column_level_name
from .labels import label_of
from .sentences import number
from .text import printable

# |sample skewness| above this makes Table 1 show median (IQR) instead of mean (SD)
SKEW_LIMIT = 1.0
# level and missing-count lines sit under their characteristic
INDENT = "    "


def _skewness(x: np.ndarray) -> float:
    if len(x) < 3 or np.std(x) == 0:
        return 0.0
    return float(np.mean((x - x.mean()) ** 3) / np.std(x) ** 3)


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def table1_spec(results) -> list[tuple[str, str, str]]:
    """(column, label, kind) of each Table 1 variable; kind is continuous or categorical."""
    plan = results.plan
    frame = results.trial.baseline_frame
    spec = []
    for m in plan.moderators:
        if m.column in frame.columns:
            kind = "continuous" if m.type == "continuous" else "categorical"
            spec.append((m.column, printable(label_of(m)), kind))
    seen = {c for c, _, _ in spec}
    for o in plan.outcomes:
        if o.baseline is not None and o.baseline in frame.columns and o.baseline not in seen:
            spec.append((o.baseline, printable(f"{label_of(o)}, baseline"), "continuous"))
            seen.add(o.baseline)
    for entry in plan.covariates:
        c = entry if isinstance(entry, str) else entry.column
        if c in frame.columns and c not in seen:
            s = frame[c]
            if isinstance(entry, str):
                # the data's text columns hold numbers as text: a column whose every value is a number
                # enters the models as one linear term, so Table 1 shows it as one (mean (SD))
                values = pd.to_numeric(s.dropna(), errors="coerce") if not _is_numeric(s) else s.dropna()
                numeric = bool(values.notna().all()) and values.nunique() > 5
            else:   # the mapping form says how it enters the models: counts by level for a category
                numeric = entry.type != "categorical"
            spec.append((c, c, "continuous" if numeric else "categorical"))
            seen.add(c)
    return spec


def table1(results) -> pd.DataFrame:
    """Baseline characteristics by arm (Table 1).

    Continuous variables: mean (SD), or median (IQR) when the absolute sample skewness over
    both arms exceeds ``SKEW_LIMIT``; categories: n (%) of those with the value observed;
    a 'missing' line wherever a value is missing.
    """
    frame = results.trial.baseline_frame
    flow = results.trial.flow
    treat = frame["treat"].to_numpy() == 1
    arms = [(f"{arm_name(results.plan, flow.arm_values['treated'])} (n = {int(treat.sum())})", treat),
            (f"{arm_name(results.plan, flow.arm_values['control'])} (n = {int((~treat).sum())})", ~treat)]
    if results.trial.multi_arm:
        # one column per arm: the treated arms in plan order, then the control
        code = results.trial.arm_code
        arms = [(f"{arm_name(results.plan, lab)} (n = {int((code == k).sum())})", code == k)
                for k, lab in enumerate(results.trial.arm_labels, start=1)]
        arms.append((f"{arm_name(results.plan, flow.arm_values['control'])} (n = {int((code == 0).sum())})", code == 0))
    out = []
    for col, label, kind in table1_spec(results):
        s = frame[col]
        if kind == "continuous":
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            skewed = abs(_skewness(x[~np.isnan(x)])) > SKEW_LIMIT
            stat = "median (IQR)" if skewed else "mean (SD)"
            row = {"Characteristic": f"{label}, {stat}"}
            for name, mask in arms:
                v = x[mask & ~np.isnan(x)]
                if len(v) == 0:
                    row[name] = ""
                elif skewed:
                    q1, q2, q3 = np.percentile(v, [25, 50, 75])
                    row[name] = f"{number(q2, 1)} ({number(q1, 1)}-{number(q3, 1)})"
                else:
                    row[name] = f"{number(v.mean(), 1)} ({number(v.std(ddof=1) if len(v) > 1 else 0.0, 1)})"
            out.append(row)
            miss = np.isnan(x)
        else:
            keys = keys_of(s)
            miss = np.array([k is None for k in keys], dtype=bool)
            out.append({"Characteristic": f"{label}, n (%)", **{name: "" for name, _ in arms}})
            for level in sort_levels({k for k in keys[~miss]}):
                row = {"Characteristic": INDENT + column_level_name(results.plan, col, level)}
                in_level = keys == level
                for name, mask in arms:
                    observed = int((mask & ~miss).sum())
                    k = int((in_level & mask).sum())
                    row[name] = f"{k} ({number(100 * k / observed, 1)})" if observed else "0"
                out.append(row)
        if miss.any():
            out.append({"Characteristic": INDENT + "missing, n",
                        **{name: str(int((mask & miss).sum())) for name, mask in arms}})
    if results.trial.cluster is not None:
        from .clusters import table1_rows
        out = table1_rows(results, arms) + out
    return pd.DataFrame(out, columns=["Characteristic"] + [name for name, _ in arms])
