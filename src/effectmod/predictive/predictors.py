"""The predictors named in the plan's ``predictive`` section as numeric matrices, one row per participant."""
from __future__ import annotations

import numpy as np

from ..data.values import numeric_column
from ..errors import DataError
from ..plan.schema import Plan


def predictor_matrix(names: list[str], key: str, trial, plan: Plan) -> tuple[np.ndarray, list[str]]:
    """(n, p) matrix of the predictors (NaN = missing) and the name of each column.

    A moderator name gives the moderator as coded for the models (a categorical one: one indicator
    per non-reference level); any other name is a numeric data column. Text columns are refused
    (exit 2) with the plan key: declare them as a moderator to use their levels.
    """
    columns: list[np.ndarray] = []
    labels: list[str] = []
    problems = []
    for i, name in enumerate(names):
        m = trial.moderators.get(name)
        if m is not None:
            d = m.design()
            for j, level in enumerate(m.column_names):
                columns.append(d[:, j])
                labels.append(f"{name}[{level}]" if level else name)
            continue
        frame = trial.baseline_frame
        if name not in frame.columns:
            problems.append(f"predictive.{key}[{i}]: '{name}' is neither a moderator of the plan nor a data column")
            continue
        values, bad, hint = numeric_column(frame[name])
        if bad:
            problems.append(f"predictive.{key}[{i}]: column '{name}' holds text (e.g. {bad[0][1]!r}){hint}; predictors are "
                            "numeric: declare it as a binary or categorical moderator to use its levels")
            continue
        columns.append(values)
        labels.append(name)
    if problems:
        raise DataError(problems)
    matrix = np.column_stack(columns) if columns else np.empty((trial.n, 0))
    return matrix, labels
