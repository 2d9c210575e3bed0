"""The prepared trial: one row per randomised participant of the analysed arms (two, or every
listed arm of a multi-arm trial), every variable coded as the models use it, and the record of
who was excluded and why."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class OutcomeData:
    name: str
    label: str
    type: str                              # continuous | binary | count | ordinal | time_to_event
    baseline: np.ndarray | None            # per participant, NaN = missing
    baseline_source: str | None            # the column (wide) or "<column>@<time>" (long)
    followups: dict[str, np.ndarray]       # label -> values, in time order
    range: tuple[float, float] | None = None
    event: str | None = None               # binary: the event's level text
    exposure: dict[str, np.ndarray] | None = None   # count: exposure (> 0) per follow-up; log() is the offset
    levels: tuple[str, ...] = ()           # ordinal: the categories, lowest first (follow-ups hold 0..K-1)
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
    clusters: dict[str, int] | None = None   # data.cluster: clusters per arm ("treated", "control", "total")
    treated_arms: dict[str, int] = field(default_factory=dict)   # multi-arm: each intervention arm -> participants
    # cells of a number column read as missing because they hold a word such as 'None' or 'null', per column
    missing_words: list[str] = field(default_factory=list)

    @property
    def randomised(self) -> int:
        return sum(self.arms.values())

    @property
    def analysed_arms(self) -> str:
        """'the two analysed arms', or for a multi-arm trial 'the k analysed arms'."""
        return f"the {len(self.treated_arms) + 1} analysed arms" if self.treated_arms else "the two analysed arms"

    def arm_counts(self) -> str:
        """'CBT: 23, FT: 23, Cont: 26': participants per analysed arm, the control last."""
        treated = self.treated_arms or {self.arm_values["treated"]: self.arms["treated"]}
        return ", ".join(f"{a}: {n}" for a, n in [*treated.items(), (self.arm_values["control"], self.arms["control"])])

    def as_dict(self) -> dict:
        return {
            "rows_in_file": self.rows_in_file,
            "participants_in_file": self.participants_in_file,
            "randomised_in_analysed_arms": self.randomised,
            "arms": dict(self.arms),
            "arm_values": dict(self.arm_values),
            "excluded": [{"reason": r, "participants": n} for r, n in self.excluded],
            "warnings": list(self.warnings),
            **({"clusters": dict(self.clusters)} if self.clusters is not None else {}),
            **({"treated_arms": dict(self.treated_arms)} if self.treated_arms else {}),
            **({"missing_words": list(self.missing_words)} if self.missing_words else {}),
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
    cluster: np.ndarray | None = None      # data.cluster: cluster code 0..G-1 per participant, else None
    cluster_labels: tuple[str, ...] = ()   # the cluster values by code
    # multi-arm trials: each participant's arm (0 = control, 1..k = arm_labels[k-1]); None for two arms,
    # where ``treat`` says it all. ``treat`` is 1 for every treated arm in a multi-arm trial.
    arm: np.ndarray | None = None
    arm_labels: tuple[str, ...] = ()
    # the plan's columns the arrays above were read from: under copy-on-write (pandas 3) a numeric column's
    # values are a read-only view of the caller's column, and holding this frame (which shares the caller's
    # columns) makes a later write to the caller's DataFrame copy first, so the trial never changes
    source_rows: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def multi_arm(self) -> bool:
        return self.arm is not None and len(self.arm_labels) > 1

    @property
    def arm_code(self) -> np.ndarray:
        """Each participant's arm as an integer: 0 control, 1 treated (multi-arm: 1..k)."""
        return self.arm if self.multi_arm and self.arm is not None else self.treat.astype(int)

    def arm_value(self) -> np.ndarray:
        """Each participant's arm as the data's value (text)."""
        labels = np.array([self.flow.arm_values.get("control", "control"),
                           *(self.arm_labels if self.multi_arm else (self.flow.arm_values.get("treated", "treated"),))], dtype=object)
        return labels[self.arm_code]

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
        if _differ_early(a, b, m.type == "binary"):
            return False
        missing_alike = np.array_equal(np.isnan(a), np.isnan(b))
        seen = ~np.isnan(a)
        if not missing_alike:
            return False
        if np.array_equal(a[seen], b[seen]):
            return True
        return m.type == "binary" and np.array_equal(a[seen], 1.0 - b[seen])


def _differ_early(a: np.ndarray, b: np.ndarray, binary: bool, head: int = 4096) -> bool:
    """The first ``head`` participants already show that ``b`` is not ``a`` (missing for others,
    or another value, and for a binary moderator not ``1 - a`` either): ``moderator_is_baseline``
    is then False without a pass over a million values."""
    if a.shape != b.shape:
        return False
    ha, hb = a[:head], b[:head]
    na = np.isnan(ha)
    if not np.array_equal(na, np.isnan(hb)):
        return True
    x, y = ha[~na], hb[~na]
    return bool(np.any(x != y)) and (not binary or bool(np.any(x != 1.0 - y)))
