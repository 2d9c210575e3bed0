"""Frequency-weighted least squares of many designs that share their rows, from one GEMM.

The bootstrap refits every linear model of a follow-up on the same resample counts; those models
have the same participants (complete cases) and share most of their columns (intercept, treatment,
baseline, covariates), differing in the moderator columns. Here each distinct standardised column
(and each outcome) enters ONE product matrix: the weighted Gram blocks of every model come from a
single (B, n) x (n, pairs) float64 GEMM, and each model is solved by a block (Schur complement)
update of the inverse of the shared block, which is inverted once per group of models, so a
model costs its own cross-products and a few (B, m, m) operations (m = its own columns, 1-2).

Agreement with ``ols.fit_ols_batch``: the same standardisation of the same columns, and the same
gate (``linalg.GRAM_CONDITION`` on the Frobenius condition number of the full standardised Gram
matrix) for solving from the normal equations. A replicate that fails the gate, or whose residual
sum of squares is too small to be told from an exact fit by the normal equations, is reported in
``fallback`` and must be refitted by ``fit_ols_batch`` (QR and the rank rule), exactly as before.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .linalg import GRAM_CONDITION, _single_thread_matmul, gram_inverse, standardise

# residual sums of squares below this share of the total are left to the QR path, which decides
# exact fits (base.PERFECT_FIT_RSS); the normal equations' rss is accurate to ~eps * condition
_RSS_CHECK = 1e-6


@dataclass(frozen=True)
class SharedFit:
    coef: np.ndarray          # (B, len(columns)) coefficients (original units) of the asked columns
    fallback: np.ndarray      # (B,) bool: replicates to refit by fit_ols_batch (coef NaN there)


# Small blocks are held batch-last, (a, b, B): each product is a few vector operations over the
# B replicates (numpy's batched matmul of 2x3 matrices costs a call per matrix).

def _mm(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """(a, k, B) x (k, c, B) -> (a, c, B)."""
    return (X[:, :, None, :] * Y[None, :, :, :]).sum(axis=1)


def _mv(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(a, k, B) x (k, B) -> (a, B)."""
    return (X * v[None, :, :]).sum(axis=1)


def _sq(X: np.ndarray) -> np.ndarray:
    """(B,) squared Frobenius norms of a batch-last block."""
    return (X * X).reshape(-1, X.shape[-1]).sum(axis=0)


def _small_inverse(S: np.ndarray) -> np.ndarray:
    """Inverses of a batch of small symmetric matrices (m, m, B); non-finite where singular."""
    m = S.shape[0]
    with np.errstate(all="ignore"):
        if m == 1:
            return 1.0 / S
        if m == 2:
            a, b, d = S[0, 0], S[0, 1], S[1, 1]
            det = a * d - b * b
            return np.stack([np.stack([d / det, -b / det]), np.stack([-b / det, a / det])])
    batch = np.ascontiguousarray(S.transpose(2, 0, 1))
    try:
        with np.errstate(all="ignore"):
            inv = np.linalg.inv(batch)
    except np.linalg.LinAlgError:
        inv, well = gram_inverse(batch)
        inv[~well] = np.nan
    return inv.transpose(1, 2, 0)


