"""Plan and data checked together, so that one run lists every problem with either.

A plan with a typo in one key still names its columns; the data can be checked against what
can be salvaged of it, and the user sees the plan's problems and the data's in one message.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataError, PlanError
from ..plan.load import read_plan_mapping, salvage_plan, validate_plan
from ..plan.schema import Plan
from .load import closest_columns, read_data
from .prepare import prepare_trial
from .trial import TrialData


def load_inputs(data: str | Path | pd.DataFrame, plan: str | Path | dict | Plan) -> tuple[Plan, pd.DataFrame, TrialData]:
    """Validate the plan, read the data and prepare the trial, collecting every problem.

    Returns (plan, frame, trial). Raises ``PlanError`` (when the plan has problems, listing the
    data's problems too, as far as the plan allows checking them) or ``DataError``.
    """
    plan_problems: list[str] = []
    plan_obj: Plan | None = plan if isinstance(plan, Plan) else None
    checking: Plan | None = plan_obj
    dropped: list[tuple[str, str]] = []
    raw = None
    if not isinstance(plan, Plan):       # the plan_obj is None case
        try:
            raw, origin = read_plan_mapping(plan)
            plan_obj = checking = validate_plan(raw, origin=origin)
        except PlanError as exc:
            plan_problems = exc.problems
            checking, dropped = salvage_plan(raw)

    data_problems: list[str] = []
    frame = None
    try:
        sheet = checking.data.sheet if checking is not None else _raw_sheet(raw)
        columns = plan_columns(checking) + [col for _, col in dropped] if checking is not None else None
        # a caller's DataFrame is only read (prepare_trial never modifies its input)
        frame = data if isinstance(data, pd.DataFrame) else read_data(data, sheet=sheet, columns=columns)
    except DataError as exc:
        data_problems = exc.problems

    trial = None
    if frame is not None:
        for where, col in dropped:
            if col not in frame.columns:
                data_problems.append(f"column '{col}' (plan: {where}) is not in the data.{closest_columns(col, frame.columns)}")
        if checking is not None:
            try:
                trial = prepare_trial(frame, checking)
            except DataError as exc:
                data_problems += exc.problems
    problems = list(dict.fromkeys(plan_problems + data_problems))
    if plan_problems:
        raise PlanError(problems)
    if data_problems:
        raise DataError(problems)
    assert plan_obj is not None and frame is not None and trial is not None     # no problems: every step ran
    return plan_obj, frame, trial


def plan_columns(plan: Plan) -> list[str]:
    """Every data column the plan refers to (Plan.data_columns)."""
    return plan.data_columns()


def _raw_sheet(raw):
    spec = raw.get("data") if isinstance(raw, dict) else None
    sheet = spec.get("sheet") if isinstance(spec, dict) else None
    return sheet if isinstance(sheet, (str, int)) and not isinstance(sheet, bool) else None

