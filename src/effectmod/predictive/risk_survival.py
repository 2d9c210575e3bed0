"""Risk modelling (PATH) of a time-to-event outcome: a prognostic Cox model without treatment, the
participants grouped by predicted risk by the horizon, and the treatment effect within each group.

* Prognostic model: Cox (Efron ties) of the follow-up on the risk predictors, treatment left out;
  linear predictor lp = x'b (uncentred). Predicted risk = 1 - S(horizon | x) = 1 -
  exp(-H0(horizon) exp(lp)) with the Breslow baseline cumulative hazard H0(t) = sum over event
  times s <= t of d_s / sum_{j at risk at s} exp(lp_j) (``survfit.coxph(ctype = 1, stype = 2)``).
* Per group: the KM RMST difference to the horizon (treated - control), SE the root of the sum of
  the arms' squared SEs as ``print(survfit, rmean = horizon)``, Wald z interval; an arm last
  observed before the horizon has no RMST (left empty with a note). The hazard ratio of a Cox
  model of treatment within the group (Efron ties, Wald z interval, exponentiated); an arm without
  events has no finite hazard ratio (left empty with a note).
* Treatment x linear predictor: Cox ``treat + lp + treat:lp``, Wald z test of the product.
* Discrimination: Harrell's C of the linear predictor for the censored outcome, as
  ``survival::concordance(Surv ~ lp, reverse = TRUE)``; calibration slope: the coefficient of a
  Cox model of the outcome on the linear predictor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..engines.cox import fit_cox
from ..engines.errors import EngineError
from ..engines.survival_km import kaplan_meier, rmst
from .risk import NAN3, GroupEffect, RiskInteraction

# rows of the concordance computed per block, to bound memory for large samples
_BLOCK = 2048


@dataclass(frozen=True)
class CoxPrognostic:
    coef: np.ndarray            # no intercept
    horizon: float
    base_hazard: float          # Breslow H0(horizon) at lp = x'b (uncentred)

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef

    def risk(self, X: np.ndarray) -> np.ndarray:
        """Predicted probability of the event by the horizon."""
        return 1.0 - np.exp(-self.base_hazard * np.exp(self.linear_predictor(X)))


def breslow_hazard(lp: np.ndarray, time: np.ndarray, event: np.ndarray, horizon: float) -> float:
    """Breslow's baseline cumulative hazard at ``horizon`` (at lp = 0)."""
    risk = np.exp(lp)
    ut = np.unique(time[(event == 1) & (time <= horizon)])
    order = np.argsort(time, kind="stable")
    ts, rs = time[order], risk[order]
    # sum of exp(lp) over those still at risk at each event time (time >= s)
    tail = np.concatenate([np.cumsum(rs[::-1])[::-1], [0.0]])
    at_risk = tail[np.searchsorted(ts, ut, side="left")]
    deaths = np.array([float(np.sum((time == s) & (event == 1))) for s in ut])
    return float(np.sum(deaths / at_risk))


def fit_cox_prognostic(X: np.ndarray, time: np.ndarray, event: np.ndarray, horizon: float) -> CoxPrognostic:
    fit = fit_cox(X, time, event)
    coef = np.asarray(fit.coef, float)
    return CoxPrognostic(coef, horizon, breslow_hazard(X @ coef, time, event, horizon))


def harrell_c_censored(lp: np.ndarray, time: np.ndarray, event: np.ndarray) -> float:
    """Harrell's C of ``lp`` (higher = earlier event) for censored follow-up: over pairs whose
    shorter time is an event (a censoring at the same time counts as later), the share in which the
    participant with the event has the higher lp, ties in lp counting one half."""
    lp, time, event = (np.asarray(v, float) for v in (lp, time, event))
    concordant = ties = usable = 0.0
    for start in range(0, len(lp), _BLOCK):
        sl = slice(start, start + _BLOCK)
        ti, ei, li = time[sl, None], event[sl, None], lp[sl, None]
        use = (ei == 1) & ((time[None, :] > ti) | ((time[None, :] == ti) & (event[None, :] == 0)))
        usable += float(use.sum())
        concordant += float((use & (li > lp[None, :])).sum())
        ties += float((use & (li == lp[None, :])).sum())
    return (concordant + 0.5 * ties) / usable if usable else math.nan


def cox_calibration_slope(lp: np.ndarray, time: np.ndarray, event: np.ndarray) -> float:
    return float(fit_cox(lp[:, None], time, event).coef[0])


def survival_group_effect(time: np.ndarray, event: np.ndarray, treat: np.ndarray, horizon: float,
                          level: float) -> GroupEffect:
    """RMST difference and hazard ratio of one group; ``mean_treated``/``mean_control`` hold the
    arms' numbers of events."""
    t1, t0 = treat == 1, treat == 0
    n1, n0 = int(t1.sum()), int(t0.sum())
    d1, d0 = float(event[t1].sum()), float(event[t0].sum())
    if n1 < 1 or n0 < 1 or n1 + n0 < 3:
        return GroupEffect(n1, n0, d1, d0, NAN3, NAN3, "too few participants in an arm to compare the arms")
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    notes = []
    km1, km0 = kaplan_meier(time[t1], event[t1]), kaplan_meier(time[t0], event[t0])
    if min(km1.last, km0.last) < horizon:
        absolute = NAN3
        notes.append(f"an arm is last observed before the horizon {horizon:g}: no RMST difference")
    else:
        (r1, s1), (r0, s0) = rmst(km1, horizon), rmst(km0, horizon)
        se = math.sqrt(s1 ** 2 + s0 ** 2)
        absolute = (r1 - r0, r1 - r0 - z * se, r1 - r0 + z * se)
    if d1 == 0 or d0 == 0:
        return GroupEffect(n1, n0, d1, d0, absolute, NAN3, "; ".join(notes + ["no finite hazard ratio: an arm has no events"]))
    try:
        c = fit_cox(treat[:, None], time, event).contrast(np.array([1.0]))
    except EngineError as exc:
        return GroupEffect(n1, n0, d1, d0, absolute, NAN3, "; ".join(notes + [f"hazard ratio not estimable ({type(exc).__name__})"]))
    lo, hi = c.ci(level)
    return GroupEffect(n1, n0, d1, d0, absolute, (math.exp(c.estimate), math.exp(lo), math.exp(hi)), "; ".join(notes))


def survival_interaction(lp: np.ndarray, time: np.ndarray, event: np.ndarray, treat: np.ndarray) -> RiskInteraction:
    """Cox ``treat + lp + treat:lp``; ``coef`` is (0, treat, lp, treat:lp) (no intercept)."""
    D = np.column_stack([treat, lp, treat * lp])
    try:
        fit = fit_cox(D, time, event)
    except EngineError as exc:
        return RiskInteraction(math.nan, math.nan, math.nan, np.full(4, math.nan), f"interaction not estimable ({type(exc).__name__})")
    c = fit.contrast(np.array([0.0, 0.0, 1.0]))
    return RiskInteraction(c.estimate, c.std_error, c.p_value, np.concatenate([[0.0], np.asarray(fit.coef, float)]))