def fit_shared_rows(designs: list[tuple[np.ndarray, np.ndarray, list[int]]], W: np.ndarray) -> list[SharedFit]:
    """Weighted least squares of each design (X (n, p), y (n,), asked column indices) on the
    weights W (B, n); all designs have the same n rows (the same participants, in order)."""
    W = np.asarray(W, dtype=float)
    B, n = W.shape
    if B == 0:
        return [SharedFit(np.empty((0, len(asked))), np.zeros(0, dtype=bool)) for _, _, asked in designs]
    # distinct standardised columns (outcomes included, as centred columns), keyed by their bytes
    index: dict[bytes, int] = {}
    cols: list[np.ndarray] = []

    def col_id(v: np.ndarray) -> int:
        key = v.tobytes()
        if key not in index:
            index[key] = len(cols)
            cols.append(v)
        return index[key]

    models = []
    for X, y, asked in designs:
        X = np.asarray(X, dtype=float)
        centre, scale, intercept = standardise(X)
        Xs = (X - centre) / scale
        ids = [col_id(np.ascontiguousarray(Xs[:, j])) for j in range(X.shape[1])]
        # with an intercept the slopes and the rss do not change when y is centred (less cancellation)
        yc = np.asarray(y, dtype=float) - (y.mean() if intercept.size else 0.0)
        models.append((ids, col_id(yc), scale, list(asked), intercept))
    pairs: dict[tuple[int, int], int] = {}
    for ids, yid, *_ in models:
        full = ids + [yid]
        for a in range(len(full)):
            for b in range(a, len(full)):
                key = (min(full[a], full[b]), max(full[a], full[b]))
                pairs.setdefault(key, len(pairs))
    U = np.column_stack(cols)
    left = np.fromiter((k[0] for k in pairs), dtype=np.intp, count=len(pairs))
    right = np.fromiter((k[1] for k in pairs), dtype=np.intp, count=len(pairs))
    G = np.ascontiguousarray(_single_thread_matmul(W, U[:, left] * U[:, right]).T)   # (pairs, B)
    wsum = W.sum(axis=1)

    def block(a_ids: list[int], b_ids: list[int]) -> np.ndarray:
        sel = np.array([[pairs[(min(a, b), max(a, b))] for b in b_ids] for a in a_ids], dtype=np.intp)
        return G[sel]                                                 # (len(a), len(b), B)

    # each model's shared block: the columns that most models of its outcome (and these rows) carry
    counts: dict[tuple[int, int], int] = {}
    per_outcome: dict[int, int] = {}
    for ids, yid, *_ in models:
        per_outcome[yid] = per_outcome.get(yid, 0) + 1
        for c in set(ids):
            counts[(yid, c)] = counts.get((yid, c), 0) + 1
    shared_inv: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    out = []
    for ids, yid, scale, asked, intercept in models:
        common = {c for c in ids if 2 * counts[(yid, c)] > per_outcome[yid]}
        core = tuple(c for c in ids if c in common)
        own = [c for c in ids if c not in common]
        if core not in shared_inv:
            A = block(list(core), list(core))
            if core:
                Ainv, wellA = gram_inverse(np.ascontiguousarray(A.transpose(2, 0, 1)))
                Ainv = Ainv.transpose(1, 2, 0)
            else:
                Ainv, wellA = A, np.ones(B, dtype=bool)
            shared_inv[core] = (A, Ainv, wellA)
        A, Ainv, wellA = shared_inv[core]
        coef_s, well, rss = _solve(A, Ainv, wellA, list(core), own, yid, block)
        if not intercept.size:      # no intercept: not a trial design; the QR path fits it
            out.append(SharedFit(np.full((B, len(asked)), np.nan), np.ones(B, dtype=bool)))
            continue
        # tss of the centred outcome about its weighted mean: sum w yc^2 - (sum w yc)^2 / sum w
        wy = block([ids[intercept[0]]], [yid])[0, 0]
        tss = block([yid], [yid])[0, 0] - wy * wy / wsum
        with np.errstate(invalid="ignore"):
            fallback = ~well | ~(rss > _RSS_CHECK * tss)
        order = list(core) + own
        coef = np.full((B, len(asked)), np.nan)
        for k, j in enumerate(asked):
            coef[:, k] = coef_s[order.index(ids[j])] / scale[j]
        coef[fallback] = np.nan
        out.append(SharedFit(coef, fallback))
    return out


def _solve(A, Ainv, wellA, core: list[int], own: list[int], yid: int, block):
    """Coefficients (s + m, B) in the order core + own, the condition gate (B,) and the rss (B,)
    of one model by a Schur-complement update of the shared block's inverse (blocks batch-last)."""
    yy = block([yid], [yid])[0, 0]
    xs = block(core, [yid])[:, 0] if core else np.zeros((0, yy.size))
    frob_g = _sq(A) if core else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        if not own:
            bs = _mv(Ainv, xs)
            kappa2 = frob_g * _sq(Ainv)
            rss = yy - (bs * xs).sum(axis=0)
            return bs, wellA & np.isfinite(kappa2) & (kappa2 < GRAM_CONDITION ** 2), rss
        D = block(own, own)
        xm = block(own, [yid])[:, 0]
        if core:
            C = block(core, own)                                       # (s, m, B)
            E = _mm(Ainv, C)                                           # A^-1 C
            Et = E.transpose(1, 0, 2)
            Sinv = _small_inverse(D - _mm(C.transpose(1, 0, 2), E))
            bm = _mv(Sinv, xm - _mv(Et, xs))
            bs = _mv(Ainv, xs) - _mv(E, bm)
            F = _mm(E, Sinv)
            top = Ainv + _mm(F, Et)
            frob_g = frob_g + 2.0 * _sq(C) + _sq(D)
            frob_inv = _sq(top) + 2.0 * _sq(F) + _sq(Sinv)
            coef = np.concatenate([bs, bm], axis=0)
            rss = yy - (bs * xs).sum(axis=0) - (bm * xm).sum(axis=0)
        else:
            Sinv = _small_inverse(D)
            coef = _mv(Sinv, xm)
            frob_g = _sq(D)
            frob_inv = _sq(Sinv)
            rss = yy - (coef * xm).sum(axis=0)
        kappa2 = frob_g * frob_inv
        well = wellA & np.isfinite(kappa2) & (kappa2 < GRAM_CONDITION ** 2) & np.isfinite(coef).all(axis=0)
    return coef, well, rss
