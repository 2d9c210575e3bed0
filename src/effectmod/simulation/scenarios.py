"""Every parameter of the built-in simulation scenarios, in one place, each with its source.

Sources: Bagg et al., JAMA 2022 (the RESOLVE trial, "Bagg 2022") and Venter et al., JAMA Netw
Open 2026;9(1):e2552787 (its moderator analysis, "Venter 2026"). A value marked "assumed" was not
found in either; the comment beside it says why the value is plausible.

Scales: every questionnaire is simulated on its real integer range. Baseline measures are drawn
from a Gaussian copula: a latent multivariate normal with the correlations below, each margin
then mapped to a discretised normal truncated to the instrument's range whose mean and SD equal
the targets listed here (the generator solves for the latent location and spread).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["greater_benefit_when_higher", "less_benefit_when_higher", "unspecified"]
DropoutMode = Literal["mcar", "mar", "none"]


@dataclass(frozen=True)
class Measure:
    """A baseline measure: its column, range and target mean/SD (binary: mean = share coded 1)."""

    column: str
    low: int
    high: int
    mean: float
    sd: float
    source: str
    binary_levels: tuple[str, str] | None = None  # (level coded 0, level coded 1) for binary


@dataclass(frozen=True)
class Correlation:
    """A latent correlation between two baseline measures (all unlisted pairs are 0)."""

    a: str
    b: str
    r: float
    source: str


@dataclass(frozen=True)
class ModeratorSpec:
    """How the plan presents a baseline measure as a candidate moderator."""

    name: str
    column: str
    label: str
    type: Literal["continuous", "binary"]
    hypothesised_direction: Direction
    rationale: str
    reference: str | None = None


@dataclass(frozen=True)
class FollowupModel:
    """Latent model of one outcome at one follow-up, with the observed targets it was tuned to.

    latent = control_latent + baseline_slope * (baseline - mean) + effect_latent * treat
             + sum(interaction * treat * (moderator - moderator mean)) + residual
    The observed value is the latent one rounded and clipped to the outcome's range, so the
    latent intercept, effect and residual SD were calibrated (``calibrate_followup``) until the
    observed sham mean, sham SD and mean difference matched ``target_*`` on a large sample.
    """

    timepoint: str
    column: str
    baseline_slope: float
    control_latent: float
    effect_latent: float
    residual_sd: float
    target_control_mean: float
    target_control_sd: float
    target_effect: float
    source: str


@dataclass(frozen=True)
class OutcomeSpec:
    name: str
    label: str
    low: int
    high: int
    baseline: str
    followups: tuple[FollowupModel, ...]


@dataclass(frozen=True)
class Interaction:
    """A treatment x moderator coefficient of the latent model, per unit of the moderator."""

    moderator: str
    outcome: str
    timepoint: str
    value: float
    source: str


@dataclass(frozen=True)
class DropoutSpec:
    """Missing follow-up visits. Rates are marginal targets; MAR slopes are log-odds per SD."""

    visit18_missing: float = 0.05  # Bagg 2022: pain observed for 261/276 at 18 weeks
    rmdq18_extra_missing: float = 0.021  # RMDQ ~93% at 18 weeks: 2% more than pain (Bagg 2022)
    visit52_missing: float = 0.11  # RMDQ ~89% at 52 weeks (Bagg 2022); pain assumed the same
    visit52_missing_after_missed18: float = 0.90  # assumed: dropout is mostly monotone
    mar_baseline_slope: float = 0.5  # assumed: worse baseline pain+disability, more dropout
    mar_followup_slope: float = 0.5  # assumed: worse pain at 18 weeks, more dropout at 52
    source: str = "Bagg 2022 (rates); slopes assumed"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    title: str
    n: int
    treated: str
    control: str
    age: Measure
    female_share: float
    measures: tuple[Measure, ...]
    correlations: tuple[Correlation, ...]
    moderators: tuple[ModeratorSpec, ...]
    outcomes: tuple[OutcomeSpec, ...]
    residual_correlation: tuple[tuple[float, ...], ...]  # order: pain 18, 52; rmdq 18, 52
    interactions: tuple[Interaction, ...]
    dropout: DropoutMode
    dropout_spec: DropoutSpec
    observed_scale: bool  # True: round and clip outcomes to their instrument's range


# ---------------------------------------------------------------- participants and baseline

AGE = Measure("age", 18, 70, 46.0, 14.3, "Bagg 2022: mean 46 (SD 14.3), eligible 18-70")
FEMALE_SHARE = 0.5  # Bagg 2022: 138 of 276 women

MEASURES = (
    Measure("psychoactive_med", 0, 1, 0.25, 0.0, "assumed: 25% yes (not reported)",
            binary_levels=("no", "yes")),
    Measure("pain_0", 3, 10, 5.7, 1.6,
            "Bagg 2022: means 5.6 and 5.8 by arm; SD 1.6 assumed; entry required pain >= 3"),
    Measure("rmdq_0", 0, 24, 9.8, 5.2, "Bagg 2022: 9.6 (SD 5.4) and 10.0 (SD 5.0) by arm"),
    Measure("bbq", 9, 45, 30.0, 7.0, "assumed: another CLBP cohort 29.8 (SD 7.0)"),
    Measure("tsk", 17, 68, 38.0, 7.0, "assumed: typical TSK-17 in CLBP trials"),
    Measure("pcs", 0, 52, 18.0, 10.0, "assumed: typical PCS in CLBP trials"),
    Measure("pseq", 0, 60, 40.0, 12.0, "assumed: typical PSEQ in CLBP trials"),
    Measure("frebaq", 0, 36, 13.0, 7.0, "assumed: typical FreBAQ in CLBP cohorts"),
)

_TYPICAL = "assumed: typical in chronic low back pain cohorts (not reported for RESOLVE)"
CORRELATIONS = (
    Correlation("pain_0", "rmdq_0", 0.40, _TYPICAL),
    Correlation("pcs", "tsk", 0.55, _TYPICAL),
    Correlation("pcs", "rmdq_0", 0.50, _TYPICAL),
    Correlation("pcs", "pain_0", 0.45, _TYPICAL),
    Correlation("frebaq", "rmdq_0", 0.35, _TYPICAL),
    Correlation("frebaq", "pain_0", 0.25, _TYPICAL),
    Correlation("frebaq", "pcs", 0.40, _TYPICAL),
    Correlation("tsk", "rmdq_0", 0.35, _TYPICAL),
    Correlation("tsk", "pain_0", 0.25, "assumed: weaker than TSK-RMDQ"),
    Correlation("tsk", "frebaq", 0.35, "assumed: fear and altered body perception co-occur"),
    Correlation("pseq", "pain_0", -0.35, _TYPICAL),
    Correlation("pseq", "rmdq_0", -0.50, _TYPICAL),
    Correlation("pseq", "pcs", -0.50, _TYPICAL),
    Correlation("pseq", "tsk", -0.40, "assumed: confident people fear movement less"),
    Correlation("pseq", "frebaq", -0.30, "assumed"),
    # The BBQ is scored so that a higher total means more positive beliefs.
    Correlation("bbq", "tsk", -0.40, "assumed: negative beliefs go with fear of movement"),
    Correlation("bbq", "pcs", -0.30, "assumed"),
    Correlation("bbq", "rmdq_0", -0.20, "assumed"),
    Correlation("bbq", "pseq", 0.30, "assumed"),
    Correlation("bbq", "frebaq", -0.25, "assumed"),
    Correlation("psychoactive_med", "pain_0", 0.15, "assumed: more severe pain, more medication"),
    Correlation("psychoactive_med", "rmdq_0", 0.15, "assumed"),
    Correlation("psychoactive_med", "pcs", 0.15, "assumed"),
    Correlation("psychoactive_med", "pseq", -0.10, "assumed"),
)

# The demo plan's hypotheses are those of the published RESOLVE moderator analysis as recorded in
# the facts this scenario was built from (Venter 2026 as summarised there): the eight moderators
# were pre-specified, but no hypothesised direction is recorded for any of them, so every one is
# "unspecified" rather than a guess. The published interactions (RESOLVE_INTERACTIONS, below) are
# the scenario's truth; with no direction hypothesised, none of them contradicts a hypothesis.
_PUBLISHED = ("Pre-specified in the RESOLVE moderator analysis (Venter 2026): 'a linear regression "
              "model with statistical interaction tests'. ")
_NO_DIRECTION = "No hypothesised direction is recorded for it, so none is stated here. "
MODERATORS = (
    ModeratorSpec(
        "psychoactive_medication", "psychoactive_med", "Psychoactive medication use (yes/no)",
        "binary", "unspecified",
        _PUBLISHED + _NO_DIRECTION + "Published result: 'no evidence' of modification "
        "(P >= .20).", reference="no"),
    ModeratorSpec(
        "baseline_pain", "pain_0", "Baseline pain intensity (NRS 0-10)", "continuous",
        "unspecified",
        _PUBLISHED + _NO_DIRECTION + "Published result: 'no evidence' of modification "
        "(P >= .20)."),
    ModeratorSpec(
        "baseline_disability", "rmdq_0", "Baseline disability (RMDQ 0-24)", "continuous",
        "unspecified",
        _PUBLISHED + _NO_DIRECTION + "Published result: disability at 18 weeks -0.15 "
        "(-0.38 to 0.07), P = .17 (exploratory)."),
    ModeratorSpec(
        "back_beliefs", "bbq", "Beliefs about back pain consequences (BBQ 9-45)", "continuous",
        "unspecified",
        _PUBLISHED + _NO_DIRECTION + "Published result: disability at 52 weeks 0.16 "
        "(-0.05 to 0.37), P = .14 (exploratory)."),
    ModeratorSpec(
        "kinesiophobia", "tsk", "Kinesiophobia (TSK 17-68)", "continuous",
        "unspecified",
        _PUBLISHED + _NO_DIRECTION + "Published results: pain at 18 weeks 0.06 (-0.02 to "
        "0.14), P = .15; at 52 weeks 0.07 (-0.02 to 0.16), P = .12 (exploratory)."),
    ModeratorSpec(
        "catastrophizing", "pcs", "Pain catastrophizing (PCS 0-52)", "continuous",
        "unspecified",
        _PUBLISHED + _NO_DIRECTION + "Published result: 'no evidence' of modification "
        "(P >= .20)."),
    ModeratorSpec(
        "self_efficacy", "pseq", "Pain self-efficacy (PSEQ 0-60)", "continuous",
        "unspecified",
        _PUBLISHED + _NO_DIRECTION + "Published result: 'no evidence' of modification "
        "(P >= .20)."),
    ModeratorSpec(
        "back_perception", "frebaq", "Back perception (FreBAQ 0-36)", "continuous",
        "unspecified",
        _PUBLISHED + _NO_DIRECTION + "Published result: pain at 52 weeks 0.18 (0.05 to "
        "0.32), P = .007, the one finding with evidence."),
)

# ---------------------------------------------------------------- outcomes

_SHAM = "Bagg 2022 sham mean, SD and adjusted difference"
OUTCOMES = (
    OutcomeSpec("pain", "Pain intensity (NRS 0-10)", 0, 10, "pain_0", (
        FollowupModel("18", "pain_18", 0.4, 3.96, -1.14, 2.31, 4.0, 2.3, -1.0,
                      "Bagg 2022: sham 4.0, difference -1.0; SD 2.3 and slope 0.4 assumed"),
        FollowupModel("52", "pain_52", 0.4, 3.83, -0.76, 2.46, 3.9, 2.4, -0.6,
                      "assumed: sham 3.9, SD 2.4, difference -0.6 (not significant at one year)"),
    )),
    OutcomeSpec("disability", "Disability (RMDQ 0-24)", 0, 24, "rmdq_0", (
        FollowupModel("18", "rmdq_18", 0.5, 5.52, -3.80, 6.63, 6.4, 5.8, -2.6,
                      _SHAM + "; baseline slope 0.5 assumed"),
        FollowupModel("52", "rmdq_52", 0.5, 5.05, -2.84, 6.83, 6.1, 5.8, -1.8,
                      _SHAM + "; baseline slope 0.5 assumed"),
    )),
)

# Assumed: outcomes of the same person correlate across visits and between pain and disability.
RESIDUAL_CORRELATION = (
    (1.0, 0.5, 0.5, 0.3),
    (0.5, 1.0, 0.3, 0.5),
    (0.5, 0.3, 1.0, 0.5),
    (0.3, 0.5, 0.5, 1.0),
)

_V = "Venter 2026"
RESOLVE_INTERACTIONS = (
    Interaction("back_perception", "pain", "52", 0.18, _V + ": 0.18 (0.05 to 0.32), P = .007"),
    Interaction("back_perception", "pain", "18", 0.10, _V + ": 0.10 (-0.02 to 0.22), P = .09"),
    Interaction("back_perception", "disability", "18", 0.22, _V + ": 0.22 (-0.04 to 0.48)"),
    Interaction("back_perception", "disability", "52", 0.27, _V + ": 0.27 (0.00 to 0.55)"),
    Interaction("kinesiophobia", "pain", "18", 0.06, _V + ": 0.06 (-0.02 to 0.14), P = .15"),
    Interaction("kinesiophobia", "pain", "52", 0.07, _V + ": 0.07 (-0.02 to 0.16), P = .12"),
    Interaction("baseline_disability", "disability", "18", -0.15,
                _V + ": -0.15 (-0.38 to 0.07), P = .17"),
    Interaction("back_beliefs", "disability", "52", 0.16, _V + ": 0.16 (-0.05 to 0.37), P = .14"),
    # every other moderator x outcome x follow-up: 0 (Venter 2026: no evidence, P >= .20)
)

RESOLVE = Scenario(
    name="resolve",
    description="RESOLVE-like trial: graded sensorimotor retraining vs sham for chronic low "
                "back pain, with the published treatment x moderator interactions",
    title="RESOLVE-like simulated trial: treatment effect modifiers",
    n=276,  # Bagg 2022
    treated="sensorimotor",
    control="sham",
    age=AGE,
    female_share=FEMALE_SHARE,
    measures=MEASURES,
    correlations=CORRELATIONS,
    moderators=MODERATORS,
    outcomes=OUTCOMES,
    residual_correlation=RESIDUAL_CORRELATION,
    interactions=RESOLVE_INTERACTIONS,
    dropout="mcar",
    dropout_spec=DropoutSpec(),
    observed_scale=True,
)

# The null scenario keeps the participants, moderators and latent outcome model but has no
# interaction, and reports the latent outcome unrounded and unclipped: clipping at the floor
# compresses the treated arm's low values more where the treatment works best, which creates an
# interaction on the observed scale even when the latent model has none. Without it the
# single-moderator model is correctly specified and its interaction estimand is exactly 0.
NULL = Scenario(
    name="null",
    description="Null trial: RESOLVE-like participants, no treatment x moderator interaction, "
                "outcomes on the continuous latent scale",
    title="Null simulated trial: no treatment effect modifiers",
    n=RESOLVE.n,
    treated=RESOLVE.treated,
    control=RESOLVE.control,
    age=AGE,
    female_share=FEMALE_SHARE,
    measures=MEASURES,
    correlations=CORRELATIONS,
    moderators=MODERATORS,
    outcomes=OUTCOMES,
    residual_correlation=RESIDUAL_CORRELATION,
    interactions=(),
    dropout="mcar",
    dropout_spec=DropoutSpec(),
    observed_scale=False,
)

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (RESOLVE, NULL)}
