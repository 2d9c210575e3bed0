"""Bootstrap refits of one count or ordinal design at once: frequency weights (the resample
counts, B x n) on the shared design, by ``engines.newton``'s batched driver.

Each replicate's fit is the maximum of the weighted log-likelihood, which is the likelihood of
the resampled rows, so the estimates are those of ``fit_poisson`` / ``fit_ordinal`` on the
resampled data (the same convergence rule, CONTRACT §3, on unit-RMS columns). The batch starts
every replicate at the full-data estimate. It keeps only the replicates it is sure of: one whose
weighted design fails the rank rule, whose information is singular, that stops short, that has
a zero-event subgroup (Poisson) or a category missing from the resample or a flat direction
(ordinal) is reported as not done, and the caller refits it with the single-fit engine, whose
policy (drop, diverged) then decides.
"""
from __future__ import annotations

import numpy as np
from scipy import special

from effectmod.engines import newton
from effectmod.engines.linalg import _single_thread_matmul as _mm
from effectmod.engines.linalg import collinear_fits

TOL = 1e-10
STEPS = 100
# Newton steps from the full-data estimate within which a replicate counts as found; a slower
# approach (a flat likelihood) is where the single fit may stop unconverged: it decides those
SURE_STEPS = 20
# a fitted mean below this where the count is 0 is a zero-event subgroup (engines.poisson.MU_EDGE)
MU_EDGE = 1e-8
# the largest SE (in units of each column's SD) the batch accepts; the single fit calls 100 a flat
# direction (engines.ordinal.SE_EXPLODED): anything near it goes to the single fit to decide
SE_SURE = 20.0


def _scale(X: np.ndarray) -> np.ndarray:
    s = np.sqrt(np.mean(X * X, axis=0))
    return np.where(s == 0, 1.0, s)


def _outer(A: np.ndarray, B: np.ndarray | None = None) -> np.ndarray:
    """(n, p*p) products of the rows' columns: sum_i v_bi A_i B_i' for all b is one GEMM v @ this."""
    B = A if B is None else B
    return (A[:, :, None] * B[:, None, :]).reshape(A.shape[0], -1)


def _weighted(v: np.ndarray, outer: np.ndarray, p: int) -> np.ndarray:
    return _mm(v, outer).reshape(v.shape[0], p, p)


