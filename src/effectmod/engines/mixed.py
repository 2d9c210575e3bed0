"""Linear mixed model with one random intercept per participant: REML and Satterthwaite df.

Model (lme4 notation ``y ~ X + (1 | group)``)::

    y = X b + Z u + e,   u ~ N(0, s_u I),   e ~ N(0, s_e I),   Var(y) = s_e V,
    V = I + lam Z Z',    lam = s_u / s_e = theta^2   (theta = sigma_u / sigma_e, as in lme4).

V is block diagonal with blocks I + lam 11' of size m_i, so with c_i = 1 / (1 + lam m_i)
everything needed is a sum over groups of within-group cross products (fixed) and group means
weighted by c_i m_i (``X'V^-1X = W_xx + sum_i c_i m_i xbar_i xbar_i'``): O(n p^2) once, then
O(G p^2) per value of lam, with no loop over participants.

**REML.** The criterion, on lme4's scale (``REMLcrit``), is

    D(lam, s_e) = log|V| + log|X'V^-1X| + r'V^-1 r / s_e + (n - p) log(2 pi s_e),

r = y - X b_GLS(lam). Profiling s_e out (s_e = r'V^-1r / (n - p)) leaves a one-dimensional
problem in lam >= 0, solved by a safeguarded Newton iteration on its analytic derivative to a
relative change below 1e-10 (in practice to rounding). lam = 0 is a boundary (no between-
participant variance): it is reported in ``message``.

**Satterthwaite df** (Satterthwaite 1946, Psychometrika Bulletin 2:110-114; Kuznetsova,
Brockhoff & Christensen 2017, J Stat Softw 82(13), lmerTest). For a contrast l, with
C(phi) = s_e (X'V^-1X)^-1 the covariance of the fixed effects as a function of the variance
parameters phi = (theta, sigma_e) (lmerTest's parametrisation),

    df = 2 (l' C l)^2 / (g' A g),   g_k = l' (dC/dphi_k) l,   A = 2 H^-1,

H the Hessian of D at the estimate (A the asymptotic covariance of phi). lmerTest obtains H
and dC/dphi by finite differences; here they are analytic:

    dC/dlam = s_e M^-1 B'B M^-1,  dC/ds_e = M^-1,  (M = X'V^-1X, B = Z'V^-1X),
    D_lam = tr(PG) - y'PGPy / s_e,  D_lamlam = -tr(PGPG) + 2 y'PGPGPy / s_e,
    D_lams = y'PGPy / s_e^2,  D_ss = 2 y'Py / s_e^3 - (n - p) / s_e^2,

(G = ZZ', P = V^-1 - V^-1 X M^-1 X'V^-1), mapped to (theta, sigma_e) by the chain rule,
gradient terms included, so the boundary theta = 0 behaves as in lmerTest (no df
contribution from theta there). For a q-row L the F test follows lmerTest's ``contestMD``:
eigen-decompose L C L' = P diag(d) P', F = sum_m (P_m' L b)^2 / d_m / q, one Satterthwaite
df nu_m per eigen-contrast, and denominator df 2E / (E - q) with E = sum nu_m / (nu_m - 2)
(2 when any nu_m <= 2; their mean when all nu_m agree to 1e-8).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, stats

from .base import PERFECT_FIT_RSS, Contrast, WaldTest, exact_fit_terms
from .errors import NotIdentified, PerfectFitError, RankDeficient
from .linalg import collinear_columns

# CONTRACT §3: iterative fits converge to a relative change below 1e-10.
REL_TOL = 1e-10
MAX_ITER = 200
# lmerTest's thresholds: Hessian eigenvalues treated as zero, eigen-contrasts treated as null,
# and equal-df detection in the F denominator.
HESS_EIG_TOL = 1e-8
EIG_REL_TOL = math.sqrt(np.finfo(float).eps)
EQUAL_DF_TOL = 1e-8
# Rank tolerance on unit-norm columns: R's qr() default, as used by lm() and lme4's rank check.
# Coarse grid of theta = sigma_u / sigma_e for locating the global REML optimum before refining.
THETA_GRID = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


@dataclass(frozen=True)
class MixedFit:
    """A fitted random-intercept model; numbers as lme4/lmerTest report them.

    ``vcov_varpar`` is the asymptotic covariance of the variance parameters (theta, sigma_e)
    and ``jac_vcov`` (2, p, p) the derivatives of ``vcov`` with respect to them; together
    they give the Satterthwaite degrees of freedom.
    """

    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    sigma2_subject: float
    sigma2_residual: float
    n_obs: int
    n_groups: int
    reml_deviance: float
    converged: bool
    message: str
    theta: float = 0.0
    vcov_varpar: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)), repr=False)
    jac_vcov: np.ndarray = field(default_factory=lambda: np.zeros((2, 0, 0)), repr=False)

    @property
    def icc(self) -> float:
        """Intra-class correlation: share of the total variance between participants."""
        return self.sigma2_subject / (self.sigma2_subject + self.sigma2_residual)

    def satterthwaite_df(self, L: np.ndarray) -> float:
        """Satterthwaite df of the contrast L'b (lmerTest's ``contest1D``)."""
        c = np.asarray(L, dtype=float).ravel()
        var = float(c @ self.vcov @ c)
        grad = np.einsum("i,kij,j->k", c, self.jac_vcov, c)
        denom = float(grad @ self.vcov_varpar @ grad)
        return 2.0 * var * var / denom if denom > 0 else math.inf

    def contrast(self, L: np.ndarray) -> Contrast:
        """Estimate of L'b with its standard error and Satterthwaite df."""
        c = np.asarray(L, dtype=float).ravel()
        if c.shape != self.coef.shape:
            raise ValueError(f"contrast has {c.size} entries; the model has {self.coef.size} coefficients")
        var = float(c @ self.vcov @ c)
        return Contrast(float(c @ self.coef), math.sqrt(var), self.satterthwaite_df(c))

    def wald(self, L: np.ndarray) -> WaldTest:
        """F test of L b = 0 with Satterthwaite denominator df (lmerTest's ``contestMD``)."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        if L.shape[1] != self.coef.size:
            raise ValueError(f"L has {L.shape[1]} columns; the model has {self.coef.size} coefficients")
        if L.shape[0] == 1:
            c = self.contrast(L[0])
            f = c.statistic**2
            return WaldTest(f, 1, c.df, float(stats.f.sf(f, 1, c.df)))
        d, vecs = np.linalg.eigh(L @ self.vcov @ L.T)
        d, vecs = d[::-1], vecs[:, ::-1]          # decreasing, as R's eigen()
        pos = d > max(EIG_REL_TOL * d[0], 0.0)
        q = int(pos.sum())
        if q == 0:
            raise ValueError("the contrasts in L have zero variance")
        PtL = vecs[:, pos].T @ L
        if q == 1:
            c = self.contrast(PtL[0])
            f = c.statistic**2
            return WaldTest(f, 1, c.df, float(stats.f.sf(f, 1, c.df)))
        f = float(np.sum((PtL @ self.coef) ** 2 / d[pos]) / q)
        nu = np.array([self.satterthwaite_df(row) for row in PtL])
        ddf = _f_ddf(nu)
        return WaldTest(f, q, ddf, float(stats.f.sf(f, q, ddf)))


def _f_ddf(nu: np.ndarray) -> float:
    """Denominator df of the Satterthwaite F from per-eigen-contrast df (lmerTest get_Fstat_ddf)."""
    if np.all(np.abs(np.diff(nu)) < EQUAL_DF_TOL):
        return float(nu.mean())
    if np.any(nu <= 2):
        return 2.0
    e = float(np.sum(nu / (nu - 2.0)))
    return 2.0 * e / (e - nu.size)


@dataclass(frozen=True)
class _Sums:
    """Sufficient statistics: within-group cross products and group means."""

    wxx: np.ndarray   # (p, p) within-group X'X
    wxy: np.ndarray   # (p,)
    wyy: float
    xbar: np.ndarray  # (G, p) group means
    ybar: np.ndarray  # (G,)
    m: np.ndarray     # (G,) group sizes
    n: int
    p: int


def _sums(y: np.ndarray, X: np.ndarray, codes: np.ndarray, n_groups: int) -> _Sums:
    m = np.bincount(codes, minlength=n_groups).astype(float)
    sx = np.zeros((n_groups, X.shape[1]))
    np.add.at(sx, codes, X)
    xbar = sx / m[:, None]
    ybar = np.bincount(codes, weights=y, minlength=n_groups) / m
    # centring before the cross products keeps W_xx accurate (no X'X - sum m xbar xbar' cancellation)
    xc = X - xbar[codes]
    yc = y - ybar[codes]
    return _Sums(xc.T @ xc, xc.T @ yc, float(yc @ yc), xbar, ybar, m, y.size, X.shape[1])


@dataclass(frozen=True)
class _State:
    """Everything at one value of lam, with the profiled s_e."""

    lam: float
    beta: np.ndarray
    Minv: np.ndarray
    BtB: np.ndarray
    s: float
    Q: float
    deviance: float      # profiled REML criterion
    d1: float            # d deviance / d lam (profiled)
    d2: float            # d2 deviance / d lam2 (profiled)
    D_ll: float          # unprofiled second derivatives at (lam, s)
    D_ls: float
    D_ss: float
    D_l: float


def _state(S: _Sums, lam: float) -> _State:
    c = 1.0 / (1.0 + lam * S.m)
    cm = c * S.m
    M = S.wxx + (S.xbar * cm[:, None]).T @ S.xbar
    xvy = S.wxy + (S.xbar * cm[:, None]).T @ S.ybar
    cho = linalg.cho_factor(M, lower=True)
    beta = linalg.cho_solve(cho, xvy)
    Minv = linalg.cho_solve(cho, np.eye(S.p))
    # r'V^-1 r: within part plus the between part weighted by c_i m_i
    resid_bar = S.ybar - S.xbar @ beta
    Q = float(S.wyy - 2.0 * S.wxy @ beta + beta @ S.wxx @ beta + np.sum(cm * resid_bar**2))
    nmp = S.n - S.p
    s = Q / nmp
    logdet_M = 2.0 * float(np.sum(np.log(np.diag(cho[0]))))
    deviance = float(np.sum(np.log1p(lam * S.m))) + logdet_M + nmp * (1.0 + math.log(2.0 * math.pi * s))
    # B = Z'V^-1 X has rows c_i m_i xbar_i; a_i = 1'V_i^-1 1; u = Z'P y
    B = S.xbar * cm[:, None]
    a = cm
    u = cm * resid_bar
    BtB = B.T @ B
    MBtB = Minv @ BtB
    tr_PG = float(a.sum() - np.trace(MBtB))
    K = B @ Minv
    diag_BMB = np.einsum("ij,ij->i", K, B)
    tr_PGPG = float(np.sum(a * a) - 2.0 * np.sum(a * diag_BMB) + np.sum(MBtB * MBtB.T))
    yPGPy = float(u @ u)
    Btu = B.T @ u
    yPGPGPy = float(np.sum(a * u * u) - Btu @ Minv @ Btu)
    D_l = tr_PG - yPGPy / s
    D_ll = -tr_PGPG + 2.0 * yPGPGPy / s
    D_ls = yPGPy / s**2
    D_ss = 2.0 * Q / s**3 - nmp / s**2
    d2 = D_ll - D_ls**2 / D_ss
    return _State(lam, beta, Minv, BtB, s, Q, deviance, D_l, d2, D_ll, D_ls, D_ss, D_l)


def _refine(S: _Sums, lo: _State, hi: _State, start: _State) -> tuple[_State, bool, int]:
    """Safeguarded Newton on the profiled derivative within a sign-changing bracket."""
    cur = start
    for it in range(1, MAX_ITER + 1):
        step = -cur.d1 / cur.d2 if cur.d2 > 0 else math.nan
        new = cur.lam + step
        if not (lo.lam < new < hi.lam) or not math.isfinite(new):
            new = math.sqrt(lo.lam * hi.lam) if lo.lam > 0 else 0.5 * (lo.lam + hi.lam)
        prev = cur.lam
        cur = _state(S, new)
        if cur.d1 < 0:
            lo = cur
        else:
            hi = cur
        if abs(cur.lam - prev) <= REL_TOL * 1e-2 * max(cur.lam, 1e-300) or cur.d1 == 0.0:
            return cur, True, it
        if hi.lam - lo.lam <= REL_TOL * 1e-2 * hi.lam:
            return cur, True, it
    return cur, False, MAX_ITER


def _collinearity(X: np.ndarray, names: tuple[str, ...]) -> RankDeficient | None:
    """The rank rule of ``engines.linalg``; the error names each dependent column and what it
    is a combination of."""
    dependent = collinear_columns(X)
    if not dependent.any():
        return None
    scale = np.sqrt(np.sum(X * X, axis=0))
    scale[scale == 0] = 1.0
    Xs = X / scale
    keep = np.flatnonzero(~dependent)
    parts = []
    for j in np.flatnonzero(dependent):
        coefs, *_ = np.linalg.lstsq(Xs[:, keep], Xs[:, j], rcond=None)
        with_ = [names[k] for k, cf in zip(keep, coefs) if abs(cf) > 1e-8]
        if with_:
            parts.append(f"'{names[j]}' is a linear combination of " + ", ".join(f"'{w}'" for w in with_))
        else:
            parts.append(f"'{names[j]}' is all zero")
    return RankDeficient([names[j] for j in np.flatnonzero(dependent)],
                         f"X is rank deficient (rank {keep.size} of {X.shape[1]} columns): " + "; ".join(parts))


def fit_random_intercept(y, X, groups, names=None) -> MixedFit:
    """Fit ``y ~ X + (1 | groups)`` by REML, as lme4's ``lmer(REML = TRUE)``.

    ``y`` (n,), ``X`` (n, p) of full column rank, ``groups`` (n,) participant labels of any
    hashable type. Raises PerfectFitError when the residual variance is ~0 relative to the
    outcome's (PERFECT_FIT_RSS), and ValueError when X is rank deficient (naming the collinear columns),
    when the inputs do not match or hold non-finite values, or when no participant has two
    observations (the two variance components are then not identified).
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.size or len(groups) != y.size:
        raise ValueError(f"y ({y.shape}), X ({X.shape}) and groups ({len(groups)}) must have matching rows")
    n, p = X.shape
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(p))
    if len(names) != p:
        raise ValueError(f"{len(names)} names for {p} columns of X")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(X))):
        raise ValueError("y and X must be finite (drop incomplete rows before fitting)")
    collinear = _collinearity(X, names)
    if collinear is not None:
        raise collinear
    # tuples are labels too: keep them whole rather than let numpy make a 2-D array of them
    labels = groups if isinstance(groups, np.ndarray) and groups.ndim == 1 else pd.Series(list(groups), dtype=object)
    codes, uniques = pd.factorize(labels, sort=False)
    if np.any(codes < 0):
        raise ValueError("groups holds missing labels")
    G = len(uniques)
    if n - p <= 0:
        raise NotIdentified(f"{n} observations for {p} fixed effects: no residual degrees of freedom")
    if G >= n:
        raise NotIdentified(f"{G} groups for {n} observations: no participant has two observations, so "
                         "the random-intercept and residual variances are not identified")
    S = _sums(y, X, codes.astype(np.intp), G)
    # an outcome reproduced exactly by the fixed effects (residual variance 0 at every lam)
    tss = float(((y - y.mean()) ** 2).sum())
    ols, *_ = np.linalg.lstsq(X, y, rcond=None)
    r = y - X @ ols
    if float(r @ r) <= PERFECT_FIT_RSS * tss:
        raise PerfectFitError(exact_fit_terms(X, y, ols, names))

    try:
        grid = [_state(S, t * t) for t in THETA_GRID]
        while grid[-1].d1 < 0 and grid[-1].lam < 1e16:
            grid.append(_state(S, grid[-1].lam * 100.0))
    except ValueError:    # log of a zero residual variance: the participant levels fit exactly
        raise PerfectFitError(["the fixed effects with a level per participant"]) from None
    k = int(np.argmin([g.deviance for g in grid]))
    converged, message = True, ""
    if k == 0 and grid[0].d1 >= 0:
        best = grid[0]
        message = "boundary: random-intercept variance estimated as 0 (singular fit)"
    elif grid[k].d1 < 0 and k == len(grid) - 1:
        best, converged = grid[k], False
        message = "residual variance tends to 0: REML optimum not reached"
    else:
        lo, hi = (grid[k], grid[k + 1]) if grid[k].d1 < 0 else (grid[k - 1], grid[k])
        try:
            best, converged, _ = _refine(S, lo, hi, grid[k])
        except ValueError:    # as above: a zero residual variance inside the bracket
            raise PerfectFitError(["the fixed effects with a level per participant"]) from None
        if not converged:
            message = f"REML did not reach a relative change of {REL_TOL:g} in {MAX_ITER} iterations"
    if best.s <= PERFECT_FIT_RSS * tss / (n - 1):
        # the residual variance is ~0 relative to the outcome's: the fixed effects and a level
        # per participant reproduce every observation, and the df and p would be rounding noise
        raise PerfectFitError(["the fixed effects with a level per participant"])
    return _finish(S, best, names, G, converged, message)


