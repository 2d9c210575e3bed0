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


def simulated_cluster_trial(n_clusters: int, cluster_size: int | tuple[int, int], icc: float = 0.05,
                            moderator_icc: float = 0.2, interaction: float = 0.0, effect: float = 0.3,
                            seed: int = 2024):
    """``simulate_cluster_trial``'s data with the plan that analyses it (CR2) and the truth, as a
    ``SimulatedTrial`` (what `effectmod simulate --scenario cluster` writes). The analysis model
    y ~ arm * x is correctly specified (x has mean 0 and is independent of the cluster effect),
    so the estimand of the arm x x coefficient is ``interaction`` exactly."""
    from . import SimulatedTrial
    data = simulate_cluster_trial(n_clusters, cluster_size, icc=icc, moderator_icc=moderator_icc,
                                  interaction=interaction, effect=effect, seed=seed)
    plan = {"title": f"Simulated cluster-randomised trial ({n_clusters} clusters)", **cluster_plan("CR2")}
    plan["analysis"]["seed"] = int(seed)
    size = list(cluster_size) if isinstance(cluster_size, tuple) else int(cluster_size)
    truth = {
        "scenario": "cluster", "n": int(len(data)), "seed": int(seed), "dropout": "none",
        "outcome_scale": "latent",
        "parameters": {"clusters": int(n_clusters), "cluster_size": size, "icc": float(icc),
                       "moderator_icc": float(moderator_icc), "effect": float(effect),
                       "interaction": float(interaction), "x_main_effect": 0.5},
        "definitions": {
            "model": "y = effect * arm + interaction * arm * x + 0.5 * x + u_cluster + e, half of the clusters "
                     "treated; Var(u) = icc, Var(e) = 1 - icc; x = between-cluster part (variance "
                     "moderator_icc) + within-cluster part (variance 1 - moderator_icc)",
            "estimand": "population value of the arm x x coefficient in y ~ arm * x (equal to interaction)",
        },
        "interactions": [{"moderator": "x", "column": "x", "outcome": "y", "timepoint": "end",
                          "dgp_interaction": float(interaction), "estimand": float(interaction)}],
        "average_effects": [{"outcome": "y", "timepoint": "end", "dgp_effect": float(effect),
                             "estimand": float(effect)}],
    }
    return SimulatedTrial(data, plan, truth)
