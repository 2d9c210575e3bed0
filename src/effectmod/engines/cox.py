"""Cox proportional-hazards fits with Efron's tie correction, on the shared Newton driver.

One fit (``fit_cox``) and a batch of B independent problems of the same size (``fit_cox_batch``:
bootstrap replicates, simulated trials) share one partial-likelihood core, written for a
leading batch axis. Each problem's rows are sorted by time, latest first, so that every risk
set is a running sum; Efron's correction gives the k-th of the d deaths tied at a time (k = 0
.. d-1) the denominator ``S0 - (k/d) D0`` (S0 the risk set's sum of exp(eta), D0 the tied
deaths' sum), as ``survival::coxph(ties = "efron")``.

The SE is the model-based one (inverse information at the maximum, as ``vcov(coxph)``); with a
cluster, the grouped robust variance of ``coxph(..., cluster = )`` from the score residuals
through ``engines.cluster.cr0_vcov``. ``ph_test`` is ``survival::cox.zph`` (transform "km",
terms = FALSE): the score test of adding each coefficient times g(t), g = 1 - KM(t-) centred
over the deaths, one chi-square per coefficient and a global one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .base import Contrast, WaldTest, wald_from_vcov
from .cluster import cr0_vcov
from .errors import NotConverged, RankDeficient
from .linalg import collinear_columns
from .newton import newton


@dataclass(frozen=True)
class _Sorted:
    """Problems (B) sorted by time, latest first, with their tie structure (beta-free)."""

    X: np.ndarray          # (B, n, p)
    time: np.ndarray       # (B, n)
    event: np.ndarray      # (B, n) 0/1
    first: np.ndarray      # (B, n) index of the first row of the row's tie group
    last: np.ndarray       # (B, n) index of the last row of its tie group (the risk set's end)
    a: np.ndarray          # (B, n) k/d of a death row (its Efron share), 0 elsewhere
    order: np.ndarray      # (B, n) the original row of each sorted row


def _prepare(X: np.ndarray, time: np.ndarray, event: np.ndarray) -> _Sorted:
    B, n = time.shape
    order = np.argsort(-time, axis=1, kind="stable")
    t = np.take_along_axis(time, order, axis=1)
    e = np.take_along_axis(event, order, axis=1).astype(float)
    Xs = np.take_along_axis(X, order[..., None], axis=1)
    # deaths first within a tie group, so that the death ranks k are contiguous (order is free)
    key = np.lexsort((-e, -t), axis=1) if B == 1 else np.stack([np.lexsort((-e[b], -t[b])) for b in range(B)])
    t = np.take_along_axis(t, key, axis=1)
    e = np.take_along_axis(e, key, axis=1)
    Xs = np.take_along_axis(Xs, key[..., None], axis=1)
    order = np.take_along_axis(order, key, axis=1)
    new = np.ones((B, n), dtype=bool)
    new[:, 1:] = t[:, 1:] != t[:, :-1]
    idx = np.broadcast_to(np.arange(n), (B, n))
    first = np.maximum.accumulate(np.where(new, idx, 0), axis=1)
    end = np.ones((B, n), dtype=bool)
    end[:, :-1] = new[:, 1:]
    last = np.minimum.accumulate(np.where(end, idx, n - 1)[:, ::-1], axis=1)[:, ::-1]
    cum_e = np.cumsum(e, axis=1)
    before = np.where(first > 0, np.take_along_axis(cum_e, np.maximum(first - 1, 0), axis=1), 0.0)
    d = np.take_along_axis(cum_e, last, axis=1) - before
    k = cum_e - before - 1.0
    a = np.where(e > 0, k / np.maximum(d, 1.0), 0.0)
    return _Sorted(Xs, t, e, first, last, a, order)


def _group_sum(c: np.ndarray, s: _Sorted) -> np.ndarray:
    """Sums over each row's tie group from running sums ``c`` (B, n, ...)."""
    extra = (1,) * (c.ndim - 2)
    upto = np.take_along_axis(c, s.last.reshape(s.last.shape + extra), axis=1)
    prev = np.take_along_axis(c, np.maximum(s.first - 1, 0).reshape(s.first.shape + extra), axis=1)
    return upto - np.where((s.first > 0).reshape(s.first.shape + extra), prev, 0.0)


