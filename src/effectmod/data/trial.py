"""The prepared trial: one row per randomised participant of the two analysed arms, every
variable coded as the models use it, and the record of who was excluded and why."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class OutcomeData:
    name: str
    label: str
    type: str                              # continuous | binary | time_to_event
    baseline: np.ndarray | None            # per participant, NaN = missing
    baseline_source: str | None            # the column (wide) or "<column>@<time>" (long)
    followups: dict[str, np.ndarray]       # label -> values, in time order
    range: tuple[float, float] | None = None
    event: str | None = None               # binary: the event's level text
    # time_to_event: followups = {"": follow-up time}; status 1 = event, 0 = censored (NaN = missing)
    status: np.ndarray | None = None
    horizon: float | None = None
    time_unit: str | None = None


@dataclass(frozen=True)
class ModeratorData:
    name: str
    label: str
    type: str                              # continuous | binary | categorical
    values: np.ndarray                     # continuous: raw; binary: 0/1; categorical: codes 0..k-1 (0 = reference)
    source: str                            # data column
    levels: tuple[str, ...] = ()           # binary/categorical: level text by code

    @property
    def column_names(self) -> tuple[str, ...]:
        """One name per design column: the moderator itself, or each non-reference level."""
        if self.type == "categorical":
            return tuple(self.levels[1:])
        return ("",)

    def design(self, values: np.ndarray | None = None) -> np.ndarray:
        """Design columns (n, k): the values themselves, or dummies of the non-reference levels."""
        v = self.values if values is None else values
        if self.type != "categorical":
            return v.reshape(-1, 1).astype(float)
        out = np.zeros((len(v), len(self.levels) - 1))
        for j in range(1, len(self.levels)):
            out[:, j - 1] = (v == j)
        out[np.isnan(v)] = np.nan
        return out


@dataclass(frozen=True)
class CovariateData:
    names: tuple[str, ...]                 # design column names (a categorical covariate gives k-1)
    matrix: np.ndarray                     # (n, q), NaN = missing
    sources: tuple[str, ...] = ()          # data column of each design column
    references: dict = field(default_factory=dict)   # categorical covariate's column -> its reference level


@dataclass(frozen=True)
class DataFlow:
    """Who came in and who left, with reasons: every participant is accounted for."""

    rows_in_file: int
    participants_in_file: int
    arms: dict[str, int]                   # "treated"/"control" -> participants
    arm_values: dict[str, str]             # "treated"/"control" -> the data value
    excluded: list[tuple[str, int]]        # (reason, participants)
    warnings: list[str] = field(default_factory=list)

    @property
    def randomised(self) -> int:
        return sum(self.arms.values())

    def as_dict(self) -> dict:
        return {
            "rows_in_file": self.rows_in_file,
            "participants_in_file": self.participants_in_file,
            "randomised_in_analysed_arms": self.randomised,
            "arms": dict(self.arms),
            "arm_values": dict(self.arm_values),
            "excluded": [{"reason": r, "participants": n} for r, n in self.excluded],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class TrialData:
    ids: np.ndarray
    treat: np.ndarray                      # 1 = treated, 0 = control
    outcomes: dict[str, OutcomeData]
    moderators: dict[str, ModeratorData]
    covariates: CovariateData
    flow: DataFlow
    baseline_frame: pd.DataFrame           # raw baseline columns of analysed participants (Table 1)

    @property
    def n(self) -> int:
        return len(self.ids)

    def moderator_is_baseline(self, outcome: str, moderator: str) -> bool:
        """The moderator *is* the outcome's baseline: the same column, or identical values (long
        data); a binary moderator also when it codes the baseline's event the other way round."""
        o, m = self.outcomes[outcome], self.moderators[moderator]
        if o.baseline is None or m.type == "categorical":
            return False
        if o.baseline_source == m.source:
            return True
        a, b = o.baseline, m.values
        missing_alike = np.array_equal(np.isnan(a), np.isnan(b))
        seen = ~np.isnan(a)
        if not missing_alike:
            return False
        if np.array_equal(a[seen], b[seen]):
            return True
        return m.type == "binary" and np.array_equal(a[seen], 1.0 - b[seen])
