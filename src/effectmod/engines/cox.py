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

from dataclasses import dataclass

import numpy as np

from .base import WaldZ
from .cluster import cr0_vcov
from .errors import NotConverged, RankDeficient
from .linalg import collinear_columns
from .newton import newton


@dataclass(frozen=True)
class _Sorted:
    """Problems (B) sorted by time, latest first, with their tie structure (beta-free). Death
    rows are listed flat over the batch (problem by problem), with where their risk set ends."""

    X: np.ndarray          # (B, n, p)
    time: np.ndarray       # (B, n)
    event: np.ndarray      # (B, n) 0/1
    first: np.ndarray      # (B, n) index of the first row of the row's tie group
    last: np.ndarray       # (B, n) index of the last row of its tie group (the risk set's end)
    order: np.ndarray      # (B, n) the original row of each sorted row
    didx: np.ndarray       # (M,) flat index (into B * n) of each death row
    bid: np.ndarray        # (M,) its problem
    dlast: np.ndarray      # (M,) flat index (into B * (n + 1) running sums) of its risk set's end
    dfirst: np.ndarray     # (M,) flat index of the running sum just before its tie group
    ddeaths: np.ndarray    # (M,) flat index of the running sum after its group's deaths (listed first in it)
    a: np.ndarray          # (M,) k/d: its Efron share among the d deaths tied with it
    ties: bool             # some death is tied with another


def _prepare(X: np.ndarray, time: np.ndarray, event: np.ndarray) -> _Sorted:
    B, n = time.shape
    # latest first; deaths first within a tie group, so the death ranks k are contiguous
    e0 = np.asarray(event, dtype=float)
    order = np.lexsort((-e0, -time), axis=1) if B == 1 else np.stack([np.lexsort((-e0[b], -time[b])) for b in range(B)])
    t = np.take_along_axis(time, order, axis=1)
    e = np.take_along_axis(e0, order, axis=1)
    Xs = np.take_along_axis(X, order[..., None], axis=1)
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
    bid, row = np.nonzero(e > 0)
    base = bid * (n + 1) + first[bid, row]
    return _Sorted(Xs, t, e, first, last, order, bid * n + row, bid, bid * (n + 1) + last[bid, row] + 1,
                   base, base + d[bid, row].astype(int), a[bid, row], bool(np.any(a > 0)))


def _running(v: np.ndarray) -> np.ndarray:
    """Running sums over rows with a leading 0, flattened over the batch: (B * (n + 1), ...)."""
    B, n = v.shape[:2]
    out = np.zeros((B, n + 1) + v.shape[2:])
    np.cumsum(v, axis=1, out=out[:, 1:])
    return out.reshape((B * (n + 1),) + v.shape[2:])


def _efron(s: _Sorted, beta: np.ndarray, second: bool = True):
    """Per death row (flat over the batch): (eta, den, num1, num2) of Efron's denominators at
    ``beta`` (B, p); the risk weights are scaled by each problem's largest exp(eta), which
    cancels in every ratio."""
    eta = np.einsum("bnp,bp->bn", s.X, beta)
    c = eta.max(axis=1, keepdims=True)
    eta = eta - c
    r = np.exp(eta)
    p = s.X.shape[2]
    rX = r[..., None] * s.X
    R0, R1 = _running(r), _running(rX)
    den, num1 = R0[s.dlast], R1[s.dlast]
    num2 = R2 = None
    if second:
        R2 = _running(rX[..., :, None] * s.X[..., None, :])
        num2 = R2[s.dlast]
    if s.ties:
        # the tied deaths' own sums (they come first in their group), taken away in Efron's shares
        den = den - s.a * (R0[s.ddeaths] - R0[s.dfirst])
        num1 = num1 - s.a[:, None] * (R1[s.ddeaths] - R1[s.dfirst])
        if R2 is not None:
            num2 = num2 - s.a[:, None, None] * (R2[s.ddeaths] - R2[s.dfirst])
    assert num1.shape[1] == p
    return eta.reshape(-1)[s.didx], den, num1, num2


