"""CR2 cluster-robust inference for least squares (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018).

The linear model of a cluster-randomised or multicentre trial (CONTRACT §6.3 "cluster"): the CR2
sandwich with the identity working model, Satterthwaite degrees of freedom per contrast, and the
HTZ Wald test for several contrasts at once, exactly as ``clubSandwich::vcovCR(fit, type = "CR2")``,
``coef_test(..., test = "Satterthwaite")`` and ``Wald_test(..., test = "HTZ")``:

* A_j = (I - H_jj)^(-1/2), H_jj = X_j M X_j' the cluster's block of the hat matrix, M = (X'X)^-1
  (a symmetric pseudo-inverse square root: eigenvalues of I - H_jj at or below 1e-12 count as 0);
* V = M (sum_j X_j' A_j e_j e_j' A_j X_j) M;
* for contrasts C (q x p): P[s,t,j,k] = [j = k] C_s M X_j'A_j A_j X_j M C_t'
  - (X_j'A_j X_j M C_s)' M (X_k'A_k X_k M C_t); a single contrast has df = (tr P)^2 / sum P^2;
  several have Omega = sum_j P[., ., j, j], B = Omega^(-1/2) P Omega^(-1/2), nu = q(q+1) /
  sum_st (sum_jk B_stjk B_tsjk + B_ssjk B_ttjk), F = (nu - q + 1) / nu * Q / q on (q, nu - q + 1) df.

Everything is computed on the centred and scaled design (CR2, its df and the HTZ test do not
depend on the parametrisation), then carried back to the raw columns.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .base import Contrast, WaldTest
from .cluster import cluster_codes
from .linalg import jacobian, standardise

# clubSandwich's matrix_power: eigenvalues at or below this are taken as 0
EIGEN_TOL = 1e-12


def _power(S: np.ndarray, power: float) -> np.ndarray:
    """Symmetric matrix power with eigenvalues <= EIGEN_TOL set to 0 (a pseudo-inverse power)."""
    vals, vecs = np.linalg.eigh(S)
    keep = vals > EIGEN_TOL
    f = np.zeros_like(vals)
    f[keep] = vals[keep] ** power
    return (vecs * f) @ vecs.T


@dataclass(frozen=True)
class CR2Fit:
    """An OLS fit with the CR2 cluster-robust variance; satisfies ``engines.base.Fit``.

    ``contrast`` gives the Satterthwaite df of each contrast, ``wald`` the HTZ test. The per-cluster
    matrices (on the scaled design, ``jac`` maps its coefficients to the raw ones) stay on the record
    so that any contrast's df can be computed later (conditional effects, Johnson-Neyman)."""

    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    n: int
    df_resid: float
    sigma2: float
    r_squared: float
    n_clusters: int
    M: np.ndarray             # (X_s'X_s)^-1 of the scaled design (p, p)
    S: np.ndarray             # (J, p, p): X_j' A_j A_j X_j (scaled design)
    T: np.ndarray             # (J, p, p): X_j' A_j X_j (scaled design)
    jac: np.ndarray           # coef = jac @ coef_scaled
    se_type: str = "CR2"

    def _scaled(self, L) -> np.ndarray:
        return np.atleast_2d(np.asarray(L, dtype=float)) @ self.jac

    def _P(self, Cs: np.ndarray) -> np.ndarray:
        """P[s, t, j, k] of the contrasts Cs (q, p) on the scaled design."""
        MC = self.M @ Cs.T                                       # (p, q)
        G = np.einsum("ps,jpr,rt->stj", MC, self.S, MC)          # (q, q, J)
        V = self.T @ MC                                          # (J, p, q)
        H = np.einsum("jps,pr,krt->stjk", V, self.M, V)          # (q, q, J, J)
        P = -H
        J = self.S.shape[0]
        idx = np.arange(J)
        P[:, :, idx, idx] += G
        return P

    def satterthwaite_df(self, L) -> float:
        """(tr P)^2 / sum P^2 without the J x J matrix: with m = M c, G_j = m'S_j m, v_j = T_j m and
        H_jk = v_j' M v_k, sum_jk H_jk^2 = tr(M W M W) for W = sum_j v_j v_j'."""
        m = self.M @ self._scaled(L)[0]
        G = np.einsum("p,jpr,r->j", m, self.S, m)
        V = self.T @ m                                          # (J, p)
        VM = V @ self.M
        Hd = np.einsum("jp,jp->j", VM, V)
        W = V.T @ V
        MW = self.M @ W
        total = float(G @ G - 2.0 * (G @ Hd) + np.sum(MW * MW.T))
        return float((G.sum() - Hd.sum()) ** 2 / total)

    def contrast(self, L) -> Contrast:
        L = np.asarray(L, dtype=float)
        return Contrast(float(L @ self.coef), float(np.sqrt(L @ self.vcov @ L)), self.satterthwaite_df(L))

    def wald(self, L) -> WaldTest:
        """HTZ test of L b = 0 (``clubSandwich::Wald_test(..., test = "HTZ")``)."""
        C = np.atleast_2d(np.asarray(L, dtype=float))
        q = C.shape[0]
        cb = C @ self.coef
        Q = float(cb @ np.linalg.solve(C @ self.vcov @ C.T, cb))
        P = self._P(self._scaled(C))
        J = P.shape[2]
        idx = np.arange(J)
        omega = P[:, :, idx, idx].sum(axis=2)
        on = _power(omega, -0.5)
        B = np.einsum("as,stjk,tb->abjk", on, P, on)
        var = np.einsum("stjk,tsjk->st", B, B) + np.einsum("ssjk,ttjk->st", B, B)
        nu = q * (q + 1) / float(var.sum())
        df = nu - q + 1
        F = max((nu - q + 1) / nu, 0.0) * Q / q
        p = float(stats.f.sf(F, q, df)) if df > 0 else float("nan")
        return WaldTest(F, q, df, p)


