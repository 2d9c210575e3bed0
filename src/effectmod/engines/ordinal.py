"""Proportional-odds cumulative-logit regression by maximum likelihood, as ``ordinal::clm`` with
the logit link: ``logit P(Y <= j) = theta_j - x'b`` (a positive b shifts towards higher categories).

The design keeps effectmod's naming: its ``(Intercept)`` column is replaced by the K-1 thresholds
inside the engine, and the record's ``coef``/``vcov`` stay aligned with the design's names (the
intercept slot holds 0 with variance 0), so ``contrast(L)`` takes the same L as every family.
Categories unused in the data are dropped (as ``clm`` does with ``droplevels``). Newton steps on
the log-likelihood with its analytic observed information (``engines.newton``, step halving; a
step that disorders the thresholds lowers the likelihood to -inf and is halved) until the
relative change is below ``TOL``; the variance is the inverse observed information, as
``vcov(clm)``. ``nominal`` columns get threshold-specific effects (partial proportional odds,
``clm(nominal = ~ w)``): the likelihood of that model is what the proportional-odds check compares.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from effectmod.engines import newton
from effectmod.engines.base import WaldZ
from effectmod.engines.errors import NotConverged, RankDeficient
from effectmod.engines.linalg import collinear_columns

TOL = 1e-10
MAX_ITER = 200
SE_EXPLODED = 100.0


@dataclass(frozen=True)
class OrdinalFit(WaldZ):
    coef: np.ndarray                  # aligned with ``names`` (the intercept slot is 0)
    vcov: np.ndarray
    names: tuple[str, ...]
    thresholds: np.ndarray            # theta_1 < ... < theta_{K-1}
    categories: tuple[int, ...]       # the category codes used (0-based, of the declared levels)
    n: int
    loglik: float
    converged: bool
    iterations: int
    separation: bool = False
    notes: tuple[str, ...] = ()
    full_vcov: np.ndarray | None = None   # thresholds then the non-intercept coefficients

    @property
    def diverged(self) -> bool:
        """A flat likelihood (a category missing in a subgroup): effects built on it are artefacts."""
        return self.separation

    def probabilities(self, eta: np.ndarray) -> np.ndarray:
        """(n, K) probability of each used category at linear predictors ``eta``."""
        cum = special.expit(self.thresholds[None, :] - np.asarray(eta, dtype=float)[:, None])
        cum = np.column_stack([np.zeros(len(cum)), cum, np.ones(len(cum))])
        return np.diff(cum, axis=1)


def _parts(Z, k, W, n_cut, params):
    """a = theta_k - eta - w'g_k and b = theta_{k-1} - ..., with their gradients (n, P)."""
    q = Z.shape[1]
    theta = params[:n_cut]
    beta = params[n_cut:n_cut + q]
    eta = Z @ beta
    n = Z.shape[0]
    r = W.shape[1]
    gam = params[n_cut + q:].reshape(r, max(n_cut - 1, 0)) if r else np.zeros((0, max(n_cut - 1, 0)))
    P = params.size
    out = []
    for kk, shift in ((k, 0), (k - 1, -1)):
        finite = (kk >= 0) & (kk < n_cut)
        idx = np.clip(kk, 0, n_cut - 1)
        val = theta[idx] - eta
        if r:
            # nominal effects: the first threshold carries none (identified against theta)
            gk = np.where(idx[:, None] > 0, gam.T[np.clip(idx - 1, 0, None)], 0.0) if n_cut > 1 else np.zeros((n, r))
            val = val - np.sum(W * gk, axis=1)
        G = np.zeros((n, P))
        G[np.arange(n), idx] = 1.0
        G[:, n_cut:n_cut + q] = -Z
        if r and n_cut > 1:
            for j in range(r):
                cols = n_cut + q + j * (n_cut - 1) + np.clip(idx - 1, 0, None)
                G[np.arange(n), cols] = np.where(idx > 0, -W[:, j], 0.0)
        val = np.where(finite, val, np.inf if shift == 0 else -np.inf)
        G[~finite] = 0.0
        out.append((val, G))
    return out


def _loglik_grad_hess(Z, k, W, n_cut, params, want_hess=True):
    (a, A), (b, B) = _parts(Z, k, W, n_cut, params)
    Fa, Fb = special.expit(a), special.expit(b)
    p = Fa - Fb
    if np.any(~(p > 0)):
        return -math.inf, None, None
    ll = float(np.sum(np.log(p)))
    fa, fb = Fa * (1 - Fa), Fb * (1 - Fb)
    G = (A * fa[:, None] - B * fb[:, None]) / p[:, None]
    grad = G.sum(axis=0)
    if not want_hess:
        return ll, grad, None
    dfa, dfb = fa * (1 - 2 * Fa), fb * (1 - 2 * Fb)
    H = (A.T @ (A * (dfa / p)[:, None]) - B.T @ (B * (dfb / p)[:, None]) - G.T @ G)
    return ll, grad, H


