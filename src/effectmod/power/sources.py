"""The two sources of simulated trials (see ``power.engine``) and the grid's interaction sizes:
``Size``, ``ScenarioSource`` (a built-in scenario), ``PilotSource`` (models fitted to pilot data,
built by ``power.pilot.pilot_source``), and the coefficients a pilot model is simulated with."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Size:
    """One interaction size of the grid: a multiplier of every interaction (``scale``), or an
    absolute value for one moderator (on every outcome, or only ``outcome``)."""

    scale: float | None = 1.0
    value: float | None = None
    moderator: str | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class ScenarioSource:
    name: str = "resolve"
    dropout: str | None = None


@dataclass(frozen=True)
class PilotModel:
    outcome: str
    timepoint: str
    moderator: str            # "" for the average-effect (ANCOVA) model
    binary: bool
    rows: np.ndarray          # (m, p) pilot complete-case design
    coef: np.ndarray          # (p,)
    resid: np.ndarray         # (m,) residuals (linear)
    sigma: float
    treat_col: int
    mod_cols: tuple[int, ...]
    inter_cols: tuple[int, ...]
    family: str = ""          # poisson | negative_binomial | ordinal ("" = linear or binary)
    thresholds: np.ndarray | None = None      # ordinal: the pilot fit's thresholds (coef's intercept slot is 0)
    theta: float = float("nan")               # negative binomial dispersion of the pilot fit
    offset: np.ndarray | None = None          # (m,) log(exposure) of the pilot rows, resampled with them
    # multi-arm (power.multiarm): every treated arm's indicator column and its products with the
    # moderator columns, redrawn together in each simulated trial; () for a two-arm model
    arm_cols: tuple[int, ...] = ()
    arm_inter_cols: tuple[tuple[int, ...], ...] = ()
    # time-to-event (family "cox", power.survival_pilot): the pilot fit's Breslow cumulative baseline
    # hazard at its event times, and the censoring distribution of the pilot's reverse Kaplan-Meier
    event_times: np.ndarray | None = None
    cumhaz: np.ndarray | None = None
    censor_times: np.ndarray | None = None
    censor_cdf: np.ndarray | None = None      # P(C <= t) at censor_times; the rest of the mass at last_time
    last_time: float = float("nan")

    @property
    def joint(self) -> bool:
        """A categorical moderator's model: its k - 1 interactions are tested jointly (power.joint)."""
        return bool(self.moderator) and len(self.inter_cols) > 1


@dataclass(frozen=True)
class PilotSource:
    models: tuple[PilotModel, ...]
    errors: str = "residuals"
    # categorical moderators need a joint test of their k-1 interactions, which the batched
    # power path does not run: they are left out and named, never tested on one level alone
    skipped: tuple[str, ...] = ()


def pilot_coef(model: PilotModel, size: Size) -> np.ndarray:
    coef = model.coef.copy()
    if model.moderator and model.inter_cols:
        # multi-arm: the grid's size applies to every arm's interaction
        cols = [c for arm in model.arm_inter_cols for c in arm] or list(model.inter_cols)
        if size.value is None:
            coef[cols] *= size.scale
        elif size.moderator == model.moderator and size.outcome in (None, model.outcome):
            coef[cols] = size.value
    return coef