def cr2_parts(X: np.ndarray, resid: np.ndarray, codes: np.ndarray):
    """(M, S, T, meat) of the scaled design X (n, p) with residuals and cluster codes 0..J-1."""
    n, p = X.shape
    Q0, R0 = np.linalg.qr(X)
    Rinv = np.linalg.solve(R0, np.eye(p))
    M = Rinv @ Rinv.T
    J = int(codes.max()) + 1
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(J + 1))
    S = np.empty((J, p, p))
    T = np.empty((J, p, p))
    meat = np.zeros((p, p))
    for j in range(J):
        rows = order[bounds[j]:bounds[j + 1]]
        Xj, ej = X[rows], resid[rows]
        Qj, Rj = np.linalg.qr(Xj)                              # orthonormal basis of X_j's columns (and more)
        lam, W = np.linalg.eigh(Rj @ M @ Rj.T)                 # H_jj = Qj W lam W' Qj'
        one_minus = 1.0 - lam
        f = np.zeros_like(one_minus)
        ok = one_minus > EIGEN_TOL
        f[ok] = one_minus[ok] ** -0.5
        U = Qj @ W                                             # (n_j, r)
        # A_j = I + U diag(f - 1) U' (1 on the orthogonal complement of U)
        AX = Xj + U @ ((f - 1.0)[:, None] * (U.T @ Xj))
        Ae = ej + U @ ((f - 1.0) * (U.T @ ej))
        S[j] = AX.T @ AX
        T[j] = Xj.T @ AX
        u = Xj.T @ Ae
        meat += np.outer(u, u)
    return M, S, T, meat


def fit_ols_cr2(X: np.ndarray, y: np.ndarray, cluster, names=None, checked: bool = True) -> CR2Fit:
    """OLS with the CR2 cluster-robust variance (clusters: any labels, one per row). The
    estimates, the rank rule and the exact-fit check are ``fit_ols``'s; ``checked=False`` (simulated
    designs known to be of full rank, as in power) solves by least squares without those checks."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    codes = cluster_codes(cluster)
    n, p = X.shape
    centre, scale, intercept = standardise(X)
    Xs = (X - centre) / scale
    A = jacobian(p, centre, scale, intercept)
    if checked:
        from .ols import fit_ols
        base = fit_ols(X, y, names, se="classical")
        coef, names_, df, sigma2, r2 = base.coef, base.names, base.df_resid, base.sigma2, base.r_squared
        coef_s = np.linalg.solve(A, coef)
    else:
        coef_s = np.linalg.lstsq(Xs, y, rcond=None)[0]
        coef = A @ coef_s
        names_ = tuple(names) if names is not None else tuple(f"x{j}" for j in range(p))
        df = float(n - p)
        rss = float(np.sum((y - Xs @ coef_s) ** 2))
        sigma2, r2 = rss / df, 1.0 - rss / float(np.sum((y - y.mean()) ** 2))
    resid = y - Xs @ coef_s
    M, S, T, meat = cr2_parts(Xs, resid, codes)
    vcov = A @ (M @ meat @ M) @ A.T
    return CR2Fit(coef, vcov, names_, n, df, sigma2, r2, int(codes.max()) + 1, M, S, T, A)
