"""Poisson log-linear regression by maximum likelihood, with an optional offset (log exposure) and
the CR0 cluster sandwich; the record shared with the negative binomial engine (``engines.negbin``).

Newton steps with step halving (``engines.newton``) on the log-likelihood until the relative change
of the coefficients (on unit-RMS columns) or of the deviance falls below ``TOL`` (CONTRACT §3), so
estimates match R's ``glm(family = poisson, epsilon = 1e-14)`` to about 1e-9. The variance is the
inverse Fisher information ``(X' diag(mu) X)^-1`` at the final estimate, as ``vcov(glm)``.

A subgroup with no events (all counts 0 in an arm within a moderator level) sends a coefficient to
minus infinity, the count-model analogue of separation: the fit is kept, flagged ``diverged`` and
noted, as the logistic engine does with separation under maximum likelihood.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from effectmod.engines import newton
from effectmod.engines.base import WaldZ
from effectmod.engines.errors import NotConverged, RankDeficient
from effectmod.engines.linalg import collinear_columns

TOL = 1e-10
MAX_ITER = 200
# a fitted mean below this (on a count scale) is a subgroup driven to zero events: the estimate
# of the coefficient that separates it is minus infinity in the limit
MU_EDGE = 1e-8


@dataclass(frozen=True)
class CountFit(WaldZ):
    """A fitted log-linear count model: ``family`` poisson or negative_binomial (then ``theta``,
    the NB2 dispersion, Var = mu + mu^2/theta, and its SE); ``vcov`` of the coefficients with
    theta treated as known (as ``vcov(glm.nb)``), or the CR0 cluster sandwich."""

    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    family: str
    n: int
    mu: np.ndarray
    loglik: float
    deviance: float
    pearson_chi2: float
    df_resid: int
    converged: bool
    iterations: int
    theta: float = math.nan
    theta_se: float = math.nan
    diverged: bool = False
    notes: tuple[str, ...] = ()

    @property
    def dispersion_ratio(self) -> float:
        """Pearson chi-square over residual df (about 1 when the Poisson variance holds)."""
        return self.pearson_chi2 / self.df_resid if self.df_resid > 0 else math.nan


def check_design(X: np.ndarray, y: np.ndarray, names) -> tuple[str, ...]:
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(X.shape[1]))
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError("X must be (n, p) and y (n,)")
    if np.any(y < 0) or np.any(y != np.round(y)):
        raise ValueError("count outcomes are whole numbers from 0")
    dependent = collinear_columns(X)
    if dependent.any():
        raise RankDeficient([nm for nm, d in zip(names, dependent) if d])
    return names


def column_scale(X: np.ndarray) -> np.ndarray:
    s = np.sqrt(np.mean(X * X, axis=0))
    s[s == 0] = 1.0
    return s


def start_values(X: np.ndarray, y: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Least squares of log(y + 0.5) - offset on X: a start inside the likelihood's basin."""
    return np.linalg.lstsq(X, np.log(y + 0.5) - offset, rcond=None)[0]


def poisson_loglik(y: np.ndarray, mu: np.ndarray) -> float:
    return float(np.sum(special.xlogy(y, mu) - mu - special.gammaln(y + 1.0)))


def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    return float(2.0 * np.sum(special.xlogy(y, y / np.where(mu > 0, mu, 1.0)) * (y > 0) - (y - mu)))


def diverging(y: np.ndarray, mu: np.ndarray) -> bool:
    """Some participant with count 0 has a fitted mean of ~0: a zero-event subgroup."""
    return bool(np.any(mu[y == 0] < MU_EDGE))


