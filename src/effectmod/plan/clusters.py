"""Plan rules of cluster-randomised and multicentre trials (``data.cluster``, CONTRACT §6.3).

With a cluster column the linear models' variance defaults to CR2; a variance that ignores the
clusters must be asked for explicitly (``analysis.allow_classical_with_clusters``), and the steps
that resample or impute participants as if they were independent are refused until they respect
the clusters.
"""
from __future__ import annotations

from typing import Any


def default_se(data: Any) -> Any:
    """A plan mapping with ``analysis.se: CR2`` filled in when ``data.cluster`` is set and ``se`` is not."""
    if not isinstance(data, dict):
        return data
    spec = data.get("data")
    cluster = spec.get("cluster") if isinstance(spec, dict) else getattr(spec, "cluster", None)
    if cluster is None:
        return data
    analysis = data.get("analysis")
    if analysis is None:
        return {**data, "analysis": {"se": "CR2"}}
    if isinstance(analysis, dict) and "se" not in analysis:
        return {**data, "analysis": {**analysis, "se": "CR2"}}
    return data


# steps that treat participants as independent draws; not offered with clusters (yet)
_NOT_WITH_CLUSTERS = {
    "bootstrap": "the bootstrap resamples participants, not clusters",
    "permutations": "permutations shuffle participants, not clusters",
    "imputations": "multiple imputation does not model the clusters",
}


def cluster_problems(plan) -> list[str]:
    """One line per rule of the plan's cluster keys that is broken."""
    a = plan.analysis
    cluster = plan.data.cluster
    out: list[str] = []
    if cluster is None:
        if a.cluster_decomposition:
            out.append("analysis.cluster_decomposition: needs data.cluster (the column of each participant's cluster)")
        if a.se == "CR2":
            out.append("analysis.se: CR2 is a cluster-robust variance and needs data.cluster (the column of each "
                       "participant's cluster); use se: classical or HC3 for an individually randomised trial")
        return out
    if a.se != "CR2" and not a.allow_classical_with_clusters:
        out.append(f"analysis.se: '{a.se}' ignores the clusters of data.cluster ('{cluster}'), so its p values are too "
                   "small when outcomes are correlated within clusters; use se: CR2 (the default with data.cluster), "
                   "or set analysis.allow_classical_with_clusters: true to use it anyway")
    for key, why in _NOT_WITH_CLUSTERS.items():
        if getattr(a, key):
            out.append(f"analysis.{key}: not available with data.cluster ({why}); set analysis.{key}: 0")
    if cluster in (plan.data.id, plan.data.treatment):
        out.append(f"data.cluster: '{cluster}' is also data.{'id' if cluster == plan.data.id else 'treatment'}; "
                   "give the column of the clusters (school, practice, site)")
    return out