def fit_ordinal(X: np.ndarray, y: np.ndarray, names=None, nominal: np.ndarray | None = None,
                cluster=None, max_iter: int = MAX_ITER) -> OrdinalFit:
    """Proportional-odds fit of the category codes ``y`` (0, 1, ... in order) on X.

    X may hold an ``(Intercept)`` column (any constant column named so), which the thresholds
    replace. ``nominal`` (n, r): columns with threshold-specific effects (for the PO check)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(X.shape[1]))
    keep = np.array([nm != "(Intercept)" for nm in names])
    Z = X[:, keep]
    dependent = collinear_columns(np.column_stack([np.ones(len(y)), Z]))[1:]
    if dependent.any():
        raise RankDeficient([nm for nm, d in zip(np.array(names)[keep], dependent) if d])
    used = np.unique(y.astype(int))
    if used.size < 2:
        raise NotConverged("the outcome takes a single category")
    k = np.searchsorted(used, y.astype(int))
    n_cut = used.size - 1
    W = np.zeros((len(y), 0)) if nominal is None else np.asarray(nominal, dtype=float).reshape(len(y), -1)
    scale = np.sqrt(np.mean(Z * Z, axis=0))
    scale[scale == 0] = 1.0
    Zs = Z / scale
    cum = np.cumsum(np.bincount(k, minlength=used.size))[:-1] / len(y)
    p0 = np.concatenate([special.logit(cum), np.zeros(Zs.shape[1] + W.shape[1] * max(n_cut - 1, 0))])

    def direction(pp):
        _, g, H = _loglik_grad_hess(Zs, k, W, n_cut, pp[0])
        if g is None or H is None:
            return np.zeros_like(pp), np.array([False])
        try:
            step = np.linalg.solve(-H, g)
        except np.linalg.LinAlgError:
            return np.zeros_like(pp), np.array([False])
        return step[None], np.array([bool(np.all(np.isfinite(step)))])

    def objective(pp):
        return np.array([_loglik_grad_hess(Zs, k, W, n_cut, pp[0], want_hess=False)[0]])

    res = newton.newton(p0[None], direction, objective=objective,
                        converged=lambda s: newton.relative_change(s.old, s.new) < TOL, max_iter=max_iter)
    est = res.beta[0]
    ll, g, H = _loglik_grad_hess(Zs, k, W, n_cut, est)
    assert H is not None and g is not None, "the estimate has a finite likelihood"
    P = est.size
    unscale = np.concatenate([np.ones(n_cut), 1.0 / scale, np.ones(P - n_cut - Zs.shape[1])])
    try:
        cov = np.linalg.inv(-H) * np.outer(unscale, unscale)
    except np.linalg.LinAlgError:
        cov = np.full((P, P), np.nan)
    if cluster is not None:
        from effectmod.engines.cluster import cr0_vcov
        (a, A), (b, B) = _parts(Zs, k, W, n_cut, est)
        Fa, Fb = special.expit(a), special.expit(b)
        scores = (A * (Fa * (1 - Fa))[:, None] - B * (Fb * (1 - Fb))[:, None]) / (Fa - Fb)[:, None]
        # scores in the original units: d/d(b) = d/d(b_scaled) * scale = d/d(b_scaled) / unscale
        cov = cr0_vcov(scores / unscale[None, :], cov, cluster)
    params = est * unscale
    q = Zs.shape[1]
    coef = np.zeros(len(names))
    coef[keep] = params[n_cut:n_cut + q]
    vcov = np.zeros((len(names), len(names)))
    idx = np.flatnonzero(keep)
    vcov[np.ix_(idx, idx)] = cov[n_cut:n_cut + q, n_cut:n_cut + q]
    # SEs in units of each column's SD (1 for indicators), as the logistic engine judges them
    sd = Z.std(axis=0)
    units = np.where(np.all((Z == 0) | (Z == 1), axis=0) | (sd == 0), 1.0, sd)
    se = np.sqrt(np.abs(np.diag(cov[n_cut:n_cut + q, n_cut:n_cut + q]))) * units
    separation = bool(not np.all(np.isfinite(se)) or (se.size and np.max(se) > SE_EXPLODED))
    converged = bool(res.converged[0])
    if not converged and not separation:
        raise NotConverged(f"the proportional-odds fit did not converge in {max_iter} iterations")
    notes = (("the likelihood is flat in some direction (a category missing in a subgroup): estimate unreliable",)
             if separation else ())
    return OrdinalFit(coef, vcov, names, params[:n_cut], tuple(int(c) for c in used), len(y), ll, converged,
                      int(res.iterations[0]), separation, notes, cov[:n_cut + q, :n_cut + q])


def proportional_odds_lr(X: np.ndarray, y: np.ndarray, names, columns: list[str]) -> tuple[float, int, float]:
    """Likelihood-ratio test of proportional odds for the named columns, as
    ``ordinal::nominal_test``: the model with threshold-specific effects of those columns against
    the proportional-odds model; (statistic, df, p). NaN when the larger model cannot be fitted."""
    from scipy import stats
    base = fit_ordinal(X, y, names)
    n_cut = len(base.categories) - 1
    if n_cut < 2:
        return math.nan, 0, math.nan
    W = np.column_stack([X[:, list(names).index(c)] for c in columns])
    try:
        big = fit_ordinal(X, y, names, nominal=W)
    except (NotConverged, RankDeficient, np.linalg.LinAlgError):
        return math.nan, 0, math.nan
    lr = max(2.0 * (big.loglik - base.loglik), 0.0)
    df = W.shape[1] * (n_cut - 1)
    return lr, df, float(stats.chi2.sf(lr, df))
