"""The predictive section's data columns checked with the rest of the data (so that `effectmod
validate` lists their problems too): each must hold numbers."""
from __future__ import annotations

from ..plan.schema import Plan
from .problems import Problems
from .values import numeric_column


def check_predictive_columns(wide, plan: Plan, problems: Problems) -> None:
    if plan.predictive is None:
        return
    columns = set(plan.predictive_columns())
    for key in ("risk_predictors", "effect_predictors"):
        for i, name in enumerate(getattr(plan.predictive, key)):
            if name not in columns or name not in wide.columns:
                continue
            _, bad, hint = numeric_column(wide[name])
            if bad:
                problems.add(f"predictive.{key}[{i}]: column '{name}' holds text (e.g. {bad[0][1]!r}){hint}; predictors are "
                             "numeric: declare it as a binary or categorical moderator to use its levels")
