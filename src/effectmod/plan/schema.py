"""The analysis plan (CONTRACT §2) as typed, frozen pydantic models.

Every option is a closed set validated once, here; the rest of effectmod trusts a ``Plan``.
Unknown keys are errors: a typo must never silently change an analysis.
"""
from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from ..counts import checked_seed, whole_number  # noqa: F401 (checked_seed: re-exported)
from .display_labels import allowed_arms, check_labels, unnamed_arm_keys, yaml_bool_hint

# the sections in their own modules, re-exported: the rest of effectmod imports them from here
from .moderator_schema import (  # noqa: F401
    Covariate,
    CovariateEntry,
    Direction,
    Moderator,
    covariate_column,
    covariate_type,
)
from .outcome_schema import RULE_OPS, RULE_QUANTITIES, Derivation, Outcome, parse_rule  # noqa: F401
from .predictive_schema import PREDICTIVE_OUTCOME_TYPES, Predictive  # noqa: F401
from .schema_base import Scalar, Strict

ModelType = Literal["linear", "mixed"]


class DataSpec(Strict):
    """Which columns identify participants, arms and (long data) assessment times."""

    id: str = Field(description="Participant identifier column: one row per participant (wide) or per visit (long).")
    treatment: str = Field(description="Column holding the randomised arm.")
    treated: Union[Scalar, list[Scalar]] = Field(description=(
        "The value that marks the intervention arm; or, in a multi-arm trial, a list of intervention arms, each "
        "compared with `control` in one model with every arm (a one-element list is the two-arm analysis)."))
    control: Optional[Scalar] = Field(None, description=(
        "The control arm's value (required when `treated` is a list); rows in any other arm are excluded and counted."))
    time: Optional[str] = Field(None, description="Long format only: the column holding the assessment time.")
    time_unit: Optional[str] = Field(None, description="Unit of the follow-up labels, shown in the report (e.g. weeks: '52 weeks').")
    sheet: Optional[Union[str, int]] = Field(None, description="Excel files: the sheet to read (name or 0-based index); default the first.")
    missing_codes: list[Scalar] = Field(default_factory=list, description=(
        "Values that mean 'missing' in every column (e.g. -99, 999, '.'). When the key is not given, R's NA is missing too "
        "(files from R write it for every missing value); when it is given (even []), only these codes and empty cells are, "
        "and NA in a text column is a level. A value the plan names for a column (an ordinal outcome's levels, a binary "
        "event, a reference level, the arms) is never a word for missing there ('none' of levels [none, mild, severe]); "
        "other words for missing (None, null, NaN, N/A) that remove cells are said, with their counts."))
    cluster: Optional[str] = Field(None, description=(
        "Cluster-randomised or multicentre trials: the column holding each participant's cluster (school, practice, "
        "site). Linear models then use the CR2 cluster-robust variance with Satterthwaite df (se: CR2, the default), "
        "logistic models the CR0 cluster sandwich; `n` stays the number of participants."))
    arm_labels: Optional[dict[Scalar, str]] = Field(None, description=(
        "Display names of the arms, value -> name (e.g. {1: Exercise, 0: Usual care}), used wherever the report, "
        "console, tables and figures name an arm; keys match the data as `treated`/`control` do (1, 1.0 and '1' are one "
        "value) and must be analysed arms. results.csv keeps the data values."))

    # ---- multi-arm trials (CONTRACT 6.1): `treated` as a list
    @field_validator("treated")
    @classmethod
    def _treated_list(cls, value):
        if isinstance(value, list):
            if not value:
                raise ValueError("the list of treated arms is empty; give at least one arm")
            keys = [str(v) for v in value]
            twice = sorted({k for k in keys if keys.count(k) > 1})
            if twice:
                raise ValueError(f"arm(s) listed more than once: {', '.join(twice)}")
        return value

    @model_validator(mode="after")
    def _control_with_list(self):
        if isinstance(self.treated, list):
            if self.control is None:
                raise ValueError("data.control is required when data.treated is a list of arms")
            if str(self.control) in [str(v) for v in self.treated]:
                raise ValueError(f"data.control ({self.control!r}) is also listed in data.treated")
        return self

    # ---- display names of the arms (plan/display_labels.py); treated and control are validated before
    @field_validator("arm_labels")
    @classmethod
    def _arm_labels(cls, value, info):
        value = check_labels(value)
        if value and "treated" in info.data:
            others = unnamed_arm_keys(info.data["treated"], info.data.get("control"), value)
            if others and (info.data.get("control") is not None or len(others) > 1):
                shown = ", ".join(repr(k) for k in others)
                raise ValueError(f"{shown} {'is not an arm' if len(others) == 1 else 'are not arms'} of the analysis; allowed keys: "
                                 f"{allowed_arms(info.data['treated'], info.data.get('control'))}{yaml_bool_hint(others)}")
        return value

    @property
    def treated_arms(self) -> tuple:
        """The intervention arms' values, in plan order (one for a two-arm trial)."""
        return tuple(self.treated) if isinstance(self.treated, list) else (self.treated,)

    @property
    def multi_arm(self) -> bool:
        """More than one intervention arm, each compared with the control."""
        return len(self.treated_arms) > 1