def _finish(S: _Sums, st: _State, names, G: int, converged: bool, message: str) -> MixedFit:
    lam, s = st.lam, st.s
    theta, sigma = math.sqrt(lam), math.sqrt(s)
    # Hessian of D in (theta, sigma): J' H J plus gradient terms (lam = theta^2, s = sigma^2);
    # at theta = 0 this gives H_tt = 2 D_lam and no theta direction in the df, as in lmerTest.
    # (s is profiled, so D_s = 0 and its gradient term 2 D_s drops out of H_ss.)
    H = np.array([
        [4 * lam * st.D_ll + 2 * st.D_l, 4 * theta * sigma * st.D_ls],
        [4 * theta * sigma * st.D_ls, 4 * s * st.D_ss],
    ])
    # The eigenvalue threshold is applied to the Hessian in (theta, sigma / sigma_hat), which
    # does not change when the outcome is rescaled (theta is a ratio of SDs): in (theta, sigma)
    # the sigma direction scales as 1/sigma^2, so an outcome in other units (x 1e6) would drop
    # it below the threshold and change the df. At the usual scales the two agree (lmerTest).
    D = np.array([1.0, sigma])
    w, v = np.linalg.eigh(H * np.outer(D, D))
    pos = w > HESS_EIG_TOL
    A = 2.0 * np.outer(D, D) * ((v[:, pos] / w[pos]) @ v[:, pos].T)
    dC_dlam = s * st.Minv @ st.BtB @ st.Minv
    jac = np.stack([2 * theta * dC_dlam, 2 * sigma * st.Minv])
    vcov = s * st.Minv
    return MixedFit(
        coef=st.beta, vcov=0.5 * (vcov + vcov.T), names=tuple(names),
        sigma2_subject=lam * s, sigma2_residual=s, n_obs=S.n, n_groups=G,
        reml_deviance=st.deviance, converged=converged, message=message,
        theta=theta, vcov_varpar=A, jac_vcov=jac,
    )
