"""The cluster of each participant (``data.cluster``: school, practice, site) and the clusters per arm.

A participant belongs to one cluster: in long data every visit row that names it must name the same
one, and a participant with no cluster is a problem (the cluster-robust variance needs all of them).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .problems import Problems
from .values import keys_of


def code_clusters(frame: pd.DataFrame, id_keys: np.ndarray, in_arms: np.ndarray, ids: np.ndarray,
                  column: str | None, problems: Problems) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """(codes 0..G-1 per analysed participant, in the order of ``ids``; the cluster labels by code),
    or (None, ()) without data.cluster or when the column has problems (they are added)."""
    if column is None or column not in frame.columns:
        return None, ()
    keys = keys_of(frame[column])[in_arms]
    pairs = pd.DataFrame({"id": id_keys[in_arms], "cluster": keys}).dropna()
    per_id = pairs.drop_duplicates().groupby("id", sort=False)["cluster"]
    several = per_id.nunique()
    several = several[several > 1]
    if len(several):
        shown = ", ".join(map(str, several.index[:5]))
        problems.add(f"column '{column}' (plan: data.cluster): {len(several)} participant(s) are in more than one cluster "
                     f"({shown}); a participant belongs to one cluster")
        return None, ()
    first = per_id.first()
    cluster_of = pd.Series(ids, dtype=object).map(first)
    missing = cluster_of.isna()
    if missing.any():
        shown = ", ".join(map(str, pd.Series(ids)[missing.to_numpy()].iloc[:5]))
        problems.add(f"column '{column}' (plan: data.cluster): the cluster is missing for {int(missing.sum())} participant(s) "
                     f"(ids {shown}); every analysed participant needs a cluster")
        return None, ()
    labels, codes = np.unique(cluster_of.to_numpy(dtype=str), return_inverse=True)
    return codes.ravel().astype(np.int64), tuple(str(x) for x in labels)


def clusters_per_arm(codes: np.ndarray, treat: np.ndarray) -> dict[str, int]:
    """Clusters with at least one participant in each arm (a cluster in both arms counts in both)."""
    return {"treated": int(np.unique(codes[treat == 1]).size), "control": int(np.unique(codes[treat == 0]).size),
            "total": int(np.unique(codes).size)}


def cluster_sizes(codes: np.ndarray, treat: np.ndarray) -> dict[str, dict[str, float]]:
    """Participants per cluster by arm: clusters, mean, median, minimum, maximum (Table 1)."""
    out = {}
    for arm, value in (("treated", 1), ("control", 0)):
        c = codes[treat == value]
        sizes = np.bincount(c)[np.unique(c)] if c.size else np.zeros(0, dtype=int)
        out[arm] = {"clusters": int(sizes.size), "mean": float(sizes.mean()) if sizes.size else float("nan"),
                    "median": float(np.median(sizes)) if sizes.size else float("nan"),
                    "min": int(sizes.min()) if sizes.size else 0, "max": int(sizes.max()) if sizes.size else 0}
    return out


# below about this many clusters a cluster sandwich without the CR2 correction and Satterthwaite df
# (and a variance that ignores the clusters altogether) gives tests that reject too often
FEW_CLUSTERS = 40


def cluster_warnings(codes: np.ndarray, plan) -> list[str]:
    """The data flow's warning when the clusters are few, worded for the plan's variance."""
    n = int(np.unique(codes).size)
    column = plan.data.cluster
    if plan.analysis.se != "CR2":
        return [f"column '{column}' (plan: data.cluster): {n} clusters, but analysis.se is {plan.analysis.se}, which ignores "
                "them; its P values are too small when outcomes are correlated within clusters (se: CR2 is the honest choice)"]
    if n < FEW_CLUSTERS:
        return [f"column '{column}' (plan: data.cluster): only {n} clusters (fewer than about {FEW_CLUSTERS}): linear models use "
                "CR2 with Satterthwaite df, the honest choice with few clusters; the CR0 sandwich of logistic, count, ordinal and Cox "
                "models has no small-sample correction and may understate uncertainty"]
    return []