COUNT_LIMITS = {"bootstrap": 100_000, "imputations": 1_000, "permutations": 1_000_000}
# a level nearer 0 or 1 gives intervals that say nothing (a point, or the whole real line)
CI_LEVEL_RANGE = (0.5, 0.9999)


class Analysis(Strict):
    """How the models are fitted and reported."""

    model: ModelType = Field("linear", description="linear: one regression per outcome and follow-up; mixed: one model over all follow-ups.")
    sensitivity: list[ModelType] = Field(default_factory=list, description="Further model types run beside the main one (e.g. [mixed]); their rows "
                                                                           "carry their own `model`.")
    adjust_for_baseline: bool = Field(True, description="Include the outcome's baseline value as a covariate when it exists.")
    ci_level: float = Field(0.95, description=(
        f"Confidence level of every interval, from {CI_LEVEL_RANGE[0]} to {CI_LEVEL_RANGE[1]} (a 50% to 99.99% interval)."))
    evidence_threshold: float = Field(0.05, description="p below this: 'evidence'.")
    exploratory_threshold: float = Field(0.20, description="p below this (and not evidence): 'hypothesis-generating'.")
    se: Literal["classical", "HC3", "CR2"] = Field("classical", description=(
        "Variance of linear models: classical, the HC3 sandwich, or CR2 (cluster-robust with Satterthwaite df; needs "
        "data.cluster, and is the default when data.cluster is set)."))
    allow_classical_with_clusters: bool = Field(False, description=(
        "With data.cluster: allow se: classical or HC3, which ignore the clustering (their p values are too small when "
        "outcomes are correlated within clusters); without this key such a plan is refused."))
    cluster_decomposition: bool = Field(False, description=(
        "With data.cluster: also split each continuous or binary moderator into its within-cluster part (centred at the "
        "cluster mean) and its cluster mean, each with a treatment interaction (cluster_decomposition.csv, terms within "
        "and between); the within row is free of cluster-level confounding."))
    multiplicity: Literal["none", "holm", "fdr_bh"] = Field("none", description="Adjusted p reported beside the raw p.")
    bootstrap: int = Field(0, ge=0, description=f"Bootstrap resamples for percentile CIs (0 = none; at most {COUNT_LIMITS['bootstrap']:,}).")
    permutations: int = Field(0, ge=0, description=(
        f"Freedman-Lane permutations for a permutation p of each linear interaction (0 = none; at most {COUNT_LIMITS['permutations']:,})."))
    imputations: int = Field(0, ge=0, description=(
        "Multiple imputations (0 = complete cases per model; otherwise at least 2, as Rubin's rules need a between-imputation "
        f"variance; at most {COUNT_LIMITS['imputations']:,})."))
    imputation_method: Literal["norm", "pmm"] = Field("norm", description=(
        "Continuous variables in multiple imputation: norm (Bayesian linear regression draws, truncated to the "
        "declared range, rounded on whole-number scales) or pmm (predictive mean matching, which never imputes "
        "beyond the observed values and under-covers when dropout is strongly selective)."))
    binary_method: Literal["ml", "firth", "firth_if_separated"] = Field("ml", description="Logistic fits: maximum likelihood, Firth's penalised "
                                                                                          "likelihood, or Firth only where separation is found.")
    count_model: Literal["poisson", "negative_binomial"] = Field("poisson", description=(
        "Count outcomes: poisson, or negative_binomial (NB2, its dispersion theta estimated by maximum likelihood "
        "jointly with the coefficients, as MASS::glm.nb). Poisson fits report an overdispersion check."))
    forest_scale: Literal["raw", "per_sd"] = Field("per_sd", description=(
        "Forest plot: interaction per SD of a continuous moderator (its estimate x the SD among the analysed "
        "participants; the default, so that moderators on different scales are all visible) or per unit (raw)."))
    seed: int = Field(2024, ge=0, description=(
        "Seed of every random step (bootstrap, imputation, permutation): a whole number, 0 or more (numpy's random "
        "generators take no negative seeds; a negative one is refused rather than mapped to another)."))

    @field_validator("bootstrap", "permutations", "imputations", "seed", mode="before")
    @classmethod
    def _whole_number(cls, value, info):
        value = whole_number(value, COUNT_LIMITS.get(info.field_name))
        if info.field_name == "seed" and value < 0:
            raise ValueError(f"seeds are whole numbers, 0 or more (numpy takes no negative seeds); got {value}")
        return value

    @field_validator("imputations")
    @classmethod
    def _pooled(cls, value: int) -> int:
        if value == 1:
            raise ValueError("Rubin's rules need at least 2 imputations; use 0 for complete cases or 2 or more (20-50 is usual)")
        return value

    @field_validator("ci_level", "evidence_threshold", "exploratory_threshold")
    @classmethod
    def _open_unit_interval(cls, value: float, info) -> float:
        if not 0.0 < value < 1.0:
            raise ValueError(f"must lie strictly between 0 and 1, got {value}")
        low, high = CI_LEVEL_RANGE
        if info.field_name == "ci_level" and not low <= value <= high:
            raise ValueError(f"{value} is not a usable confidence level; give one from {low} to {high} (e.g. 0.95 for 95% intervals)")
        return value

    @model_validator(mode="after")
    def _ordered(self):
        if self.evidence_threshold > self.exploratory_threshold:
            raise ValueError(
                f"evidence_threshold ({self.evidence_threshold}) must not exceed exploratory_threshold ({self.exploratory_threshold})")
        if self.model in self.sensitivity:
            raise ValueError(f"sensitivity: '{self.model}' is already the main model")
        if len(set(self.sensitivity)) != len(self.sensitivity):
            raise ValueError("sensitivity: a model type is listed twice")
        return self

    @property
    def model_types(self) -> tuple[str, ...]:
        return (self.model, *self.sensitivity)


