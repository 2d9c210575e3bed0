"""Negative binomial (NB2) log-linear regression with the dispersion estimated jointly by maximum
likelihood, as ``MASS::glm.nb``: Var(y) = mu + mu^2/theta.

The coefficients and log(theta) are found together by Newton steps on the full log-likelihood with
its observed information (``engines.newton``, step halving), started at the Poisson fit and the
moment estimate of theta (as ``MASS::theta.ml``), until the relative change is below ``TOL``. That
is the exact joint maximum that ``glm.nb``'s alternation approaches. The reported variance is
``vcov(glm.nb)``: the inverse Fisher information of the coefficients with theta treated as known,
``(X' diag(mu / (1 + mu/theta)) X)^-1``; theta's SE is ``glm.nb``'s ``SE.theta`` (its observed
information given the means).

When the data show no overdispersion, theta runs off to infinity (the Poisson model is the limit):
the fit then stops at ``THETA_MAX`` with a note, and its numbers are the Poisson fit's.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from effectmod.engines import newton
from effectmod.engines.errors import NotConverged
from effectmod.engines.poisson import (
    CountFit,
    check_design,
    column_scale,
    diverging,
    fit_poisson,
    poisson_deviance,
)

TOL = 1e-10
MAX_ITER = 200
# log(theta) beyond this (theta > 6.6e7): no overdispersion in any sample a trial has
LOG_THETA_MAX = 18.0
# a fit that stalls (the log-likelihood flat to rounding) with log(theta) beyond this (theta >
# 22,000, a variance inflation mu/theta below 1e-4 at the counts of trials) is at that boundary too
LOG_THETA_FLAT = 10.0
# a fit that stalls with a log-likelihood within this of the Poisson fit's (a likelihood-ratio
# statistic for overdispersion below 1e-3) has found none either, whatever theta it stalled at:
# the likelihood is flat in theta (MASS::glm.nb then stops at its theta iteration limit)
FLAT_GAIN = 5e-4


def negbin_loglik(y: np.ndarray, mu: np.ndarray, theta: float) -> float:
    return float(np.sum(special.gammaln(y + theta) - special.gammaln(theta) - special.gammaln(y + 1.0)
                        + theta * math.log(theta) + special.xlogy(y, mu) - (theta + y) * np.log(theta + mu)))


def negbin_deviance(y: np.ndarray, mu: np.ndarray, theta: float) -> float:
    """glm's residual deviance of the negative.binomial(theta) family."""
    term = special.xlogy(y, y / np.where(mu > 0, mu, 1.0)) * (y > 0)
    return float(2.0 * np.sum(term - (y + theta) * np.log((y + theta) / (mu + theta))))


def _score_hessian(Xs, y, off, z):
    b, a = z[:-1], z[-1]
    th = math.exp(a)
    mu = np.exp(np.clip(Xs @ b + off, -700.0, 700.0))
    tm = th + mu
    s_b = Xs.T @ (th * (y - mu) / tm)
    s_th = float(np.sum(special.digamma(y + th) - special.digamma(th) + math.log(th) + 1.0 - np.log(tm) - (th + y) / tm))
    H_bb = -(Xs.T @ (Xs * (th * mu * (th + y) / tm ** 2)[:, None]))
    H_ba = th * (Xs.T @ ((y - mu) * mu / tm ** 2))
    H_thth = float(np.sum(special.polygamma(1, y + th) - special.polygamma(1, th) + 1.0 / th - 1.0 / tm - (mu - y) / tm ** 2))
    q = b.size
    H = np.empty((q + 1, q + 1))
    H[:q, :q] = H_bb
    H[:q, q] = H[q, :q] = H_ba
    H[q, q] = th * th * H_thth + th * s_th
    return np.concatenate([s_b, [th * s_th]]), H, mu, H_thth


