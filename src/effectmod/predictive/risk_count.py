"""Risk modelling (PATH) of a count outcome: a prognostic Poisson model without treatment, the
participants grouped by predicted rate, and the treatment effect within each group.

* Prognostic model: Poisson ML of the count on the risk predictors with log(exposure) as offset
  when the outcome has an exposure; linear predictor lp = b0 + x'b is the log of the predicted rate
  (events per unit exposure; the expected count without exposure), the grouping scale is that rate.
* Per group, with Y the arm's events and E its total exposure (the number of participants without
  exposure): the rate difference Y1/E1 - Y0/E0 with SE sqrt(Y1/E1^2 + Y0/E0^2) (delta method;
  identical to the Poisson GLM with identity link of the count on treatment, model-based SE), Wald
  z interval; the rate ratio of the Poisson GLM (log link, offset) of the count on treatment,
  whose MLE is (Y1/E1)/(Y0/E0) with SE of its log sqrt(1/Y1 + 1/Y0), Wald z interval
  exponentiated. An arm without events has no finite rate ratio (left empty with a note).
* Treatment x linear predictor: Poisson ``treat + lp + treat:lp`` (offset), Wald z test.
* Discrimination: Harrell's C of the predicted expected count (lp + log exposure) for the observed
  count; calibration slope: the coefficient of lp in a Poisson model of the count on lp (offset).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..engines.errors import EngineError
from ..engines.poisson import fit_poisson
from .risk import NAN3, GroupEffect, RiskInteraction


@dataclass(frozen=True)
class PoissonPrognostic:
    coef: np.ndarray            # intercept first

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        return self.coef[0] + X @ self.coef[1:]

    def risk(self, X: np.ndarray) -> np.ndarray:
        """Predicted rate (events per unit exposure)."""
        return np.exp(self.linear_predictor(X))


def fit_poisson_prognostic(X: np.ndarray, y: np.ndarray, offset: np.ndarray) -> PoissonPrognostic:
    fit = fit_poisson(np.column_stack([np.ones(len(y)), X]), y, offset=offset)
    return PoissonPrognostic(np.asarray(fit.coef, float))


def poisson_calibration_slope(lp: np.ndarray, y: np.ndarray, offset: np.ndarray) -> float:
    return float(fit_poisson(np.column_stack([np.ones(len(y)), lp]), y, offset=offset).coef[1])


def count_group_effect(y: np.ndarray, exposure: np.ndarray, treat: np.ndarray, level: float) -> GroupEffect:
    """Rate difference and rate ratio of one group; ``mean_treated``/``mean_control`` hold the
    arms' observed rates (events per unit exposure)."""
    t1, t0 = treat == 1, treat == 0
    n1, n0 = int(t1.sum()), int(t0.sum())
    Y1, Y0 = float(y[t1].sum()), float(y[t0].sum())
    E1, E0 = float(exposure[t1].sum()), float(exposure[t0].sum())
    r1 = Y1 / E1 if n1 else math.nan
    r0 = Y0 / E0 if n0 else math.nan
    if n1 < 1 or n0 < 1 or n1 + n0 < 3:
        return GroupEffect(n1, n0, r1, r0, NAN3, NAN3, "too few participants in an arm to compare the arms")
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    se = math.sqrt(Y1 / E1 ** 2 + Y0 / E0 ** 2)
    absolute = (r1 - r0, r1 - r0 - z * se, r1 - r0 + z * se)
    if Y1 == 0 or Y0 == 0:
        return GroupEffect(n1, n0, r1, r0, absolute, NAN3, "no finite rate ratio: an arm has no events")
    log_rr = math.log(r1) - math.log(r0)
    se_rr = math.sqrt(1 / Y1 + 1 / Y0)
    relative = (math.exp(log_rr), math.exp(log_rr - z * se_rr), math.exp(log_rr + z * se_rr))
    return GroupEffect(n1, n0, r1, r0, absolute, relative)


def count_interaction(lp: np.ndarray, y: np.ndarray, treat: np.ndarray, offset: np.ndarray) -> RiskInteraction:
    D = np.column_stack([np.ones(len(y)), treat, lp, treat * lp])
    try:
        fit = fit_poisson(D, y, offset=offset)
    except EngineError as exc:
        return RiskInteraction(math.nan, math.nan, math.nan, np.full(4, math.nan), f"interaction not estimable ({type(exc).__name__})")
    c = fit.contrast(np.array([0.0, 0.0, 0.0, 1.0]))
    return RiskInteraction(c.estimate, c.std_error, c.p_value, np.asarray(fit.coef, float))
