"""The plan's `predictive:` section (CONTRACT §6.4): PATH risk modelling, effect modelling and shrinkage."""
from __future__ import annotations

from typing import Literal, Union

from pydantic import Field, field_validator, model_validator

from ..counts import whole_number
from .schema_base import Strict

PREDICTIVE_OUTCOME_TYPES = ("continuous", "binary", "time_to_event", "count")


class Predictive(Strict):
    """Predictive heterogeneity as the PATH Statement describes it (CONTRACT §6.4): risk modelling,
    effect modelling and shrunken subgroup effects."""

    risk_predictors: list[str] = Field(default_factory=list, description=(
        "Risk modelling: baseline predictors of the outcome (moderator names or data columns, numeric), fitted on both arms "
        "without treatment (OLS for continuous, logistic for binary, Cox for time-to-event - risk by the outcome's horizon - and "
        "Poisson for count outcomes). Empty: no risk modelling."))
    risk_groups: Union[int, list[float]] = Field(4, description=(
        "Risk groups: the number of equal-sized groups of predicted risk (quantiles; 2 or more), or a list of increasing "
        "cut-points on the predicted risk scale (probability for binary outcomes, outcome units for continuous ones, "
        "probability of the event by the horizon for time-to-event ones, events per unit exposure for count ones)."))
    effect_predictors: list[str] = Field(default_factory=list, description=(
        "Effect modelling: predictors whose treatment interactions enter one penalised model together (moderator names or "
        "numeric data columns). Empty: no effect modelling."))
    penalty: Literal["ridge", "lasso"] = Field("ridge", description=(
        "Effect modelling: ridge or lasso penalty on the interactions, its size chosen by cross-validation "
        "(main effects are scaled so that they are barely penalised)."))
    shrinkage: bool = Field(True, description=(
        "Shrunken subgroup effects: each binary or categorical moderator's level effects shrunk towards their common mean "
        "(normal-normal empirical Bayes, REML between-level variance)."))
    bootstrap: int = Field(200, ge=0, description=(
        "Bootstrap resamples for the optimism correction (Harrell) and intervals of the discrimination and calibration "
        "metrics (0 = apparent values only, no intervals; at most 10,000)."))
    folds: int = Field(5, ge=2, le=20, description="Effect modelling: folds of the cross-validation that chooses the penalty.")
    prespecified: bool = Field(False, description=(
        "true when these analyses were written in the plan before the data were seen; otherwise the report labels them "
        "exploratory (PATH)."))

    @field_validator("bootstrap", mode="before")
    @classmethod
    def _whole(cls, value):
        return whole_number(value, 10_000)

    @field_validator("risk_groups")
    @classmethod
    def _groups(cls, value):
        if isinstance(value, bool):
            raise ValueError("give a number of groups (e.g. 4) or a list of cut-points")
        if isinstance(value, int) and value < 2:
            raise ValueError(f"at least 2 groups are needed, got {value}")
        if isinstance(value, list):
            if not value or any(not b > a for a, b in zip(value, value[1:])):
                raise ValueError(f"cut-points must be a non-empty list of increasing numbers, got {value}")
        return value

    @model_validator(mode="after")
    def _something(self):
        if not self.risk_predictors and not self.effect_predictors and not self.shrinkage:
            raise ValueError("nothing to do: give risk_predictors, effect_predictors or shrinkage: true")
        for key in ("risk_predictors", "effect_predictors"):
            names = getattr(self, key)
            if len(set(names)) != len(names):
                raise ValueError(f"{key}: a predictor is listed twice")
        return self

    def names(self) -> list[str]:
        """Every predictor name, in plan order, each once."""
        return list(dict.fromkeys(self.risk_predictors + self.effect_predictors))