def _efron(s: _Sorted, beta: np.ndarray, second: bool = True):
    """Per death row: (eta, den, num1, num2) of Efron's denominators at ``beta`` (B, p); the
    risk weights are scaled by each problem's largest exp(eta), which cancels in every ratio."""
    eta = np.einsum("bnp,bp->bn", s.X, beta)
    c = eta.max(axis=1, keepdims=True)
    r = np.exp(eta - c)
    rd = r * s.event
    take = s.last
    S0 = np.take_along_axis(np.cumsum(r, axis=1), take, axis=1)
    D0 = _group_sum(np.cumsum(rd, axis=1), s)
    rX = r[..., None] * s.X
    S1 = np.take_along_axis(np.cumsum(rX, axis=1), take[..., None], axis=1)
    D1 = _group_sum(np.cumsum(rX * s.event[..., None], axis=1), s)
    den = S0 - s.a * D0
    num1 = S1 - s.a[..., None] * D1
    num2 = None
    if second:
        rXX = rX[..., :, None] * s.X[..., None, :]
        S2 = np.take_along_axis(np.cumsum(rXX, axis=1), take[..., None, None], axis=1)
        D2 = _group_sum(np.cumsum(rXX * s.event[..., None, None], axis=1), s)
        num2 = S2 - s.a[..., None, None] * D2
    return eta - c, den, num1, num2


def _loglik(s: _Sorted, beta: np.ndarray) -> np.ndarray:
    eta, den, _, _ = _efron(s, beta, second=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(s.event * (eta - np.log(den)), axis=1)


def _score_info(s: _Sorted, beta: np.ndarray):
    _, den, num1, num2 = _efron(s, beta)
    w = s.event / den
    xbar = num1 / den[..., None]
    score = np.einsum("bn,bnp->bp", s.event, s.X - xbar)
    info = np.einsum("bn,bnpq->bpq", w, num2) - np.einsum("bn,bnp,bnq->bpq", s.event, xbar, xbar)
    return score, info, xbar


def _direction(s: _Sorted):
    def direction(beta):
        score, info, _ = _score_info(s, beta)
        ok = np.all(np.isfinite(info), axis=(1, 2)) & np.all(np.isfinite(score), axis=1)
        step = np.zeros_like(beta)
        for b in np.flatnonzero(ok):
            try:
                step[b] = np.linalg.solve(info[b], score[b])
            except np.linalg.LinAlgError:
                ok[b] = False
        return step, ok
    return direction


def fit_cox_batch(X: np.ndarray, time: np.ndarray, event: np.ndarray, max_iter: int = 50):
    """Coefficients (B, p) and convergence flags (B,) of B Cox fits of the same size at once:
    X (B, n, p), time and event (B, n)."""
    s = _prepare(np.asarray(X, dtype=float), np.asarray(time, dtype=float), np.asarray(event))
    res = newton(np.zeros((s.X.shape[0], s.X.shape[2])), _direction(s), objective=lambda b: _loglik(s, b),
                 max_iter=max_iter)
    return res.beta, res.converged


@dataclass(frozen=True)
class CoxFit:
    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    loglik: float
    n_events: int
    converged: bool
    robust: bool = False
    n_clusters: int | None = None
    ph: dict | None = None            # cox.zph: {"terms": {name: (chisq, p)}, "global": (chisq, df, p)}

    def contrast(self, L: np.ndarray) -> Contrast:
        L = np.asarray(L, dtype=float)
        return Contrast(float(L @ self.coef), float(math.sqrt(max(L @ self.vcov @ L, 0.0))), math.inf)

    def wald(self, L: np.ndarray) -> WaldTest:
        return wald_from_vcov(self.coef, self.vcov, L, math.inf)


def fit_cox(X: np.ndarray, time: np.ndarray, event: np.ndarray, names=None, cluster=None,
            max_iter: int = 50) -> CoxFit:
    """One Cox fit (Efron ties) of rows X (n, p) - no intercept column - with follow-up ``time``
    and ``event`` (1 = event, 0 = censored). ``cluster`` (n,) gives the grouped robust variance."""
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(p))
    bad = collinear_columns(np.column_stack([np.ones(n), X]))[1:]
    if bad.any():
        raise RankDeficient([names[j] for j in np.flatnonzero(bad)])
    s = _prepare(X[None], np.asarray(time, dtype=float)[None], np.asarray(event)[None])
    res = newton(np.zeros((1, p)), _direction(s), objective=lambda b: _loglik(s, b), max_iter=max_iter)
    if not res.converged[0]:
        raise NotConverged("the Cox partial likelihood did not converge (an arm or level without events?)")
    beta = res.beta[0]
    score, info, xbar = _score_info(s, res.beta)
    try:
        vcov = np.linalg.inv(info[0])
    except np.linalg.LinAlgError:
        raise NotConverged("the Cox information matrix is singular") from None
    ph = _ph_test(s, beta, info[0], xbar[0], names)
    robust, G = False, None
    if cluster is not None:
        scores = score_residuals(s, res.beta)
        cl = np.asarray(cluster)
        vcov = cr0_vcov(scores, vcov, cl)
        robust, G = True, int(len(np.unique(cl)))
    return CoxFit(beta, vcov, names, float(_loglik(s, res.beta)[0]), int(np.sum(event)), True, robust, G, ph)


