"""The linear algebra every least-squares and Newton fit shares: standardising columns, the ONE
rank rule, and a batched QR least-squares solve.

The rank rule is R's (``lm.fit`` -> LINPACK ``dqrdc2``), applied to the standardised design:
columns are taken in design order (limited pivoting), and column j is set aside as collinear when
the part of it not explained by the columns kept before it has a norm below ``RANK_TOL`` (1e-7,
R's ``tol``) times the column's own norm. Two choices make the rule independent of units and
centring, so that every path (one fit, frequency-weighted bootstrap replicates, stacked
simulated trials, imputed datasets, the Newton fits) takes the same decision on the same data:

- a column's own norm is measured after removing its (weighted) mean when the design has an
  intercept column, i.e. its spread; a column whose spread is below RANK_TOL of its magnitude is
  constant, i.e. collinear with the intercept;
- rows enter with the square roots of their frequency weights, so a bootstrap replicate's weights
  and the same replicate's repeated rows give the same decision.

A design flagged here raises ``errors.RankDeficient`` in one fit and gives NaN in a batch. Designs
that pass have every column at least 1e-7 (relative) outside the span of the others; the batched
solves below use a QR (classical Gram-Schmidt, twice) rather than normal equations, so that a
near-singular design is solved to the same accuracy in a batch as alone.
"""
from __future__ import annotations

import numpy as np

# R's lm.fit tolerance (dqrdc2): relative norm of a column's unexplained part
RANK_TOL = 1e-7

# batched QRs are computed in chunks of about this many numbers (B x n x p), to bound memory
_CHUNK_CELLS = 2_000_000


def standardise(X: np.ndarray):
    """(centre, scale, intercept) of the columns of X (n, p): constant columns (the intercept)
    are not centred; columns are scaled by their SD (constant ones by their magnitude)."""
    sd = X.std(axis=0)
    intercept = np.flatnonzero(sd == 0)
    centre = X.mean(axis=0)
    centre[intercept] = 0.0
    scale = np.where(sd > 0, sd, np.abs(X).max(axis=0))
    scale[scale == 0] = 1.0
    return centre, scale, intercept


def unscale(coef_s: np.ndarray, centre, scale, intercept) -> np.ndarray:
    """Coefficients of the original columns from those of the centred and scaled ones."""
    coef = coef_s / scale
    if intercept.size:
        i = intercept[0]
        shift = (coef * centre).sum(axis=-1)
        coef = coef.copy()
        coef[..., i] = coef[..., i] - shift
    return coef


def jacobian(p: int, centre, scale, intercept) -> np.ndarray:
    """Linear map A with coef = A @ coef_scaled, for carrying a covariance across."""
    A = np.diag(1.0 / scale)
    if intercept.size:
        A[intercept[0], :] -= centre / scale
    return A


