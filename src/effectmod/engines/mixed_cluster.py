"""Linear mixed model with random intercepts for clusters and for participants within them.

Model (lme4 notation ``y ~ X + (1 | cluster) + (1 | id)``), participants nested in clusters::

    y = X b + Z1 u + Z2 v + e,  u ~ N(0, s_e t1^2 I) (participants),  v ~ N(0, s_e t2^2 I) (clusters),
    Var(y) = s_e V,  V = I + t1^2 Z1 Z1' + t2^2 Z2 Z2'.

For one cluster, I + S Z'Z S (S = diag(t1 for each participant, t2)) is an arrowhead matrix, so
every quantity is a sum over participants and clusters (no n x n matrix): with n_i the visits
of participant i, W = [X, y] and its per-participant and per-cluster column sums,
``W'V^-1W = W'W - sum_i t1^2 w_i w_i' / (1 + t1^2 n_i) - sum_c g_c g_c' / s_c``, where
g_c = t2 (w_c - sum_{i in c} t1^2 n_i w_i / (1 + t1^2 n_i)) and
s_c = 1 + t2^2 N_c - sum_{i in c} t1^2 t2^2 n_i^2 / (1 + t1^2 n_i); log|V| = sum log(1 + t1^2 n_i) + sum log s_c.

REML as lme4 (profiled over s_e, minimised over t1, t2 >= 0 and polished by Newton steps on
central differences); Satterthwaite df as lmerTest: A = 2 H^-1 from the Hessian H of the REML
deviance in (t1, t2, sigma) and the Jacobian of Cov(b) = s_e (X'V^-1X)^-1, both by Richardson
extrapolated central differences (lmerTest uses numDeriv's), Hessian eigenvalues below 1e-8
dropped as in lmerTest. Multi-row Wald tests use the ``contestMD`` F of ``engines.mixed``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .base import Contrast, WaldTest
from .errors import NotIdentified
from .mixed import HESS_EIG_TOL, _collinearity, _f_ddf

LOG2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class ClusterMixedFit:
    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    theta: np.ndarray                 # (participant, cluster) SDs relative to the residual SD
    sigma2_residual: float
    n_obs: int
    n_groups: int
    n_clusters: int
    reml_deviance: float
    converged: bool
    message: str
    vcov_varpar: np.ndarray           # (3, 3): (theta_participant, theta_cluster, sigma)
    jac_vcov: np.ndarray              # (3, p, p)

    @property
    def sigma2_subject(self) -> float:
        return float(self.theta[0] ** 2 * self.sigma2_residual)

    @property
    def sigma2_cluster(self) -> float:
        return float(self.theta[1] ** 2 * self.sigma2_residual)

    @property
    def icc(self) -> float:
        """Share of the total variance between participants (cluster and participant parts)."""
        total = self.sigma2_subject + self.sigma2_cluster + self.sigma2_residual
        return (self.sigma2_subject + self.sigma2_cluster) / total

    def satterthwaite_df(self, c: np.ndarray) -> float:
        var = float(c @ self.vcov @ c)
        grad = np.einsum("i,kij,j->k", c, self.jac_vcov, c)
        denom = float(grad @ self.vcov_varpar @ grad)
        return 2.0 * var * var / denom if denom > 0 else math.inf

    def contrast(self, L) -> Contrast:
        c = np.asarray(L, dtype=float).ravel()
        return Contrast(float(c @ self.coef), math.sqrt(float(c @ self.vcov @ c)), self.satterthwaite_df(c))

    def wald(self, L) -> WaldTest:
        """F test with Satterthwaite denominator df (lmerTest's ``contestMD``)."""
        from scipy import stats
        L = np.atleast_2d(np.asarray(L, dtype=float))
        if L.shape[0] == 1:
            c = self.contrast(L[0])
            f = c.statistic ** 2
            return WaldTest(f, 1, c.df, float(stats.f.sf(f, 1, c.df)))
        vals, vecs = np.linalg.eigh(L @ self.vcov @ L.T)
        keep = vals > math.sqrt(np.finfo(float).eps) * vals.max()
        vals, vecs = vals[keep], vecs[:, keep]
        q = int(keep.sum())
        PL = vecs.T @ L
        t2 = (PL @ self.coef) ** 2 / vals
        nu = np.array([self.satterthwaite_df(row) for row in PL])
        f = float(t2.sum() / q)
        ddf = _f_ddf(nu)
        return WaldTest(f, q, ddf, float(stats.f.sf(f, q, ddf)))


class _Sums:
    """Per-participant and per-cluster sums of W = [X, y] and of the visit counts."""

    def __init__(self, X, y, groups, clusters):
        W = np.column_stack([X, y])
        g = np.unique(groups, return_inverse=True)[1].ravel()
        self.n_groups = int(g.max()) + 1
        self.ni = np.bincount(g).astype(float)
        self.Wi = np.zeros((self.n_groups, W.shape[1]))
        np.add.at(self.Wi, g, W)
        # the cluster of each participant (participants are nested in clusters)
        cl = np.unique(clusters, return_inverse=True)[1].ravel()
        first = np.zeros(self.n_groups, dtype=np.int64)
        first[g] = cl
        self.ci = first
        self.n_clusters = int(cl.max()) + 1
        self.WW = W.T @ W
        self.n, self.p = X.shape


def _quad(S: _Sums, t1: float, t2: float):
    """(W'V^-1W, log|V|)."""
    d = 1.0 + t1 * t1 * S.ni
    A = S.WW - (t1 * t1) * (S.Wi / d[:, None]).T @ S.Wi
    logdet = float(np.log(d).sum())
    if t2 > 0:
        Nc = np.bincount(S.ci, weights=S.ni, minlength=S.n_clusters)
        sub = np.bincount(S.ci, weights=(t1 * t1 * t2 * t2) * S.ni ** 2 / d, minlength=S.n_clusters)
        s = 1.0 + t2 * t2 * Nc - sub
        Wc = np.zeros((S.n_clusters, S.Wi.shape[1]))
        np.add.at(Wc, S.ci, S.Wi * (1.0 - t1 * t1 * S.ni / d)[:, None])
        gc = t2 * Wc
        A = A - (gc / s[:, None]).T @ gc
        logdet += float(np.log(s).sum())
    return A, logdet


def _parts(S: _Sums, t1: float, t2: float):
    A, logdet = _quad(S, t1, t2)
    p = S.p
    M = A[:p, :p]
    b = np.linalg.solve(M, A[:p, p])
    rvr = float(A[p, p] - A[:p, p] @ b)
    return M, b, rvr, logdet


def _profiled(S: _Sums, theta) -> float:
    t1, t2 = abs(float(theta[0])), abs(float(theta[1]))
    M, _, rvr, logdet = _parts(S, t1, t2)
    dfr = S.n - S.p
    return logdet + float(np.linalg.slogdet(M)[1]) + dfr * (1.0 + LOG2PI + math.log(max(rvr, 1e-300) / dfr))


def _deviance_vp(S: _Sums, vp) -> float:
    """lmerTest's devfun_vp: the REML deviance at (theta_participant, theta_cluster, sigma)."""
    t1, t2, sigma = float(vp[0]), float(vp[1]), float(vp[2])
    M, _, rvr, logdet = _parts(S, abs(t1), abs(t2))
    s2 = sigma * sigma
    return logdet + float(np.linalg.slogdet(M)[1]) + rvr / s2 + (S.n - S.p) * (LOG2PI + math.log(s2))


def _covbeta(S: _Sums, vp) -> np.ndarray:
    M, _, _, _ = _parts(S, abs(float(vp[0])), abs(float(vp[1])))
    return float(vp[2]) ** 2 * np.linalg.inv(M)


ZERO_TOL = math.sqrt(np.finfo(float).eps / 7e-7)    # numDeriv's zero.tol


def _steps(x: np.ndarray, d: float) -> np.ndarray:
    return np.abs(d * x) + 1e-4 * (np.abs(x) < ZERO_TOL)


def _extrapolate(est: list) -> np.ndarray:
    """numDeriv's Richardson extrapolation over r = len(est) step halvings (v = 2)."""
    est = list(est)
    r = len(est)
    for m in range(1, r):
        for k in range(r - m):
            est[k] = (est[k + 1] * 4.0 ** m - est[k]) / (4.0 ** m - 1.0)
    return np.asarray(est[0])


def _jacobian(f, x: np.ndarray, r: int = 4) -> np.ndarray:
    """numDeriv::jacobian (method Richardson, d = 1e-4): one derivative array per coordinate."""
    x = np.asarray(x, dtype=float)
    out = []
    for i in range(x.size):
        h = _steps(x, 1e-4)
        est = []
        for _ in range(r):
            e = np.zeros_like(x)
            e[i] = h[i]
            est.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h[i]))
            h = h / 2.0
        out.append(_extrapolate(est))
    return np.stack(out)


