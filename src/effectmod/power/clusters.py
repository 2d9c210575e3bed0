"""Power of the treatment x moderator interaction test in a cluster-randomised trial.

How many clusters of what size: trials are drawn from ``simulation.cluster`` (clusters randomised
1:1, a random intercept per cluster with intra-cluster correlation ``icc`` of the outcome, a
continuous moderator with a between-cluster share ``moderator_icc``), analysed as
``effectmod analyze`` does with ``data.cluster`` (OLS with CR2 and Satterthwaite df), and the
share of trials whose interaction P is below alpha is the power. Beside it, two design effects:
``1 + (m - 1) icc`` of the average treatment effect, and the Moulton factor
``1 + (m - 1) icc moderator_icc`` of the interaction (the variance inflation of a regressor whose
intra-cluster correlation is moderator_icc), both against an individually randomised trial of the
same number of participants.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

COLUMNS = ("clusters", "cluster_size", "n", "icc", "moderator_icc", "interaction", "power", "mcse", "replicates",
           "design_effect_ate", "design_effect_interaction")


def _one_trial(rng: np.random.Generator, n_clusters: int, size: int, icc: float, moderator_icc: float,
               interaction: float, alpha: float) -> bool:
    from ..engines.cr2 import fit_ols_cr2
    cluster = np.repeat(np.arange(n_clusters), size)
    arm_of = np.zeros(n_clusters)
    arm_of[rng.permutation(n_clusters)[: n_clusters // 2]] = 1.0
    arm = arm_of[cluster]
    n = cluster.size
    x = math.sqrt(moderator_icc) * rng.standard_normal(n_clusters)[cluster] + math.sqrt(1 - moderator_icc) * rng.standard_normal(n)
    y = (0.3 * arm + interaction * arm * x + 0.5 * x + math.sqrt(icc) * rng.standard_normal(n_clusters)[cluster]
         + math.sqrt(1 - icc) * rng.standard_normal(n))
    X = np.column_stack([np.ones(n), arm, x, arm * x])
    return fit_ols_cr2(X, y, cluster, checked=False).contrast(np.array([0.0, 0.0, 0.0, 1.0])).p_value < alpha


def cluster_power(clusters, cluster_sizes, interactions, icc: float = 0.05, moderator_icc: float = 0.2,
                  replicates: int = 1000, alpha: float = 0.05, seed: int = 2024, progress=None) -> pd.DataFrame:
    """Power per (number of clusters, cluster size, interaction per SD of the moderator; outcome
    residual SD 1). Each cell has its own child generator of ``seed``, so a cell's result does not
    depend on the rest of the grid."""
    cells = [(int(g), int(m), float(b)) for g in clusters for m in cluster_sizes for b in interactions]
    children = np.random.SeedSequence(seed).spawn(len(cells))
    rows = []
    for k, ((g, m, b), child) in enumerate(zip(cells, children)):
        rng = np.random.default_rng(child)
        hits = sum(_one_trial(rng, g, m, icc, moderator_icc, b, alpha) for _ in range(replicates))
        p = hits / replicates
        rows.append({"clusters": g, "cluster_size": m, "n": g * m, "icc": icc, "moderator_icc": moderator_icc,
                     "interaction": b, "power": p, "mcse": math.sqrt(p * (1 - p) / replicates), "replicates": replicates,
                     "design_effect_ate": round(1 + (m - 1) * icc, 12),
                     "design_effect_interaction": round(1 + (m - 1) * icc * moderator_icc, 12)})
        if progress:
            progress(k + 1, len(cells), "cells")
    return pd.DataFrame(rows, columns=list(COLUMNS))