def fit_poisson(X: np.ndarray, y: np.ndarray, names=None, offset: np.ndarray | None = None,
                cluster=None, max_iter: int = MAX_ITER) -> CountFit:
    """Poisson ML of y on X with ``offset`` (log exposure) added to the linear predictor.

    Raises ``RankDeficient`` for collinear columns and ``NotConverged`` when the iterations stop
    short without a diverging (zero-event) subgroup to explain it."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    names = check_design(X, y, names)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
    scale = column_scale(X)
    Xs = X / scale

    def eta_of(b):
        return np.clip(Xs @ b + off, -700.0, 700.0)

    def direction(beta):
        b = beta[0]
        mu = np.exp(eta_of(b))
        info = Xs.T @ (Xs * mu[:, None])
        try:
            step = np.linalg.solve(info, Xs.T @ (y - mu))
            ok = bool(np.all(np.isfinite(step)))
        except np.linalg.LinAlgError:
            step, ok = np.zeros_like(b), False
        return step[None], np.array([ok])

    def objective(beta):
        eta = eta_of(beta[0])
        return np.array([float(np.sum(y * eta - np.exp(eta)))])

    def converged(s):
        # the relative step; a zero-event subgroup's coefficient walks off to minus infinity
        # while the likelihood stops changing: then the deviance rule of glm.fit stops it
        d_coef = float(newton.relative_change(s.old[0], s.new[0]))
        d_dev = abs(float(s.obj_new[0]) - float(s.obj_old[0])) / (2.0 * abs(float(s.obj_new[0])) + 0.1)
        edge = diverging(y, np.exp(eta_of(s.new[0])))
        return np.array([d_coef < TOL or (edge and d_dev < TOL * 1e-4)])

    b0 = start_values(Xs, y, off)
    res = newton.newton(b0[None], direction, objective=objective, converged=converged, max_iter=max_iter)
    bs = res.beta[0]
    mu = np.exp(eta_of(bs))
    info = Xs.T @ (Xs * mu[:, None])
    bread_s = np.linalg.pinv(info)
    coef = bs / scale
    vcov = bread_s / np.outer(scale, scale)
    if cluster is not None:
        from effectmod.engines.cluster import cr0_vcov
        vcov = cr0_vcov(X * (y - mu)[:, None], vcov, cluster)
    diverged = diverging(y, mu)
    notes: tuple[str, ...] = ()
    if diverged:
        notes = ("a subgroup has no events (all counts 0): its rate ratio is infinite and the estimate unreliable",)
    converged_ = bool(res.converged[0])
    if not converged_ and not diverged:
        raise NotConverged(f"the Poisson fit did not converge in {max_iter} iterations")
    pearson = float(np.sum((y - mu) ** 2 / np.where(mu > 0, mu, np.inf)))
    return CountFit(coef, vcov, names, "poisson", len(y), mu, poisson_loglik(y, mu), poisson_deviance(y, mu),
                    pearson, len(y) - X.shape[1], converged_, int(res.iterations[0]), diverged=diverged, notes=notes)


def overdispersion_lr(poisson_loglik_: float, negbin_loglik: float) -> tuple[float, float]:
    """LR statistic of NB against Poisson and its p, theta^-1 = 0 on the boundary: half a
    chi-square(1) (Self & Liang 1987), so p = P(chi2_1 > LR) / 2."""
    lr = max(2.0 * (negbin_loglik - poisson_loglik_), 0.0)
    return lr, float(0.5 * stats.chi2.sf(lr, 1)) if lr > 0 else 0.5


# batched fits (simulated trials for power): CONTRACT §3's convergence rule
STACKED_STEPS = 60


def fit_poisson_stacked(X: np.ndarray, y: np.ndarray, offset: np.ndarray | None = None):
    """Many Poisson ML fits at once by stacked Newton steps (``engines.newton``): X (B, n, p),
    y (B, n), offset (B, n) or None. Returns (coef, std_error, converged), (B, p), (B, p), (B,).
    A fit with a singular information, a zero-event subgroup (fitted means ~0 where y = 0) or
    that stops short is reported as not converged (callers count it as not rejecting)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    off = np.zeros(y.shape) if offset is None else np.asarray(offset, dtype=float)
    B, _, p = X.shape
    scale = np.sqrt((X * X).mean(axis=1))
    scale = np.where(scale == 0, 1.0, scale)
    Xs = X / scale[:, None, :]
    full_rank = ~collinear_columns(X).any(axis=1)

    def mu_of(beta):
        return np.exp(np.clip(np.einsum("bnp,bp->bn", Xs, beta) + off, -700.0, 700.0))

    def information(mu):
        return np.einsum("bnp,bn,bnq->bpq", Xs, mu, Xs, optimize=True)

    def direction(beta):
        mu = mu_of(beta)
        H = information(mu)
        g = np.einsum("bnp,bn->bp", Xs, y - mu)
        ok = (np.linalg.cond(H) < 1e12) & full_rank
        return np.linalg.solve(np.where(ok[:, None, None], H, np.eye(p)), g[..., None])[..., 0], ok

    start = np.zeros((B, p))
    for b in range(B):
        start[b] = start_values(Xs[b], y[b], off[b])
    res = newton.newton(start, direction,
                        converged=lambda s: newton.relative_change(s.old, s.new) < TOL, max_iter=STACKED_STEPS)
    mu = mu_of(res.beta)
    H = information(mu)
    ok = np.linalg.cond(H) < 1e12
    inv = np.linalg.inv(np.where(ok[:, None, None], H, np.eye(p)))
    se = np.sqrt(np.diagonal(inv, axis1=1, axis2=2)) / scale
    edge = np.any((mu < MU_EDGE) & (y == 0), axis=1)
    return res.beta / scale, se, res.converged & ok & full_rank & ~edge