def qr_limited(Z: np.ndarray, intercept: np.ndarray | None = None):
    """QR with R's limited pivoting and rank rule, batched over a leading axis.

    Z (B, n, p): designs (rows already multiplied by the square roots of their weights; rows
    that a fit does not use are zero). ``intercept`` (B, p) or (p,) bool marks intercept columns
    (constant over the rows used). Returns (Q (B, n, p), R (B, p, p), collinear (B, p)): Q has a
    zero column and R a zero row for every collinear column; when no column of fit b is collinear,
    Z[b] = Q[b] R[b] with Q[b] orthonormal.
    """
    Z = np.asarray(Z, dtype=float)
    B, n, p = Z.shape
    norms = np.sqrt(np.einsum("bnp,bnp->bp", Z, Z))
    ref = norms.copy()
    constant = np.zeros((B, p), dtype=bool)
    if intercept is not None:
        mask = np.broadcast_to(np.asarray(intercept, dtype=bool), (B, p))
        has = np.asarray(mask.any(axis=1))
        if has.any():
            col = mask.argmax(axis=1)
            u = Z[np.arange(B), :, col]                               # (B, n)
            unorm = np.sqrt((u * u).sum(axis=1))
            u = u / np.where(unorm > 0, unorm, 1.0)[:, None]
            proj = np.einsum("bn,bnp->bp", u, Z)
            centred = Z - u[:, :, None] * proj[:, None, :]
            spread = np.sqrt(np.einsum("bnp,bnp->bp", centred, centred))
            other = has[:, None] & ~mask
            ref = np.where(other, spread, norms)
            constant = other & (spread <= RANK_TOL * norms)
    Q = np.zeros((B, n, p))
    R = np.zeros((B, p, p))
    collinear = np.zeros((B, p), dtype=bool)
    for j in range(p):
        v = Z[:, :, j].copy()
        if j:
            Qj = Q[:, :, :j]
            for _ in range(2):          # Gram-Schmidt twice: orthogonal to rounding
                c = np.einsum("bnk,bn->bk", Qj, v)
                v -= np.einsum("bnk,bk->bn", Qj, c)
                R[:, :j, j] += c
        rjj = np.sqrt((v * v).sum(axis=1))
        bad = constant[:, j] | (rjj <= RANK_TOL * ref[:, j]) | (ref[:, j] == 0)
        ok = ~bad
        Q[ok, :, j] = v[ok] / rjj[ok, None]
        R[ok, j, j] = rjj[ok]
        R[bad, j, :] = 0.0
        collinear[:, j] = bad
    return Q, R, collinear


def collinear_columns(X: np.ndarray, weights: np.ndarray | None = None,
                      intercept: np.ndarray | None = None) -> np.ndarray:
    """The rank rule alone: (p,) for one design X (n, p) without weights, else (B, p) for a
    shared X (n, p) with weights (B, n), or per-fit designs X (B, n, p) with optional weights.

    Intercept columns are those constant over the rows used, unless given."""
    X = np.asarray(X, dtype=float)
    single = X.ndim == 2 and weights is None
    W = None if weights is None else np.asarray(weights, dtype=float)
    if intercept is None:
        intercept = constant_columns(X, W)
    if W is None:
        Z = X[None] if X.ndim == 2 else X
        return qr_limited(Z, intercept)[2][0] if single else np.concatenate(
            [qr_limited(Z[s], _rows(intercept, s))[2] for s in _chunks(Z.shape)], axis=0)
    B, n, p = W.shape[0], X.shape[-2], X.shape[-1]
    out = []
    for s in _chunks((B, n, p)):
        Xs = X if X.ndim == 2 else X[s]
        Z = np.where(W[s, :, None] > 0, Xs, 0.0) * np.sqrt(W[s])[..., None]
        out.append(qr_limited(Z, _rows(intercept, s))[2])
    return np.concatenate(out, axis=0)


