"""Sandwich and model-based variances of least-squares coefficients, once, for one fit or a batch.

Every function works on a leading batch axis or none: ``inv`` is (X'X)^-1 as (p, p) or (B, p, p),
``X`` the design (n, p) or (B, n, p) the inverse belongs to, ``resid`` (n,) or (B, n), ``h`` the
leverages. The OLS engine calls these for its single, batched and imputed fits.

Cluster-robust variances (CR0, CR2 with the Bell-McCaffrey adjustment) belong here too: a meat
summed over clusters instead of rows, next to ``hc3``.
"""
from __future__ import annotations

import numpy as np

SE_TYPES = ("classical", "HC3")


def check_se(se: str) -> None:
    if se not in SE_TYPES:
        raise ValueError(f"se must be 'classical' or 'HC3', not {se!r}")


def classical(inv, rss, df):
    """sigma^2 (X'X)^-1 with sigma^2 = RSS / df (scalars, or (B,) arrays for a batch)."""
    if np.ndim(rss) == 0:
        return inv * (rss / df)
    return inv * (np.asarray(rss) / df)[..., None, None]


def leverages(Q: np.ndarray) -> np.ndarray:
    """Hat values from the Q of a QR of the design, (n,) or (B, n)."""
    return (Q * Q).sum(axis=-1)


def hc3(inv, X, resid, h):
    """HC3 (MacKinnon & White): (X'X)^-1 X' diag(e_i^2 / (1 - h_i)^2) X (X'X)^-1."""
    u = resid / (1.0 - h)
    meat = (X * (u * u)[..., None]).swapaxes(-1, -2) @ X
    return inv @ meat @ inv


def hc3_contrast(a, resid, h):
    """HC3 variance of one contrast L'b from its rows a_i = L'(X'X)^-1 x_i: sum_i a_i^2 e_i^2 /
    (1 - h_i)^2, i.e. L' ``hc3`` L without the p x p matrix (a (n,) or (B, n))."""
    u = resid / (1.0 - h)
    return (a * a * u * u).sum(axis=-1)


def hc3_qr(Q, Rinv, resid):
    """HC3 from a QR of the design, X = Q R: R^-1 (Q' diag(e_i^2 / (1 - h_i)^2) Q) R^-T. The same
    matrix as ``hc3``, without forming (X'X)^-1 first, so a near-singular design loses only
    what its condition number costs (not its square)."""
    u = resid / (1.0 - leverages(Q))
    meat = (Q * (u * u)[..., None]).swapaxes(-1, -2) @ Q
    return Rinv @ meat @ Rinv.swapaxes(-1, -2)


def hc3_shared_diag(Q, Rinv, resid):
    """Diagonal of HC3 for many responses (resid (B, n)) on ONE design X = Q R (n, p): the rows
    of (X'X)^-1 X' = R^-1 Q' and the leverages are shared, var_j = sum_i A_ij^2 u_i^2 with
    A = Q R^-T (from the QR, not from (X'X)^-1, so that a near-singular design loses nothing)."""
    A = Q @ Rinv.T
    u = resid / (1.0 - leverages(Q))
    return (u * u) @ (A * A)