def _per_problem(values: np.ndarray, s: _Sorted) -> np.ndarray:
    """Sums of per-death values (M, ...) within each problem: (B, ...)."""
    B = s.X.shape[0]
    flat = values.reshape(values.shape[0], -1)
    out = np.stack([np.bincount(s.bid, weights=flat[:, j], minlength=B) for j in range(flat.shape[1])], axis=1)
    return out.reshape((B,) + values.shape[1:])


def _loglik(s: _Sorted, beta: np.ndarray) -> np.ndarray:
    eta, den, _, _ = _efron(s, beta, second=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _per_problem(eta - np.log(den), s)


def _score_info(s: _Sorted, beta: np.ndarray):
    _, den, num1, num2 = _efron(s, beta)
    xbar = num1 / den[:, None]
    xd = s.X.reshape(-1, s.X.shape[2])[s.didx]
    score = _per_problem(xd - xbar, s)
    info = _per_problem(num2 / den[:, None, None] - xbar[:, :, None] * xbar[:, None, :], s)
    return score, info, xbar


def _direction(s: _Sorted):
    def direction(beta):
        score, info, _ = _score_info(s, beta)
        ok = np.all(np.isfinite(info), axis=(1, 2)) & np.all(np.isfinite(score), axis=1)
        step = np.zeros_like(beta)
        try:        # all at once; one singular information sends the batch to one-by-one solves
            step[ok] = np.linalg.solve(info[ok], score[ok][..., None])[..., 0]
        except np.linalg.LinAlgError:
            for b in np.flatnonzero(ok):
                try:
                    step[b] = np.linalg.solve(info[b], score[b])
                except np.linalg.LinAlgError:
                    ok[b] = False
        return step, ok
    return direction


def fit_cox_batch(X: np.ndarray, time: np.ndarray, event: np.ndarray, max_iter: int = 50, vcov: bool = False):
    """Coefficients (B, p) and convergence flags (B,) of B Cox fits of the same size at once:
    X (B, n, p), time and event (B, n); with ``vcov`` also the model-based variances (B, p, p),
    NaN where the information is singular."""
    s = _prepare(np.asarray(X, dtype=float), np.asarray(time, dtype=float), np.asarray(event))
    res = newton(np.zeros((s.X.shape[0], s.X.shape[2])), _direction(s), objective=lambda b: _loglik(s, b),
                 max_iter=max_iter)
    if not vcov:
        return res.beta, res.converged
    _, info, _ = _score_info(s, res.beta)
    V = np.full_like(info, np.nan)
    for b in range(info.shape[0]):
        try:
            V[b] = np.linalg.inv(info[b])
        except np.linalg.LinAlgError:
            pass
    return res.beta, res.converged, V


@dataclass(frozen=True)
class CoxFit(WaldZ):
    """A Cox fit: Wald z contrasts and chi-square joint tests from ``coef`` and ``vcov`` (``WaldZ``)."""

    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    loglik: float
    n_events: int
    converged: bool
    robust: bool = False
    n_clusters: int | None = None
    ph: dict | None = None            # cox.zph: {"terms": {name: (chisq, p)}, "global": (chisq, df, p)}


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
    ph = _ph_test(s, beta, info[0], xbar, names)
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
    _, den, num1, _ = _efron(s, beta, second=False)
    e, X = s.event[0], s.X[0]
    eta = X @ beta[0]
    r = np.exp(eta - eta.max())             # the scale _efron's denominators are on
    deaths = s.didx                         # one problem: flat indices are rows
    a = s.a
    xbar = num1 / den[:, None]
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
    np.add.at(A, g, 1.0 / den)
    np.add.at(Bm, g, xbar / den[:, None])
    np.add.at(A1, g, (1.0 - a) / den)
    np.add.at(B1, g, (1.0 - a)[:, None] * xbar / den[:, None])
    np.add.at(Mx, g, xbar)
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
    Vd = num2 / den[:, None, None] - xbar[:, :, None] * xbar[:, None, :]
    gd = g[s.didx]
    p = X.shape[1]
    imat = np.zeros((2 * p, 2 * p))
    imat[:p, :p] = Vd.sum(axis=0)
    imat[:p, p:] = imat[p:, :p] = np.einsum("n,npq->pq", gd, Vd)
    imat[p:, p:] = np.einsum("n,npq->pq", gd ** 2, Vd)
    u2 = np.einsum("n,np->p", gd, X[s.didx] - xbar)
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