# outcome types the predictive (PATH) analyses handle; others are refused with the plan key
class Plan(Strict):
    """A validated analysis plan (CONTRACT §2): data columns, outcomes, moderators, covariates and
    analysis options. Build it with ``em.load_plan(path)`` or ``Plan.model_validate(mapping)``; it
    is frozen, and unknown keys are errors. Every key is listed in docs/plan-reference.md."""

    title: str = Field("", description="Free text, shown in the report.")
    data: DataSpec
    outcomes: list[Outcome] = Field(min_length=1)
    moderators: list[Moderator] = Field(min_length=1)
    covariates: list[CovariateEntry] = Field(default_factory=list, description=(
        "Columns adjusted for in every model: a plain name (entered as it is when numeric, one indicator per "
        "non-reference level when text) or {column: X, type: categorical | continuous, reference: ...} "
        "(categorical forces numeric codes such as site 1-5 to indicators)."))
    analysis: Analysis = Field(default_factory=Analysis)
    predictive: Optional[Predictive] = Field(None, description=(
        "Predictive heterogeneity (PATH): risk modelling, penalised effect modelling and shrunken subgroup effects; "
        "writes risk_groups.csv, benefit_metrics.csv and shrunken_subgroups.csv."))

    @model_validator(mode="before")
    @classmethod
    def _cluster_default_se(cls, data):
        from .clusters import default_se
        return default_se(data)

    def data_columns(self) -> list[str]:
        """Every data column the plan refers to, in plan order, each once."""
        d = self.data
        cols = [d.id, d.treatment] + ([d.time] if d.time is not None else [])
        cols += [d.cluster] if d.cluster is not None else []
        for o in self.outcomes:
            if d.time is not None:
                cols += [o.column] if o.column else []
            else:
                cols += ([str(o.baseline)] if o.baseline is not None else []) + list((o.followups or {}).values())
            cols += [o.exposure] if o.exposure is not None else []
        cols += [m.column for m in self.moderators] + self.covariate_columns()
        cols += self.predictive_columns()
        return list(dict.fromkeys(cols))

    def predictive_columns(self) -> list[str]:
        """Data columns named as predictive predictors (names that are not moderators)."""
        if self.predictive is None:
            return []
        moderators = {m.name for m in self.moderators}
        return [n for n in self.predictive.names() if n not in moderators]

    def covariate_columns(self) -> list[str]:
        """The data column of each covariate, in plan order."""
        return [covariate_column(c) for c in self.covariates]

    def better_direction(self, outcome: str) -> str:
        """'lower' or 'higher': which direction of an outcome is better for participants.

        The outcome's own `better`; else 'lower', except for a derived responder outcome, whose
        event is good when its rule marks an improvement of the source outcome (a reduction, or a
        value or change below a cut-off, when lower is better for the source; the reverse when
        higher is).
        """
        o = next(x for x in self.outcomes if x.name == outcome)
        if o.better is not None:
            return o.better
        if o.derive is None:
            return "lower"
        quantity, op, _ = parse_rule(o.derive.rule)
        rises = quantity.startswith("reduction") != op.startswith(">")   # event = the source went up
        source_lower_better = self.better_direction(o.derive.from_) == "lower"
        return "lower" if rises == source_lower_better else "higher"

    def better_basis(self, outcome: str) -> str:
        """Where ``better_direction`` comes from: 'plan' (the outcome's `better`), 'derived' (a
        responder rule on a source whose direction is set) or 'assumed' (not set: the default)."""
        o = next(x for x in self.outcomes if x.name == outcome)
        if o.better is not None:
            return "plan"
        if o.derive is not None and self.better_basis(o.derive.from_) == "plan":
            return "derived"
        return "assumed"

    def better_text(self, outcome: str) -> str:
        """The direction used for an outcome and where it comes from, as the report states it:
        'higher is better (plan)', 'lower is better (assumed: outcomes[].better not set)'."""
        direction, basis = self.better_direction(outcome), self.better_basis(outcome)
        o = next(x for x in self.outcomes if x.name == outcome)
        if o.derive is not None and basis == "assumed":
            why = f"derived from its responder rule; assumed: outcomes[].better not set for '{o.derive.from_}'"
        else:
            why = {"plan": "plan", "derived": "derived from its responder rule",
                   "assumed": "assumed: outcomes[].better not set"}[basis]
        if o.type == "time_to_event":
            # 'lower is better' of a time-to-event outcome read as 'shorter times are better' (survival::cgd)
            return f"{direction} hazard of the event is better ({why})"
        return f"{direction} is better ({why})"

    def unset_better(self) -> list[str]:
        """One warning per outcome whose direction is assumed because `better` is not set."""
        out = []
        for i, o in enumerate(self.outcomes):
            if o.better is None and o.derive is None and o.type == "time_to_event":
                out.append(f"outcomes[{i}].better: not set for '{o.name}'; the event is taken as bad for participants "
                           "(a lower hazard is better: a hazard ratio below 1 favours the treated arm), which decides "
                           "'benefit' and 'favours' in the report and credibility; set better: lower or better: higher")
            elif o.better is None and o.derive is None:
                out.append(f"outcomes[{i}].better: not set for '{o.name}'; lower values are taken as better for "
                           "participants, which decides 'benefit' and 'favours' in the report and credibility; "
                           "set better: lower or better: higher")
        return out

    @model_validator(mode="after")
    def _cross_checks(self):
        problems = []
        problems += _duplicates("outcomes", [o.name for o in self.outcomes], "name")
        problems += _duplicates("moderators", [m.name for m in self.moderators], "name")
        problems += _duplicates("moderators", [m.column for m in self.moderators], "column")
        seen = {}
        for i, c in enumerate(self.covariate_columns()):
            if c in seen:
                problems.append(f"covariates[{i}]: '{c}' is listed twice (also covariates[{seen[c]}])")
            seen.setdefault(c, i)
            for j, m in enumerate(self.moderators):
                if m.column == c:
                    problems.append(f"covariates[{i}]: '{c}' is also moderators[{j}].column; a moderator is in its own model already")
        long = self.data.time is not None
        names = {o.name: o for o in self.outcomes}
        for i, o in enumerate(self.outcomes):
            if o.derive is not None:
                src = names.get(o.derive.from_)
                if src is None or src.derive is not None or src.type != "continuous":
                    problems.append(f"outcomes[{i}].derive.from: '{o.derive.from_}' is not a continuous outcome of this plan")
                continue
            if o.type == "time_to_event":
                if long:
                    problems.append(f"outcomes[{i}]: a time_to_event outcome needs wide data (one row per participant with "
                                    "its time and event columns); remove data.time or analyse it from a wide file")
                if "mixed" in self.analysis.model_types:
                    problems.append(f"outcomes[{i}]: '{o.name}' is time_to_event, and mixed models are not defined for it "
                                    "(it gets a Cox model and, with a horizon, RMST rows); use analysis.model: linear")
                continue
            if long and o.column is None:
                problems.append(f"outcomes[{i}]: data.time is set (long data), so give column: instead of followups:")
            if not long and o.followups is None:
                problems.append(f"outcomes[{i}]: wide data (no data.time) needs followups: label -> column")
        for i, o in enumerate(self.outcomes):
            if o.type in ("count", "ordinal") and "mixed" in self.analysis.model_types:
                problems.append(f"outcomes[{i}]: '{o.name}' is {'a count' if o.type == 'count' else 'an ordinal'} outcome, and "
                                f"mixed models are not defined for {o.type} outcomes "
                                f"(they get one {'count' if o.type == 'count' else 'proportional-odds'} model per follow-up); "
                                "use analysis.model: linear and no mixed sensitivity model")
            if o.type == "binary" and "mixed" in self.analysis.model_types:
                fix = ("use analysis.model: linear, which fits a logistic model per follow-up for binary outcomes"
                       if self.analysis.model == "mixed" else
                       "remove mixed from analysis.sensitivity, or analyse the binary outcome with a separate plan")
                problems.append(f"outcomes[{i}]: '{o.name}' is binary, and mixed models for binary outcomes are "
                                f"not offered (binary outcomes get one logistic regression per follow-up); {fix}")
        from .clusters import cluster_problems
        problems += cluster_problems(self)
        if self.predictive is not None:
            for i, o in enumerate(self.outcomes):
                if o.type not in PREDICTIVE_OUTCOME_TYPES:
                    problems.append(f"predictive: outcomes[{i}] '{o.name}' is {o.type}, and the predictive analyses support "
                                    f"{', '.join(PREDICTIVE_OUTCOME_TYPES)} outcomes only; remove the predictive section "
                                    "or analyse that outcome with a separate plan")
                elif o.type == "time_to_event" and o.horizon is None:
                    problems.append(f"predictive: outcomes[{i}] '{o.name}' is time_to_event without a horizon, and the risk "
                                    "modelling predicts the risk by the horizon and compares restricted mean survival times "
                                    f"to it; set outcomes[{i}].horizon (in the time column's units)")
            if self.data.multi_arm:
                problems.append("predictive: data.treated lists several arms, and the predictive analyses compare one "
                                "intervention arm with the control; analyse each comparison with its own plan")
            if self.data.cluster is not None:
                problems.append("predictive: data.cluster is set, and the predictive analyses treat participants as "
                                "independent; remove the predictive section for a cluster-randomised trial")
        if problems:
            raise ValueError("\n".join(problems))
        return self


def _duplicates(section: str, values: list[str], key: str) -> list[str]:
    first: dict[str, int] = {}
    out: list[str] = []
    for i, v in enumerate(values):
        if v in first:
            out.append(f"{section}[{i}].{key}: '{v}' is already used by {section}[{first[v]}]")
        else:
            first[v] = i
    return out