def constant_columns(X: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(p,) or (B, p) bool: columns constant (and non-zero) over the rows with positive weight.

    For one design shared by weighted fits, the design's own constant columns: a column that is
    constant only among one fit's rows is caught by ``qr_limited`` as constant (collinear)."""
    X = np.asarray(X, dtype=float)
    if weights is None or X.ndim == 2:
        return (np.ptp(X, axis=-2) == 0) & (np.abs(X).max(axis=-2) > 0)
    use = np.asarray(weights) > 0
    Xb = np.broadcast_to(X, use.shape + (X.shape[-1],))
    hi = np.where(use[..., None], Xb, -np.inf).max(axis=-2)
    lo = np.where(use[..., None], Xb, np.inf).min(axis=-2)
    return (hi == lo) & (hi != 0)


def _chunks(shape) -> list[slice]:
    B, n, p = shape
    size = max(1, _CHUNK_CELLS // max(1, n * p))
    return [slice(s, min(B, s + size)) for s in range(0, B, size)]


def _rows(intercept, s: slice):
    if intercept is None:
        return None
    intercept = np.asarray(intercept)
    return intercept[s] if intercept.ndim == 2 else intercept


def lstsq_batched(Z: np.ndarray, Y: np.ndarray, intercept: np.ndarray | None = None, factors: bool = False):
    """Least squares of Y (B, n) on Z (B, n, p), both rows already weighted, by ``qr_limited``.

    Returns (coef (B, p), xtx_inv (B, p, p), Q (B, n, p), collinear (B,)) and, with ``factors``,
    R^-1 (B, p, p) as well: fits with a collinear column get NaN coefficients and an identity
    stand-in for their inverse."""
    B, n, p = Z.shape
    coef = np.empty((B, p))
    inv = np.empty((B, p, p))
    Rinvs = np.empty((B, p, p)) if factors else None
    Qs = np.empty((B, n, p))
    bad = np.empty(B, dtype=bool)
    eye = np.eye(p)
    for s in _chunks(Z.shape):
        Q, R, col = qr_limited(Z[s], _rows(intercept, s))
        b = col.any(axis=1)
        Rs = np.where(b[:, None, None], eye, R)
        Rinv = np.linalg.solve(Rs, np.broadcast_to(eye, Rs.shape))
        c = np.einsum("bnp,bn->bp", Q, Y[s])
        coef[s] = np.einsum("bpq,bq->bp", Rinv, c)
        coef[s][b] = np.nan
        inv[s] = Rinv @ Rinv.transpose(0, 2, 1)
        Qs[s] = Q
        bad[s] = b
        if Rinvs is not None:         # factors asked for
            Rinvs[s] = Rinv
    return (coef, inv, Qs, bad, Rinvs) if factors else (coef, inv, Qs, bad)


# The normal equations of the standardised design are used where its Gram matrix is this well
# conditioned: their coefficients are then within ~eps * GRAM_CONDITION (2e-12, relative) of the
# QR's, and no column can fail the rank rule (a column's unexplained share is at least
# 1/sqrt(cond)). Other fits go through ``lstsq_batched``. Trial designs on standardised columns
# have condition numbers of 1-100, so a bootstrap pays for the QR only in its odd replicates.
GRAM_CONDITION = 1e4

# OpenBLAS runs a GEMM on one thread below m*n*k = 65536 * 4; these products are small enough
# that threads do not pay, and on a busy machine they spin-wait: a bootstrap ran 3-4x slower.
_ONE_THREAD_WORK = 65536 * 4


def _single_thread_matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A @ B in row blocks each below OpenBLAS's threading threshold (same numbers, no threads)."""
    rows = max(1, _ONE_THREAD_WORK // max(1, A.shape[1] * B.shape[1]) - 1)
    if A.shape[0] <= rows:
        return A @ B
    out = np.empty((A.shape[0], B.shape[1]))
    for start in range(0, A.shape[0], rows):
        np.matmul(A[start:start + rows], B, out=out[start:start + rows])
    return out


def weighted_gram(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """X' diag(w_b) X for each row of weights W (B, n) on one design X (n, p): (B, p, p)."""
    B, p = W.shape[0], X.shape[1]
    iu, ju = np.triu_indices(p)
    G = _single_thread_matmul(W, X[:, iu] * X[:, ju])
    xtx = np.empty((B, p, p))
    xtx[:, iu, ju] = G
    xtx[:, ju, iu] = G
    return xtx


def well_conditioned(xtx: np.ndarray) -> np.ndarray:
    """(B,) Gram matrices with condition number below GRAM_CONDITION: such a design passes the
    rank rule without a QR (every column's unexplained share is at least 1/sqrt(cond))."""
    return gram_inverse(xtx)[1]


def gram_inverse(xtx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inverse (B, p, p), well (B,)) of a batch of Gram matrices; ``well`` marks those whose
    condition number is below GRAM_CONDITION, their inverse exact, the others' inverse the
    identity's (placeholders for the QR path).

    The test is the Frobenius condition number ||A|| ||A^-1||, an upper bound of the 2-norm one,
    so a matrix it passes passes the eigenvalue test too; it costs two sums over the inverse,
    which the solve needs anyway, instead of an eigendecomposition per matrix. A batch holding an
    exactly singular matrix cannot be inverted at once: it is sorted by its eigenvalues instead.
    """
    eye = np.eye(xtx.shape[-1])
    try:
        with np.errstate(all="ignore"):
            inv = np.linalg.inv(xtx)
        kappa = np.sqrt(np.einsum("bij,bij->b", xtx, xtx) * np.einsum("bij,bij->b", inv, inv))
        well = np.isfinite(kappa) & (kappa < GRAM_CONDITION)
    except np.linalg.LinAlgError:
        eig = np.linalg.eigvalsh(xtx)
        well = eig[:, 0] > eig[:, -1] / GRAM_CONDITION
        inv = np.linalg.inv(np.where(well[:, None, None], xtx, eye))
    if not well.all():
        inv = np.where(well[:, None, None], inv, eye)
    return inv, well


def collinear_fits(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(B,) fits of one design X (n, p) with weights W (B, n) that fail the rank rule; the QR of
    the rule runs only for fits whose weighted Gram matrix is not well conditioned."""
    out = np.zeros(W.shape[0], dtype=bool)
    rest = np.flatnonzero(~well_conditioned(weighted_gram(X, W)))
    if rest.size:
        out[rest] = collinear_columns(X, W[rest]).any(axis=1)
    return out


def lstsq_weighted(X: np.ndarray, Y: np.ndarray, W: np.ndarray, intercept: np.ndarray | None = None):
    """Frequency-weighted least squares of Y ((n,) shared or (B, n)) on ONE design X (n, p,
    standardised) with weights W (B, n): (coef (B, p), (X'WX)^-1 (B, p, p), collinear (B,)).

    The Gram matrices come from one GEMM against the n x p(p+1)/2 column products; fits whose
    Gram matrix is well conditioned (GRAM_CONDITION) are solved from it, the others by
    ``lstsq_batched`` on their weighted rows, which also applies the rank rule to them."""
    B, p = W.shape[0], X.shape[1]
    iu, ju = np.triu_indices(p)
    Z = X[:, iu] * X[:, ju]
    if Y.ndim == 1:
        G = _single_thread_matmul(W, np.hstack([Z, X * Y[:, None]]))
        xty = G[:, iu.size:]
    else:
        G = _single_thread_matmul(W, Z)
        xty = (W * Y) @ X
    xtx = np.empty((B, p, p))
    xtx[:, iu, ju] = G[:, :iu.size]
    xtx[:, ju, iu] = G[:, :iu.size]
    inv, well = gram_inverse(xtx)
    coef = np.einsum("bpq,bq->bp", inv, xty)
    collinear = np.zeros(B, dtype=bool)
    rest = np.flatnonzero(~well)
    if rest.size:
        root = np.sqrt(W[rest])
        Yr = Y[None] if Y.ndim == 1 else Y[rest]
        c, i, _, bad = lstsq_batched(X[None] * root[..., None], Yr * root, intercept)
        coef[rest], inv[rest], collinear[rest] = c, i, bad
    return coef, inv, collinear


def well_posed(H: np.ndarray, limit: float = 1e12) -> np.ndarray:
    """(B,) ``np.linalg.cond(H) < limit`` for symmetric positive semi-definite H (B, p, p)
    (information matrices), from their eigenvalues: half the cost of the SVD."""
    finite = np.all(np.isfinite(H), axis=(1, 2))
    eig = np.linalg.eigvalsh(np.where(finite[:, None, None], H, np.eye(H.shape[-1])))
    return finite & (eig[:, 0] > 0) & (eig[:, -1] < limit * eig[:, 0])
