"""Row-by-row comparison of a results table with an R reference table.

The tolerances are those the project's acceptance check applies to every reference case:
linear/logistic rows are exact computations (R's lm/glm vs effectmod) so 1e-6 relative leaves
room only for floating-point order effects; mixed rows allow for the optimiser's stopping point
and the Satterthwaite df's numerical derivatives in lmerTest.
"""
from __future__ import annotations

import math

import pandas as pd

KEYS = ("outcome", "timepoint", "moderator", "term")
NUMBERS = ("estimate", "std_error", "ci_low", "ci_high", "p_value")
FLOOR = 1e-9
TOLERANCES = {
    "exact": {"estimate": ("rel", 1e-6), "std_error": ("rel", 1e-6), "ci_low": ("rel_se", 1e-6),
              "ci_high": ("rel_se", 1e-6), "p_value": ("abs", 1e-6)},
    "mixed": {"estimate": ("rel_se", 1e-4), "std_error": ("rel", 2e-3), "ci_low": ("se", 1e-2),
              "ci_high": ("se", 1e-2), "p_value": ("abs", 2e-3)},
}


def _label(v) -> str:
    s = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
    if s.lower() in ("", "nan", "na", "none"):
        return ""
    try:
        f = float(s)
        return str(int(f)) if f.is_integer() else repr(f)
    except ValueError:
        return s


def _key(row) -> tuple:
    return tuple(_label(row[k]) for k in KEYS)


def mismatches(results: pd.DataFrame, reference: pd.DataFrame) -> list[str]:
    """Every disagreement between results and reference (empty list = all agree)."""
    got = {_key(r): r for _, r in results.iterrows()}
    problems = []
    for _, ref in reference.iterrows():
        key = _key(ref)
        if key not in got:
            problems.append(f"{key}: row missing")
            continue
        row = got[key]
        tol = TOLERANCES["mixed" if _label(ref["model"]) == "mixed" else "exact"]
        fields = ("p_value",) if key[3] == "joint" else NUMBERS
        se = float(ref["std_error"]) if not pd.isna(ref["std_error"]) else 0.0
        for f in fields:
            if pd.isna(ref[f]):
                continue
            r, g = float(ref[f]), float(row[f])
            mode, t = tol[f]
            allowed = {"rel": max(t * abs(r), FLOOR), "rel_se": max(t * abs(r), t * abs(se), FLOOR),
                       "se": max(t * abs(se), FLOOR), "abs": t}[mode]
            if not abs(g - r) <= allowed:
                problems.append(f"{key}: {f} {g!r} vs reference {r!r}")
        if key[3] != "joint" and not pd.isna(ref["n"]) and int(ref["n"]) != int(row["n"]):
            problems.append(f"{key}: n {row['n']} vs reference {ref['n']}")
        if _label(ref["model"]) != _label(row["model"]):
            problems.append(f"{key}: model {row['model']} vs reference {ref['model']}")
    return problems
