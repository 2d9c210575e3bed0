"""The plan's outcomes (CONTRACT §2, §6.1): continuous, binary (also derived responders), count,
ordinal and time-to-event, each checked for the keys its type uses."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from .schema_base import Scalar, Strict, check_name, label_key, label_text


class Derivation(Strict):
    """A responder outcome derived from a continuous one (binary outcomes only).

    The derived outcome has the follow-ups of its source; with ``adjust_for_baseline`` its
    models adjust for the source's *continuous* baseline value (a dichotomised baseline would
    throw information away and, for "reduction" rules, is not defined), and a moderator that
    is that baseline enters once.
    """

    from_: str = Field(alias="from", description="Name of the continuous outcome it is derived from.")
    rule: str = Field(description=(
        "'<quantity> <op> <number>' with quantity one of value, change_from_baseline, "
        "reduction_from_baseline, reduction_from_baseline_pct and op one of >=, >, <=, <; "
        "e.g. 'reduction_from_baseline_pct >= 30'."))

    @field_validator("rule")
    @classmethod
    def _rule_parses(cls, value: str) -> str:
        parse_rule(value)
        return value


RULE_QUANTITIES = ("reduction_from_baseline_pct", "reduction_from_baseline", "change_from_baseline", "value")
RULE_OPS = (">=", ">", "<=", "<")


def parse_rule(rule: str) -> tuple[str, str, float]:
    """A responder rule as (quantity, operator, threshold); ValueError saying the grammar if not."""
    parts = rule.split()
    try:
        threshold = float(parts[2]) if len(parts) == 3 else None
    except ValueError:
        threshold = None
    if threshold is None or parts[0] not in RULE_QUANTITIES or parts[1] not in RULE_OPS:
        raise ValueError(f"'{rule}' is not '<quantity> <op> <number>' with quantity one of "
                         f"{', '.join(RULE_QUANTITIES)} and op one of {', '.join(RULE_OPS)}")
    return parts[0], parts[1], threshold


class Outcome(Strict):
    """One outcome, measured at baseline (optionally) and at one or more follow-ups."""

    name: str = Field(description="Identifier used in results.")
    label: Optional[str] = Field(None, description="Display label, e.g. 'Pain intensity (NRS 0-10)'.")
    type: Literal["continuous", "binary", "count", "ordinal", "time_to_event"] = Field("continuous", description=(
        "continuous | binary | count (whole numbers from 0: Poisson or negative binomial, analysis.count_model) | "
        "ordinal (ordered categories: proportional odds) | time_to_event (follow-up time and event indicator: Cox, RMST)."))
    event: Optional[Scalar] = Field(None, description="Binary: the value that counts as the event "
                                                          "(needed unless the values are 0/1 or true/false). "
                                                          "Time-to-event: the event indicator column.")
    range: Optional[tuple[float, float]] = Field(None, description="Values outside [low, high] are a data error.")
    baseline: Optional[Scalar] = Field(None, description="Wide: the baseline column. Long: the baseline time value.")
    followups: Optional[dict[str, str]] = Field(None, description="Wide: follow-up label -> column, in time order.")
    column: Optional[str] = Field(None, description="Long: the column holding the outcome at every visit.")
    derive: Optional[Derivation] = Field(None, description="Binary only: derive the outcome from a continuous outcome of the plan.")
    exposure: Optional[str] = Field(None, description=(
        "Count only, optional: the column of each participant's exposure (time at risk, > 0); log(exposure) enters "
        "as an offset, so the model is of rates. Missing = incomplete case. Wide data: one column for every follow-up; "
        "long data: per row."))
    levels: Optional[list[Scalar]] = Field(None, description=(
        "Ordinal only: the categories from lowest to highest, as they are written in the data (needed unless the "
        "categories are numbers, then ordered by value)."))
    better: Optional[Literal["lower", "higher"]] = Field(None, description=(
        "Which direction of the outcome is better for participants, used to read an interaction as more or "
        "less benefit. Default: lower (pain, disability, adverse events), except a responder outcome derived "
        "as an improvement (e.g. reduction_from_baseline_pct >= 30), where the event is the good result. "
        "Time-to-event outcomes: the direction of the event's hazard - lower when the event is harmful (death, "
        "relapse: longer event-free time is better), higher when the event is the good result (time to recovery)."))
    # time-to-event outcomes (CONTRACT 6.1): one row per participant, a follow-up time and an event indicator
    time: Optional[str] = Field(None, description="Time-to-event only: the follow-up time column (time to the event or to censoring).")
    event_value: Optional[Scalar] = Field(None, description="Time-to-event only: the value of the `event` column that marks an event "
                                                                "(needed unless the values are 0/1 or true/false); any other value is censored.")
    horizon: Optional[float] = Field(None, gt=0, allow_inf_nan=False,
                                     description="Time-to-event only: the horizon, in the time column's units, for the restricted mean "
                                                 "survival time (rmst rows) and the absolute risk per arm.")
    time_unit: Optional[str] = Field(None, description="Time-to-event only: the unit of the time column (e.g. days), shown in the report.")

    _name = field_validator("name")(check_name)

    @field_validator("followups", mode="before")
    @classmethod
    def _labels_as_text(cls, value: object) -> object:
        if isinstance(value, dict):
            # '18', 18, 18.0 and ' 18' are one label: two of them would keep only the last column
            seen: dict[str, object] = {}
            for k, col in value.items():
                same = seen.setdefault(label_key(k), k)
                if same is not k:
                    raise ValueError(f"the labels {same!r} and {k!r} are the same follow-up ({label_key(k)}), "
                                     f"given the columns {value[same]!r} and {col!r}; give each follow-up its own label")
            return {label_text(k): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range: the lower bound must be below the upper bound, got {list(self.range)}")
        if self.type == "time_to_event" or any(v is not None for v in (self.time, self.event_value, self.horizon, self.time_unit)):
            return self._time_to_event()
        if self.event is not None and self.type != "binary":
            raise ValueError("event: only binary outcomes have an event value")
        if self.exposure is not None and self.type != "count":
            raise ValueError("exposure: only count outcomes have an exposure (set type: count)")
        if self.levels is not None and self.type != "ordinal":
            raise ValueError("levels: only ordinal outcomes have declared levels (set type: ordinal)")
        if self.levels is not None:
            keys = [label_key(v) for v in self.levels]
            if len(keys) < 2 or len(set(keys)) != len(keys):
                raise ValueError(f"levels: at least two distinct categories, lowest first; got {list(self.levels)}")
        if self.derive is not None:
            if self.type != "binary":
                raise ValueError("derive: only binary outcomes can be derived (set type: binary)")
            if self.followups or self.column:
                raise ValueError("derive: a derived outcome takes its follow-ups from the outcome it is derived from; remove followups/column")
        elif self.followups is None and self.column is None:
            raise ValueError("needs followups (wide data: label -> column) or column (long data)")
        if self.followups is not None and self.column is not None:
            raise ValueError("give followups (wide data) or column (long data), not both")
        if self.followups is not None and len(self.followups) == 0:
            raise ValueError("followups: at least one follow-up is needed")
        return self

    def _time_to_event(self):
        if self.type != "time_to_event":
            used = [k for k in ("time", "event_value", "horizon", "time_unit") if getattr(self, k) is not None]
            raise ValueError(f"{', '.join(used)}: only time_to_event outcomes have these keys (set type: time_to_event)")
        if self.time is None or self.event is None:
            raise ValueError("a time_to_event outcome needs time (the follow-up time column) and event (the event indicator column)")
        if not isinstance(self.event, str):
            raise ValueError(f"event: the event indicator column's name, got {self.event!r}")
        for key in ("followups", "column", "baseline", "derive", "range"):
            if getattr(self, key) is not None:
                raise ValueError(f"{key}: not used by a time_to_event outcome (one row per participant: time and event)")
        return self
