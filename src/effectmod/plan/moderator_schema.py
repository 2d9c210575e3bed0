"""The plan's moderators and covariates (CONTRACT §2): their types, references and directions."""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from .display_labels import check_labels
from .schema_base import Scalar, Strict, check_name

Direction = Literal["greater_benefit_when_higher", "less_benefit_when_higher", "unspecified"]


class Moderator(Strict):
    """A candidate treatment-effect modifier (pre-specified unless `prespecified: false`)."""

    name: str = Field(description="Identifier used in results.")
    column: str = Field(description="Data column holding the moderator (measured at baseline).")
    type: Literal["continuous", "binary", "categorical"] = Field(description="continuous | binary | categorical.")
    label: Optional[str] = Field(None, description="Display label, e.g. 'Back perception (FreBAQ 0-36)'.")
    reference: Optional[Scalar] = Field(None, description="Binary/categorical: the reference level (default: the first level in numeric order when "
                                                          "all levels are numbers, else in code-point order).")
    hypothesised_direction: Direction = Field("unspecified", description="The pre-specified direction of modification.")
    rationale: str = Field("", description="Why this moderator was chosen (the pre-specification record).")
    at: list[float] = Field(default_factory=list, description="Continuous: extra moderator values at which to report the treatment effect.")
    prior_evidence: Optional[Literal["none", "weak", "moderate", "strong"]] = Field(None, description="Credibility: strength of prior evidence for "
                                                                                                      "this modifier from other studies.")
    units: Optional[str] = Field(None, description="Unit of the moderator, shown in figure axes.")
    prespecified: bool = Field(True, description="false for a moderator chosen after the data were seen: the report and "
                                                 "`effectmod sap` label its analysis post hoc (CONSORT 2025).")
    per: Optional[float] = Field(None, gt=0, allow_inf_nan=False,
                                 description="Continuous only: report the interaction per this many units of the moderator (estimate, "
                                             "SE and CI multiplied by it; P unchanged; written in results.csv's per column). "
                                             "Default 1.")
    level_labels: Optional[dict[Scalar, str]] = Field(None, description=(
        "Binary/categorical: display labels of the levels, value -> label (e.g. {1: male, 2: female}), used wherever "
        "the report, console, tables and figures show a level; keys are levels of the column (1, 1.0 and '1' are one "
        "value). results.csv keeps the data values."))

    _name = field_validator("name")(check_name)
    _level_labels = field_validator("level_labels")(check_labels)

    @model_validator(mode="after")
    def _consistent(self):
        if self.type == "continuous" and self.reference is not None:
            raise ValueError("reference: only binary and categorical moderators have a reference level")
        if self.type != "continuous" and self.at:
            raise ValueError("at: only continuous moderators take values to report effects at (levels are reported anyway)")
        if self.type != "continuous" and self.per is not None:
            raise ValueError("per: only continuous moderators are reported per k units (a binary or categorical interaction compares levels)")
        if self.type == "continuous" and self.level_labels:
            raise ValueError("level_labels: only binary and categorical moderators have levels to label")
        return self


class Covariate(Strict):
    """A covariate in the mapping form, which states how the column enters every model."""

    column: str = Field(description="Data column adjusted for.")
    type: Literal["categorical", "continuous", "numeric"] = Field(description=(
        "categorical: one indicator per level except the reference (numeric codes such as sites 1-5 too); "
        "continuous (or numeric): the values entered as one term, and text values are an error."))
    reference: Optional[Scalar] = Field(None, description="Categorical: the reference level (default: the first level in numeric order when all "
                                                          "levels are numbers, else in code-point order).")

    @model_validator(mode="after")
    def _consistent(self):
        if self.type != "categorical" and self.reference is not None:
            raise ValueError("reference: only categorical covariates have a reference level")
        return self


def _covariate_form(value) -> str:
    return "Covariate" if isinstance(value, (dict, Covariate)) else "str"


# a plain name (entered as it is when numeric, dummy-coded when text) or the mapping form
CovariateEntry = Annotated[Union[Annotated[str, Tag("str")], Annotated[Covariate, Tag("Covariate")]],
                           Discriminator(_covariate_form)]


def covariate_column(entry) -> str:
    """The data column of a covariate entry (a plain name or a ``Covariate``)."""
    return entry if isinstance(entry, str) else entry.column


def covariate_type(entry) -> Optional[str]:
    """'categorical' or 'continuous' as declared in the mapping form; None for a plain name."""
    if isinstance(entry, str):
        return None
    return "categorical" if entry.type == "categorical" else "continuous"


# more than this many resamples, imputations or permutations only costs time (their Monte Carlo
# error is long negligible), and a typo such as 1e9 would run for days or exhaust memory
