"""What ``effectmod init`` guessed, as records the renderer writes out: the draft, its outcomes and
its moderators."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Outcome:
    name: str
    type: str
    columns: list[str]                       # wide: baseline (if any) then follow-ups; long: [column]
    baseline: str | None = None              # wide: column; long: time value
    followups: dict[str, str] = field(default_factory=dict)
    column: str | None = None
    event: str | None = None
    levels: list[str] = field(default_factory=list)
    range: tuple[float, float] | None = None
    notes: list[str] = field(default_factory=list)
    label: str | None = None                 # from the file's variable labels (SPSS/Stata)
    better: str = "lower"
    better_note: str = ""
    time: str | None = None                  # time_to_event: the follow-up time column
    event_column: str | None = None          # time_to_event: the event indicator column
    time_unit: str | None = None             # time_to_event: guessed from the time column's name


@dataclass
class Moderator:
    name: str
    column: str
    type: str
    levels: list[str]
    n_missing: int
    note: str = ""
    level_labels: dict[str, str] = field(default_factory=dict)   # SPSS/Stata value labels of a coded column


@dataclass
class Draft:
    source: str
    rows: int
    id: str | None = None
    id_note: str = ""
    time: str | None = None
    time_levels: list[str] = field(default_factory=list)
    arm: str | None = None
    treated: str | None = None
    control: str | None = None
    arm_note: str = ""
    treated_arms: list[str] = field(default_factory=list)   # more than two arms: every arm but the control
    sheet: str | None = None
    missing_codes: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    moderators: list[Moderator] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    covariates: list[tuple[str, list[str]]] = field(default_factory=list)   # (column, levels): numeric codes
    labels: dict[str, str] = field(default_factory=dict)     # variable labels of an SPSS/Stata file
    later: set[str] = field(default_factory=set)             # columns named as measured after baseline
    unsupported: list[str] = field(default_factory=list)     # outcomes of a type this version cannot analyse
    cluster: str | None = None                # data.cluster guessed (plan/draft/clusters.py)
    cluster_note: str = ""
    cluster_suggested: bool = False           # only suggested (a commented-out line): clusters hold several arms
    arm_labels: dict[str, str] = field(default_factory=dict)   # SPSS/Stata value labels of the coded arms
