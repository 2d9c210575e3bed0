"""Kaplan-Meier curves and what is read off them: the restricted mean survival time (RMST) to a
horizon with its standard error, the absolute risk at the horizon with Greenwood's SE, median
follow-up by the reverse KM, and pseudo-observations of the RMST by the infinitesimal jackknife.

Definitions follow ``survival`` 3.5: the RMST and its SE as ``print(survfit, rmean = horizon)``
(``survmean``: the variance sums, over the death times before the horizon, the squared area
under the curve from that time to the horizon times d / (n (n - d)), a term with n = d
counting 0); the pseudo-observations as ``pseudo(survfit(...), times = horizon, type =
"rmst")``: n times the infinitesimal-jackknife influence of each participant on the KM RMST
(derivative of the product-limit estimate with respect to the participant's case weight), plus
the RMST itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KM:
    time: np.ndarray        # distinct times, ascending
    n_risk: np.ndarray
    n_event: np.ndarray
    surv: np.ndarray        # S(t) just after each time
    last: float             # the last observed time (event or censoring)


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> KM:
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    ut, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=event, minlength=len(ut))
    c = np.bincount(inv, minlength=len(ut)).astype(float)
    n = np.cumsum(c[::-1])[::-1]
    surv = np.cumprod(1.0 - d / n)
    return KM(ut, n, d, surv, float(time.max()) if time.size else math.nan)


def _area_pieces(km: KM, horizon: float):
    """(steps' left ends, their survival levels, widths) of the curve on [0, horizon]."""
    inside = km.time < horizon
    starts = np.concatenate([[0.0], km.time[inside]])
    levels = np.concatenate([[1.0], km.surv[inside]])
    widths = np.diff(np.concatenate([starts, [horizon]]))
    return starts, levels, widths


def rmst(km: KM, horizon: float) -> tuple[float, float]:
    """(RMST, SE) to ``horizon`` as print(survfit, rmean = horizon)."""
    _, levels, widths = _area_pieces(km, horizon)
    rect = levels * widths
    est = float(rect.sum())
    inside = km.time < horizon
    n, d = km.n_risk[inside], km.n_event[inside]
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    # area from each time t_j to the horizon: the rectangles after it
    after = np.cumsum(rect[::-1])[::-1][1:]
    return est, float(math.sqrt(np.sum(after ** 2 * hh)))


def risk_at(km: KM, horizon: float) -> tuple[float, float]:
    """(1 - S(horizon), Greenwood SE) of the KM curve."""
    upto = km.time <= horizon
    s = float(km.surv[upto][-1]) if upto.any() else 1.0
    n, d = km.n_risk[upto], km.n_event[upto]
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    return 1.0 - s, float(s * math.sqrt(np.sum(g)))


def median_followup(time: np.ndarray, event: np.ndarray) -> float:
    """Median follow-up by the reverse Kaplan-Meier (censoring as the event)."""
    km = kaplan_meier(time, 1.0 - np.asarray(event, dtype=float))
    below = np.flatnonzero(km.surv <= 0.5)
    return float(km.time[below[0]]) if below.size else math.nan


def pseudo_rmst(time: np.ndarray, event: np.ndarray, horizon: float) -> np.ndarray:
    """Pseudo-observations of the RMST at ``horizon`` (one per row) by the infinitesimal jackknife
    of one KM curve over all rows, as survival::pseudo(type = "rmst")."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    km = kaplan_meier(time, event)
    n_all = len(time)
    inside = km.time < horizon
    t_in = km.time[inside]
    Y, d, S = km.n_risk[inside], km.n_event[inside], km.surv[inside]
    # d log(1 - d_j/Y_j) / d w_i = -(dN_i(t_j) Y_j - d_j Y_i(t_j)) / (Y_j (Y_j - d_j)); the part
    # every at-risk row shares (d_j / (Y_j (Y_j - d_j))) accumulates over t_j <= the row's time
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(Y - d > 0, d / (Y * (Y - d)), 0.0)
        own = np.where(Y - d > 0, 1.0 / (Y - d), 0.0)
    # widths of the steps that start at each t_j (to the next time or the horizon)
    widths = np.diff(np.concatenate([t_in, [horizon]]))
    # influence on log S(t_k) of row i: sum over j <= k of [Y_i(t_j) share_j - dN_i(t_j) own_j]
    # RMST influence: sum_k S_k width_k * (that) = sum_j [..]_j * tail_j, tail_j = sum_{k >= j} S_k w_k
    tail = np.cumsum((S * widths)[::-1])[::-1]
    at_risk_part = np.cumsum(share * tail)          # rows at risk at t_1..t_j: through j = their last time
    pos = np.searchsorted(t_in, time, side="right") - 1     # last t_j <= the row's time
    infl = np.where(pos >= 0, at_risk_part[np.maximum(pos, 0)], 0.0)
    jrow = np.searchsorted(t_in, time)                 # the row's own time among t_in (when inside)
    died = (event > 0) & (time < horizon)
    jj = np.minimum(jrow, len(t_in) - 1) if len(t_in) else jrow
    infl = infl - np.where(died, own[jj] * tail[jj], 0.0) if len(t_in) else infl
    est, _ = rmst(km, horizon)
    return est + n_all * infl


def nelson_aalen_at(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """The Nelson-Aalen cumulative hazard of all rows at each row's own time (NaN where the time
    or the event is missing): White & Royston's (2009) summary of a time-to-event outcome in
    imputation models."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    seen = ~np.isnan(time) & ~np.isnan(event)
    out = np.full(len(time), np.nan)
    if not seen.any():
        return out
    km = kaplan_meier(time[seen], event[seen])
    H = np.cumsum(km.n_event / km.n_risk)
    out[seen] = H[np.searchsorted(km.time, time[seen])]
    return out