def _solve(H: np.ndarray, g: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Newton steps H^-1 g of the problems whose information H is finite and positive definite
    with a condition number below 1e12 (the others: no step, not ok)."""
    p = H.shape[-1]
    ok = ok & np.all(np.isfinite(H), axis=(1, 2))
    H = np.where(ok[:, None, None], H, np.eye(p))
    eig = np.linalg.eigvalsh(H)
    ok = ok & (eig[:, 0] > 0) & (eig[:, 0] * 1e12 > eig[:, -1])
    step = np.linalg.solve(np.where(ok[:, None, None], H, np.eye(p)), np.where(ok[:, None], g, 0.0)[..., None])[..., 0]
    return step, ok & np.all(np.isfinite(step), axis=1)


def _count_inputs(X, y, W, offset):
    """What both count batches start from: y, W and the offset as floats, the unit-RMS columns
    (scale, X_s and its transpose), their row products and which replicates pass the rank rule."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    W = np.asarray(W, dtype=float)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
    scale = _scale(X)
    Xs = X / scale
    return y, W, off, scale, Xs, np.ascontiguousarray(Xs.T), _outer(Xs), ~collinear_fits(Xs, W)


def poisson_weighted(X: np.ndarray, y: np.ndarray, W: np.ndarray, offset: np.ndarray | None,
                     start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson ML of y on X (n, p) with frequency weights W (B, n), started at ``start`` (p,):
    (coef (B, p), done (B,))."""
    y, W, off, scale, Xs, XsT, XX, full_rank = _count_inputs(X, y, W, offset)

    def eta_of(beta):
        return np.clip(_mm(beta, XsT) + off, -700.0, 700.0)

    def direction(beta):
        mu = np.exp(eta_of(beta))
        H = _weighted(W * mu, XX, Xs.shape[1])
        return _solve(H, _mm(W * (y - mu), Xs), full_rank)

    def objective(beta):
        eta = eta_of(beta)
        return np.sum(W * (y * eta - np.exp(eta)), axis=1)

    B = W.shape[0]
    res = newton.newton(np.tile(start * scale, (B, 1)), direction, objective=objective,
                        converged=lambda s: newton.relative_change(s.old, s.new) < TOL, max_iter=STEPS)
    mu = np.exp(eta_of(res.beta))
    edge = np.any((mu < MU_EDGE) & (y == 0) & (W > 0), axis=1)
    return res.beta / scale, res.converged & full_rank & ~edge & (res.iterations <= SURE_STEPS)


def ordinal_weighted(X: np.ndarray, y: np.ndarray, names, W: np.ndarray, thresholds: np.ndarray,
                     coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Proportional-odds ML (``engines.ordinal``) of the category codes y on X (n, p, its
    ``(Intercept)`` replaced by the thresholds) with frequency weights W (B, n), started at the
    full-data ``thresholds`` and ``coef`` (aligned with ``names``): (coef (B, p), the intercept
    slot 0; done (B,))."""
    X = np.asarray(X, dtype=float)
    W = np.asarray(W, dtype=float)
    keep = np.array([nm != "(Intercept)" for nm in names])
    Z = X[:, keep]
    n, q = Z.shape
    used = np.unique(np.asarray(y).astype(int))
    k = np.searchsorted(used, np.asarray(y).astype(int))
    n_cut = used.size - 1
    B = W.shape[0]
    # every used category in every replicate: a resample missing one has fewer thresholds
    seen = np.stack([W[:, k == c].sum(axis=1) > 0 for c in range(used.size)], axis=1).all(axis=1)
    scale = _scale(Z)
    Zs = Z / scale
    ZsT = np.ascontiguousarray(Zs.T)
    full_rank = ~collinear_fits(np.column_stack([np.ones(n), Zs]), W)
    top = k < n_cut                      # rows with an upper threshold theta_k
    bottom = k > 0                       # rows with a lower threshold theta_{k-1}
    ku = np.clip(k, 0, n_cut - 1)
    kl = np.clip(k - 1, 0, n_cut - 1)
    P = n_cut + q
    Eu = np.zeros((n, P))
    Eu[np.flatnonzero(top), ku[top]] = 1.0
    El = np.zeros((n, P))
    El[np.flatnonzero(bottom), kl[bottom]] = 1.0
    Zpad = np.zeros((n, P))
    Zpad[:, n_cut:] = Zs
    # the rows' d a / d par = A = Eu - Zpad and d b / d par = Bm = El - Zpad (engines.ordinal)
    A, Bm = Eu - Zpad, El - Zpad
    AA, BB, AB = _outer(A), _outer(Bm), _outer(A, Bm)

    def pieces(par):
        theta, beta = par[:, :n_cut], par[:, n_cut:]
        eta = _mm(beta, ZsT)
        a = np.where(top, np.take_along_axis(theta, np.broadcast_to(ku, (B, n)), axis=1) - eta, np.inf)
        b = np.where(bottom, np.take_along_axis(theta, np.broadcast_to(kl, (B, n)), axis=1) - eta, -np.inf)
        Fa, Fb = special.expit(a), special.expit(b)
        return Fa, Fb, Fa - Fb

    def objective(par):
        ordered = np.all(np.diff(par[:, :n_cut], axis=1) > 0, axis=1)
        _, _, p = pieces(par)
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = np.sum(W * np.log(np.where(p > 0, p, 0.0)), axis=1)
        return np.where(ordered & np.all((p > 0) | (W == 0), axis=1), ll, -np.inf)

    def gradient_information(par):
        Fa, Fb, p = pieces(par)
        p = np.where(p > 0, p, 1.0)
        fa, fb = Fa * (1 - Fa), Fb * (1 - Fb)
        u, v = fa / p, fb / p
        g = _mm(W * u, A) - _mm(W * v, Bm)
        # observed information: -(sum w (A A' fa' - Bm Bm' fb') / p) + sum w G G', G = u A - v Bm
        da, db = W * (u * (1 - 2 * Fa) - u * u), W * (v * (1 - 2 * Fb) + v * v)
        cross = _weighted(W * u * v, AB, P)
        info = -(_weighted(da, AA, P) - _weighted(db, BB, P) + cross + np.swapaxes(cross, 1, 2))
        return g, info

    def direction(par):
        g, info = gradient_information(par)
        return _solve(info, g, full_rank & seen)

    start = np.concatenate([np.asarray(thresholds, dtype=float), np.asarray(coef, dtype=float)[keep] * scale])
    res = newton.newton(np.tile(start, (B, 1)), direction, objective=objective,
                        converged=lambda s: newton.relative_change(s.old, s.new) < TOL, max_iter=STEPS)
    done = res.converged & full_rank & seen & (res.iterations <= SURE_STEPS)
    # a flat direction (a category missing in a subgroup): the single fit's SE rule decides
    _, info = gradient_information(res.beta)
    ok = _solve(info, np.zeros((B, P)), done)[1]
    var = np.diagonal(np.linalg.inv(np.where(ok[:, None, None], info, np.eye(P))), axis1=1, axis2=2)[:, n_cut:]
    sd = Z.std(axis=0)
    units = np.where(np.all((Z == 0) | (Z == 1), axis=0) | (sd == 0), 1.0, sd)
    se = np.sqrt(np.abs(var)) / scale * units
    done &= ok & np.all(np.isfinite(se) & (se < SE_SURE), axis=1)
    out = np.zeros((B, len(names)))
    out[:, keep] = res.beta[:, n_cut:] / scale
    return out, done


# counts up to this: trigamma(theta + y) from trigamma(theta) and the recurrence (a cumulative sum,
# several times cheaper than polygamma at every count; it enters only the Newton information,
# not the score, so the maximum found is the same)
RECURRENCE_MAX = 5_000


def _trigamma_shifted(theta: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(B, m) trigamma(theta_b + v) for whole numbers v >= 0 (``values``)."""
    top = int(values.max()) if values.size else 0
    if top > RECURRENCE_MAX or np.any(values != np.round(values)):
        return special.polygamma(1, values[None, :] + theta[:, None])
    steps = 1.0 / (theta[:, None] + np.arange(top)[None, :]) ** 2
    below = np.concatenate([np.zeros((theta.size, 1)), np.cumsum(steps, axis=1)], axis=1)
    return special.polygamma(1, theta)[:, None] - below[:, values.astype(int)]


# log(theta) beyond which the single fit may call theta infinite (engines.negbin.LOG_THETA_FLAT):
# such replicates go to it
LOG_THETA_SURE = 9.0


def negbin_weighted(X: np.ndarray, y: np.ndarray, W: np.ndarray, offset: np.ndarray | None,
                    start: np.ndarray, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """NB2 ML (``engines.negbin``: coefficients and log(theta) jointly, observed information) of
    y on X (n, p) with frequency weights W (B, n), started at the full-data ``start`` (p,) and
    ``theta``: (coef (B, p), done (B,))."""
    y, W, off, scale, Xs, XsT, XX, full_rank = _count_inputs(X, y, W, offset)
    p = Xs.shape[1]
    lg_y1 = special.gammaln(y + 1.0)
    # functions of y + theta are summed over the distinct counts (few) with the weights summed
    values, which = np.unique(y, return_inverse=True)
    Wv = _mm(W, (which.ravel()[:, None] == np.arange(values.size)[None, :]).astype(float))

    def split(z):
        return np.clip(_mm(z[:, :p], XsT) + off, -700.0, 700.0), np.exp(z[:, p:])

    w_sum = W.sum(axis=1)

    def direction(z):
        eta, th = split(z)
        mu = np.exp(eta)
        tm = th + mu
        r = W / tm                       # the weights over theta + mu, in every term below
        res = y - mu
        t1 = th[:, 0]
        s_b = _mm(th * r * res, Xs)
        s_th = (np.sum(Wv * special.digamma(values + th), axis=1) - np.sum(W * np.log(tm), axis=1)
                - np.sum(r * (th + y), axis=1) + w_sum * (np.log(t1) + 1.0 - special.digamma(t1)))
        rm = r * mu / tm
        H_bb = -_weighted(th * (th + y) * rm, XX, p)
        H_ba = th * _mm(rm * res, Xs)
        H_thth = (np.sum(Wv * _trigamma_shifted(t1, values), axis=1) + w_sum * (1.0 / t1 - special.polygamma(1, t1))
                  - np.sum(r, axis=1) + np.sum(r * res / tm, axis=1))
        H = np.empty((z.shape[0], p + 1, p + 1))
        H[:, :p, :p] = H_bb
        H[:, :p, p] = H[:, p, :p] = H_ba
        H[:, p, p] = th[:, 0] ** 2 * H_thth + th[:, 0] * s_th
        # not positive definite (away from a maximum): the single fit's fallback decides
        return _solve(-H, np.concatenate([s_b, th * s_th[:, None]], axis=1), full_rank)

    def objective(z):
        eta, th = split(z)
        mu = np.exp(eta)
        with np.errstate(over="ignore", invalid="ignore"):
            ll = (np.sum(Wv * special.gammaln(values + th), axis=1)
                  + np.sum(W * (-special.gammaln(th) - lg_y1 + th * np.log(th) + special.xlogy(y, mu) - (th + y) * np.log(th + mu)),
                           axis=1))
        return np.where(np.isfinite(z[:, p]) & (z[:, p] < 700), ll, -np.inf)

    B = W.shape[0]
    z0 = np.tile(np.concatenate([np.asarray(start, dtype=float) * scale, [np.log(theta)]]), (B, 1))
    res = newton.newton(z0, direction, objective=objective,
                        converged=lambda s: newton.relative_change(s.old, s.new) < TOL,
                        keep=lambda z: z[:, -1] < LOG_THETA_SURE, max_iter=STEPS)
    z = res.beta
    mu = np.exp(split(z)[0])
    edge = np.any((mu < MU_EDGE) & (y == 0) & (W > 0), axis=1)
    done = res.converged & full_rank & ~edge & (z[:, -1] < LOG_THETA_SURE) & (res.iterations <= SURE_STEPS)
    return z[:, :p] / scale, done