def fit_negbin(X: np.ndarray, y: np.ndarray, names=None, offset: np.ndarray | None = None,
               cluster=None, max_iter: int = MAX_ITER) -> CountFit:
    """NB2 ML of y on X (log link, ``offset`` added), theta estimated jointly.

    Raises ``RankDeficient`` (collinear columns) and ``NotConverged``."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    names = check_design(X, y, names)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
    pois = fit_poisson(X, y, names, offset=off)
    scale = column_scale(X)
    Xs = X / scale
    mu0 = pois.mu
    spread = float(np.sum((y / mu0 - 1.0) ** 2))
    moment = len(y) / spread if spread > 0 and math.isfinite(spread) else 1.0
    z0 = np.concatenate([pois.coef * scale, [math.log(min(max(moment, 1e-3), 1e6))]])

    def direction(zz):
        z = zz[0]
        s, H, mu, _ = _score_hessian(Xs, y, off, z)
        try:
            np.linalg.cholesky(-H)
            step = np.linalg.solve(-H, s)
        except np.linalg.LinAlgError:
            # away from the maximum: Fisher scoring for the coefficients, a damped step in log(theta)
            th = math.exp(z[-1])
            info = Xs.T @ (Xs * (mu * th / (th + mu))[:, None])
            step = np.concatenate([np.linalg.solve(info, s[:-1]), [float(np.clip(s[-1] / max(abs(H[-1, -1]), 1.0), -1, 1))]])
        return step[None], np.array([bool(np.all(np.isfinite(step)))])

    def objective(zz):
        z = zz[0]
        if not math.isfinite(z[-1]) or z[-1] > 700:
            return np.array([-math.inf])
        mu = np.exp(np.clip(Xs @ z[:-1] + off, -700.0, 700.0))
        return np.array([negbin_loglik(y, mu, math.exp(z[-1]))])

    res = newton.newton(z0[None], direction, objective=objective,
                        converged=lambda s: newton.relative_change(s.old, s.new) < TOL,
                        keep=lambda zz: zz[:, -1] < LOG_THETA_MAX, max_iter=max_iter)
    z = res.beta[0]
    stalled = not bool(res.converged[0])
    if z[-1] >= LOG_THETA_MAX or (stalled and (z[-1] > LOG_THETA_FLAT or objective(res.beta)[0] - pois.loglik < FLAT_GAIN)):
        note = ("no overdispersion: theta, the negative binomial dispersion, runs off to infinity, "
                "so the fit is the Poisson fit")
        return CountFit(pois.coef, pois.vcov if cluster is None else fit_poisson(X, y, names, off, cluster).vcov, names,
                        "negative_binomial", pois.n, pois.mu, pois.loglik, pois.deviance, pois.pearson_chi2,
                        pois.df_resid, pois.converged, int(res.iterations[0]), theta=math.inf, theta_se=math.nan,
                        diverged=pois.diverged, notes=(*pois.notes, note))
    th = math.exp(z[-1])
    _, _, mu, H_thth = _score_hessian(Xs, y, off, z)
    diverged = diverging(y, mu)
    if not bool(res.converged[0]) and not diverged:
        raise NotConverged(f"the negative binomial fit did not converge in {max_iter} iterations")
    info = Xs.T @ (Xs * (mu / (1.0 + mu / th))[:, None])
    vcov = np.linalg.pinv(info) / np.outer(scale, scale)
    if cluster is not None:
        from effectmod.engines.cluster import cr0_vcov
        vcov = cr0_vcov(X * (th * (y - mu) / (th + mu))[:, None], vcov, cluster)
    notes: tuple[str, ...] = ()
    if diverged:
        notes = ("a subgroup has no events (all counts 0): its rate ratio is infinite and the estimate unreliable",)
    pearson = float(np.sum((y - mu) ** 2 / (mu + mu * mu / th)))
    return CountFit(z[:-1] / scale, vcov, names, "negative_binomial", len(y), mu, negbin_loglik(y, mu, th),
                    negbin_deviance(y, mu, th), pearson, len(y) - X.shape[1], bool(res.converged[0]),
                    int(res.iterations[0]), theta=th, theta_se=1.0 / math.sqrt(-H_thth) if H_thth < 0 else math.nan,
                    diverged=diverged, notes=notes)


__all__ = ["fit_negbin", "negbin_loglik", "negbin_deviance", "poisson_deviance"]
