"""Report text and Table 1 lines of cluster-randomised and multicentre trials (``data.cluster``)."""
from __future__ import annotations

import numpy as np

from ..formatting import number
from .display import display_flow

# below about this many clusters, cluster-robust sandwich variances need the small-sample
# correction (CR2 with Satterthwaite df) to keep the size of their tests
FEW_CLUSTERS = 40


def table1_rows(results, arms) -> list[dict]:
    """Clusters per arm and participants per cluster (median, range), as Table 1 opens."""
    codes = results.trial.cluster
    clusters = {"Characteristic": "Clusters, n"}
    sizes = {"Characteristic": "Participants per cluster, median (range)"}
    for name, mask in arms:
        c = codes[mask]
        per = np.bincount(c)[np.unique(c)] if c.size else np.zeros(0, dtype=int)
        clusters[name] = str(int(per.size))
        sizes[name] = f"{number(float(np.median(per)), 1)} ({int(per.min())}-{int(per.max())})" if per.size else ""
    return [clusters, sizes]


def linear_methods(results) -> str:
    """The linear models' sentence of the methods under se: CR2."""
    return ("continuous outcomes were analysed at each follow-up by ordinary least squares linear regression with the "
            f"CR2 (Bell-McCaffrey) cluster-robust variance over the clusters of '{results.plan.data.cluster}', "
            f"{'%g' % (100 * results.plan.analysis.ci_level)}% CIs and two-sided P values from the t distribution with "
            "Satterthwaite degrees of freedom for each interaction (joint tests: the HTZ Wald test of Pustejovsky and Tipton)")


def cluster_paragraph(results) -> str:
    """Clusters, their number per arm, the logistic models' variance, and the few-clusters caution."""
    flow = display_flow(results.plan, results.trial.flow)
    counts = flow.clusters or {}
    a = results.plan.analysis
    n = counts.get("total", 0)
    text = (f"Participants were grouped in {n} clusters ('{results.plan.data.cluster}': {counts.get('treated', 0)} with "
            f"participants in the {flow.arm_values['treated']} arm, {counts.get('control', 0)} in the "
            f"{flow.arm_values['control']} arm); n counts participants.")
    models = set(results.table["model"])
    if a.se == "CR2":
        if "logistic" in models:
            text += (" Logistic models used the CR0 cluster sandwich variance (no small-sample factor) with Wald z tests.")
        if models & {"poisson", "negative_binomial", "ordinal"}:
            text += (" Count and ordinal models used the CR0 cluster sandwich variance (no small-sample factor) with Wald z tests.")
        if "cox" in models:
            text += (" Cox models used the grouped robust variance over the clusters (as coxph with cluster =) with Wald z "
                     "tests; restricted mean survival time rows are not produced with clusters.")
        if "mixed" in models:
            text += (" Mixed models had random intercepts per cluster and per participant ((1 | cluster) + (1 | id)), "
                     "with Satterthwaite degrees of freedom.")
    else:
        text += (f" Standard errors were {a.se} as the plan asked (allow_classical_with_clusters), which ignores the "
                 "clustering: P values are too small when outcomes are correlated within clusters.")
    if a.cluster_decomposition:
        from ..inference.cluster_decomposition import methods_sentence
        text += methods_sentence(results.sections.get("cluster_decomposition"))
    if n < FEW_CLUSTERS:
        text += (f" With fewer than {FEW_CLUSTERS} clusters, CR2 with Satterthwaite degrees of freedom is the honest "
                 "choice; classical standard errors, and cluster sandwiches without the small-sample correction "
                 "(the CR0 sandwich of logistic, count and ordinal models, the Cox grouped robust variance), understate the uncertainty.")
    return text


def table_note(results) -> str:
    """One sentence for Table 2's legend and the console: how many clusters, and how the standard
    errors used them (empty without data.cluster)."""
    if results.plan.data.cluster is None or results.trial.flow.clusters is None:
        return ""
    counts = results.trial.flow.clusters
    arms = display_flow(results.plan, results.trial.flow).arm_values
    text = (f"{counts.get('total', 0)} clusters ('{results.plan.data.cluster}': {counts.get('treated', 0)} in the "
            f"{arms['treated']} arm, {counts.get('control', 0)} in the {arms['control']} arm); n counts participants.")
    a = results.plan.analysis
    if a.se != "CR2":
        return text + f" Standard errors: {a.se}, ignoring the clustering (allow_classical_with_clusters)."
    parts = se_parts(results)
    return text + (" Standard errors: " + "; ".join(parts) + "." if parts else "")


def se_parts(results) -> list[str]:
    """With data.cluster and se: CR2, how each model family's standard errors used the clusters
    (CR2 is the linear models' variance only: a Cox-only plan has grouped robust SEs)."""
    models = set(results.table["model"])
    parts = []
    if "linear" in models:
        parts.append("linear models: CR2 cluster-robust SEs, t tests with Satterthwaite df (results.csv column df)")
    cr0 = [name for name, kinds in (("logistic", {"logistic"}), ("count", {"poisson", "negative_binomial"}),
                                    ("ordinal", {"ordinal"})) if models & kinds]
    if cr0:
        which = cr0[0] if len(cr0) == 1 else ", ".join(cr0[:-1]) + " and " + cr0[-1]
        parts.append(f"{which} models: CR0 cluster sandwich, z tests")
    if "cox" in models:
        parts.append("Cox models: grouped robust variance, z tests")
    if "mixed" in models:
        parts.append("mixed models: random intercepts per cluster and participant, Satterthwaite df")
    return parts