def _hessian(f, x: np.ndarray, r: int = 4) -> np.ndarray:
    """numDeriv::hessian (genD, method Richardson, d = 0.1), as lmerTest computes it."""
    x = np.asarray(x, dtype=float)
    n = x.size
    f0 = float(f(x))
    h0 = _steps(x, 0.1)
    H = np.zeros((n, n))
    for i in range(n):
        h = h0.copy()
        est = []
        for _ in range(r):
            e = np.zeros(n)
            e[i] = h[i]
            est.append((float(f(x + e)) - 2 * f0 + float(f(x - e))) / h[i] ** 2)
            h = h / 2.0
        H[i, i] = float(_extrapolate(est))
    for i in range(n):
        for j in range(i):
            h = h0.copy()
            est = []
            for _ in range(r):
                e = np.zeros(n)
                e[i], e[j] = h[i], h[j]
                est.append((float(f(x + e)) - 2 * f0 + float(f(x - e)) - H[i, i] * h[i] ** 2 - H[j, j] * h[j] ** 2)
                           / (2 * h[i] * h[j]))
                h = h / 2.0
            H[i, j] = H[j, i] = float(_extrapolate(est))
    return H


def fit_cluster_intercepts(y, X, groups, clusters, names=None) -> ClusterMixedFit:
    """REML fit of y ~ X + (1 | cluster) + (1 | participant), participants nested in clusters."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(X.shape[1]))
    problem = _collinearity(X, names)
    if problem is not None:
        raise problem
    S = _Sums(X, y, groups, clusters)
    if S.n_clusters < 2:
        raise NotIdentified("a random intercept per cluster needs at least 2 clusters")
    best = min(((a, b) for a in (0.1, 0.5, 1.0, 2.0) for b in (0.05, 0.2, 0.5, 1.0)), key=lambda t: _profiled(S, t))
    res = optimize.minimize(lambda t: _profiled(S, t), np.array(best), method="L-BFGS-B",
                            bounds=[(0.0, None), (0.0, None)], options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 500})
    theta = np.maximum(res.x, 0.0)
    # Newton polish on the interior coordinates (the boundary stays where the optimiser left it)
    converged = bool(res.success)
    for _ in range(20):
        free = [k for k in range(2) if theta[k] > 1e-6]
        if not free:
            break
        sub = theta[free]

        def prof(z, free=free):
            t = theta.copy()
            t[free] = z
            return _profiled(S, t)
        g = _jacobian(prof, sub)
        H = _hessian(prof, sub)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        new = theta.copy()
        new[free] = np.maximum(sub - step, 0.0)
        if _profiled(S, new) > _profiled(S, theta) + 1e-9:
            break
        # a Newton step below 1e-6 is at the noise floor of the differenced gradient: the optimum
        done = np.max(np.abs(new - theta)) <= 1e-6 * max(1.0, float(np.max(theta)))
        theta = new
        if done:
            converged = True
            break
    M, b, rvr, _ = _parts(S, theta[0], theta[1])
    sigma2 = rvr / (S.n - S.p)
    vp = np.array([theta[0], theta[1], math.sqrt(sigma2)])
    H = _hessian(lambda z: _deviance_vp(S, z), vp)
    w, V = np.linalg.eigh(H)
    pos = w > HESS_EIG_TOL
    A = 2.0 * (V[:, pos] / w[pos]) @ V[:, pos].T
    jac = _jacobian(lambda z: _covbeta(S, z), vp)
    message = ""
    if theta[1] <= 1e-6:
        message = "boundary (singular) fit: the between-cluster variance is estimated as 0"
    elif theta[0] <= 1e-6:
        message = "boundary (singular) fit: the between-participant variance is estimated as 0"
    return ClusterMixedFit(b, sigma2 * np.linalg.inv(M), names, theta, float(sigma2), S.n, S.n_groups, S.n_clusters,
                           _profiled(S, theta), converged, message, A, jac)
