"""A simulated cluster-randomised trial: clusters of participants, half of the clusters treated.

The outcome has a random intercept per cluster (intra-cluster correlation ``icc`` of the outcome's
residual), and the continuous moderator a between-cluster part (``moderator_icc``), so a
treatment x moderator test that ignores the clusters is anti-conservative: the interaction's
design column is correlated within clusters just as the errors are. Used to check the size of the
cluster-robust (CR2, Satterthwaite) interaction test and to show why classical SEs are not honest.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_cluster_trial(n_clusters: int, cluster_size: int | tuple[int, int], icc: float = 0.1,
                           moderator_icc: float = 0.5, interaction: float = 0.0, effect: float = 0.3,
                           seed: int | np.random.Generator = 0) -> pd.DataFrame:
    """One trial: columns id, cluster, arm (1 treated / 0 control, randomised by cluster, half
    each), x (continuous moderator, variance 1), y (continuous outcome, residual variance 1).

    ``cluster_size``: participants per cluster, or (low, high) for sizes drawn uniformly.
    y = effect * arm + interaction * arm * x + 0.5 x + u_cluster + e, Var(u) / (Var(u) + Var(e)) = icc.
    """
    if n_clusters < 2:
        raise ValueError("a cluster trial needs at least 2 clusters")
    if not (0.0 <= icc < 1.0 and 0.0 <= moderator_icc < 1.0):
        raise ValueError("icc and moderator_icc must lie in [0, 1)")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if isinstance(cluster_size, tuple):
        sizes = rng.integers(cluster_size[0], cluster_size[1] + 1, size=n_clusters)
    else:
        sizes = np.full(n_clusters, int(cluster_size))
    arm_of = np.zeros(n_clusters)
    arm_of[rng.permutation(n_clusters)[: n_clusters // 2]] = 1.0
    cluster = np.repeat(np.arange(n_clusters), sizes)
    n = cluster.size
    arm = arm_of[cluster]
    x = (np.sqrt(moderator_icc) * rng.standard_normal(n_clusters)[cluster]
         + np.sqrt(1.0 - moderator_icc) * rng.standard_normal(n))
    u = np.sqrt(icc) * rng.standard_normal(n_clusters)[cluster]
    e = np.sqrt(1.0 - icc) * rng.standard_normal(n)
    y = effect * arm + interaction * arm * x + 0.5 * x + u + e
    return pd.DataFrame({"id": np.arange(1, n + 1), "cluster": [f"c{c + 1:03d}" for c in cluster],
                         "arm": np.where(arm == 1, "treated", "control"), "x": x, "y": y})


def cluster_plan(se: str = "CR2") -> dict:
    """The plan that analyses ``simulate_cluster_trial``'s data."""
    analysis = {"se": se, "adjust_for_baseline": False}
    if se != "CR2":
        analysis["allow_classical_with_clusters"] = True
    return {"data": {"id": "id", "treatment": "arm", "treated": "treated", "control": "control", "cluster": "cluster"},
            "outcomes": [{"name": "y", "type": "continuous", "followups": {"end": "y"}}],
            "moderators": [{"name": "x", "column": "x", "type": "continuous"}],
            "analysis": analysis}