def score_residuals(s: _Sorted, beta: np.ndarray) -> np.ndarray:
    """Efron score residuals (n, p) in the original row order (one problem), as
    ``residuals(coxph, "score")``: each death's x minus its share of the tie group's means, minus
    every at-risk row's weighted (x - mean) at each death (tied deaths weighted 1 - k/d)."""
    eta, den, num1, _ = _efron(s, beta, second=False)
    e, a, X = s.event[0], s.a[0], s.X[0]
    r = np.exp(eta[0])
    deaths = np.flatnonzero(e > 0)
    xbar = num1[0] / den[0][:, None]
    # per tie group (indexed by its last row): sums over its deaths k of 1/den_k, xbar_k/den_k,
    # and the same weighted by (1 - k/d)
    G = len(e)
    A = np.zeros(G)
    Bm = np.zeros((G, X.shape[1]))
    A1 = np.zeros(G)
    B1 = np.zeros((G, X.shape[1]))
    Mx = np.zeros((G, X.shape[1]))
    dcount = np.zeros(G)
    g = s.last[0][deaths]
    np.add.at(A, g, 1.0 / den[0][deaths])
    np.add.at(Bm, g, xbar[deaths] / den[0][deaths, None])
    np.add.at(A1, g, (1.0 - a[deaths]) / den[0][deaths])
    np.add.at(B1, g, (1.0 - a[deaths])[:, None] * xbar[deaths] / den[0][deaths, None])
    np.add.at(Mx, g, xbar[deaths])
    np.add.at(dcount, g, 1.0)
    # row i is at risk at every group ending at or after it in the descending order: running
    # sums from the end (earliest times) back to each group's last row
    cumA = np.cumsum(A[::-1])[::-1]
    cumB = np.cumsum(Bm[::-1], axis=0)[::-1]
    own = s.last[0]
    # a row is at risk in every group whose last row is >= its own group's first row ... i.e.
    # groups at times <= its time: those ending at indices >= the row's group's first index
    first = s.first[0]
    atA = cumA[first]
    atB = cumB[first]
    risk = r[:, None] * (X * atA[:, None] - atB)
    # a death row in its own group is weighted (1 - k/d), not 1
    dd = e > 0
    corrA = np.where(dd, A1[own] - A[own], 0.0)
    corrB = np.where(dd[:, None], B1[own] - Bm[own], 0.0)
    risk += r[:, None] * (X * corrA[:, None] - corrB)
    death = np.where(dd[:, None], X - Mx[own] / np.maximum(dcount[own], 1.0)[:, None], 0.0)
    U = death - risk
    out = np.empty_like(U)
    out[s.order[0]] = U
    return out


def _ph_test(s: _Sorted, beta: np.ndarray, info: np.ndarray, xbar: np.ndarray, names) -> dict:
    """cox.zph(fit, transform = "km", terms = FALSE): per-coefficient and global chi-square."""
    from scipy import stats
    t, e, X = s.time[0], s.event[0], s.X[0]
    # 1 - KM(t-) at each death's time: the KM over everyone, just before t
    g = 1.0 - _km_before(t, e)
    dd = e > 0
    g = g - g[dd].mean()
    _, den, num1, num2 = _efron(s, beta[None])
    V = num2[0] / den[0][:, None, None] - xbar[:, :, None] * xbar[:, None, :]
    Vd = V[dd]
    gd = g[dd]
    p = X.shape[1]
    imat = np.zeros((2 * p, 2 * p))
    imat[:p, :p] = Vd.sum(axis=0)
    imat[:p, p:] = imat[p:, :p] = np.einsum("n,npq->pq", gd, Vd)
    imat[p:, p:] = np.einsum("n,npq->pq", gd ** 2, Vd)
    u2 = np.einsum("n,np->p", gd, X[dd] - xbar[dd])
    terms = {}
    for j, nm in enumerate(names):
        kk = [*range(p), p + j]
        u = np.zeros(p + 1)
        u[-1] = u2[j]
        chi = float(u @ np.linalg.solve(imat[np.ix_(kk, kk)], u))
        terms[nm] = (chi, float(stats.chi2.sf(chi, 1)))
    u = np.concatenate([np.zeros(p), u2])
    chi = float(u @ np.linalg.solve(imat, u))
    return {"terms": terms, "global": (chi, p, float(stats.chi2.sf(chi, p)))}


def _km_before(t: np.ndarray, e: np.ndarray) -> np.ndarray:
    """KM survival just before each row's time (rows sorted latest first)."""
    ut, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=e, minlength=len(ut))
    c = np.bincount(inv, minlength=len(ut)).astype(float)
    at_risk = np.cumsum(c[::-1])[::-1]
    surv = np.cumprod(1.0 - d / at_risk)
    before = np.concatenate([[1.0], surv[:-1]])
    return before[inv]
