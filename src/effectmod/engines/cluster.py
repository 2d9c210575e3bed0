"""Cluster-robust (sandwich) variances shared by every likelihood-based engine.

The CR0 sandwich of CONTRACT §6.3 (``sandwich::vcovCL(type = "HC0", cadjust = FALSE)``, the
clubSandwich CR0, and the grouped robust variance of ``survival::coxph(..., cluster = )``) is
``B (sum_g u_g u_g') B``: B the model-based variance (the inverse information) and u_g the sum of
cluster g's score contributions. One function, so logistic, count and Cox fits agree by
construction; the linear model's CR2 (Bell-McCaffrey) lives beside it.
"""
from __future__ import annotations

import numpy as np


def cluster_codes(cluster) -> np.ndarray:
    """Integer codes 0..G-1 of a cluster column (any values, one per row)."""
    return np.unique(np.asarray(cluster), return_inverse=True)[1].ravel()


def cr0_vcov(scores: np.ndarray, bread: np.ndarray, cluster) -> np.ndarray:
    """CR0 cluster sandwich ``bread @ (U'U) @ bread``, U the (G, p) per-cluster sums of the
    (n, p) score rows; no small-sample factor."""
    codes = cluster_codes(cluster)
    U = np.zeros((int(codes.max()) + 1 if codes.size else 0, scores.shape[1]))
    np.add.at(U, codes, scores)
    return bread @ (U.T @ U) @ bread
