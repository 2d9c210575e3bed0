"""Within- and between-cluster effect modification (``analysis.cluster_decomposition``).

In a cluster trial a moderator measured on participants mixes two comparisons: participants of
one cluster with each other (within) and clusters with each other (between, through the cluster
means). Cluster characteristics can confound the second. The decomposition (Begg and Parides 2003)
enters the moderator as its cluster-mean-centred value and its cluster mean, each with its own
treatment interaction, in the model of the interaction row (same outcome, follow-up, terms and
variance: CR2 for linear, CR0 for logistic models). The `within` row is the interaction free of
cluster-level confounding. Continuous and binary moderators; the cluster means are those of the
model's analysed participants.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("outcome", "timepoint", "moderator", "term", "model", "estimate", "std_error", "ci_low", "ci_high",
           "p_value", "df", "n", "clusters", "note")
TERMS = ("within", "between")


def decomposition_frame(fitted, plan) -> pd.DataFrame:
    """One `within` and one `between` row per linear or logistic model of a continuous or binary
    moderator (not produced for categorical moderators or mixed models)."""
    rows: list[dict] = []
    for f in fitted:
        d = f.design
        if f.spec.kind not in ("linear", "logistic") or d.clusters is None or d.mod_names != ("mod",):
            continue
        base = {"outcome": f.spec.outcome, "timepoint": f.spec.timepoint, "moderator": f.spec.moderator,
                "model": f.spec.kind, "n": d.n, "clusters": int(np.unique(d.clusters).size)}
        if f.fit is None:
            rows += [{**base, "term": t, "note": "the interaction model is not estimable"} for t in TERMS]
            continue
        rows += _decomposed_rows(f, plan, base)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def split_by_cluster(values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value minus its cluster's mean, the cluster's mean) for each row."""
    codes = np.unique(codes, return_inverse=True)[1].ravel()
    means = np.bincount(codes, weights=values) / np.bincount(codes)
    between = means[codes]
    return values - between, between


def decomposed_design(X: np.ndarray, names: tuple[str, ...], codes: np.ndarray):
    """The design with ``mod`` and ``treat:mod`` each replaced by a within- and a between-cluster column."""
    j_mod, j_int, j_treat = names.index("mod"), names.index("treat:mod"), names.index("treat")
    within, between = split_by_cluster(X[:, j_mod], codes)
    treat = X[:, j_treat]
    keep = [k for k in range(X.shape[1]) if k not in (j_mod, j_int)]
    Xd = np.column_stack([X[:, keep], within, between, treat * within, treat * between])
    nd = tuple(names[k] for k in keep) + ("mod[within]", "mod[between]", "treat:mod[within]", "treat:mod[between]")
    return Xd, nd, within


def _decomposed_rows(f, plan, base: dict) -> list[dict]:
    from ..engines.errors import EngineError
    d = f.design
    Xd, nd, within = decomposed_design(d.X, d.names, d.clusters)
    if np.ptp(within) <= 1e-12 * max(1.0, float(np.abs(d.X[:, d.names.index("mod")]).max())):
        note = "the moderator does not vary within clusters (a cluster-level moderator): only the between-cluster comparison exists"
        return [{**base, "term": t, "note": note} for t in TERMS]
    try:
        fit = _refit(f.spec.kind, Xd, d, nd, plan)
    except (EngineError, np.linalg.LinAlgError, ValueError) as exc:
        return [{**base, "term": t, "note": f"the decomposed model could not be fitted: {exc}"} for t in TERMS]
    out = []
    for t in TERMS:
        L = np.zeros(len(nd))
        L[nd.index(f"treat:mod[{t}]")] = 1.0
        c = fit.contrast(L)
        lo, hi = c.ci(plan.analysis.ci_level)
        out.append({**base, "term": t, "estimate": c.estimate, "std_error": c.std_error, "ci_low": lo, "ci_high": hi,
                    "p_value": c.p_value, "df": c.df, "note": ""})
    return out


def _refit(kind: str, Xd: np.ndarray, d, names, plan):
    if kind == "linear":
        if plan.analysis.se == "CR2":
            from ..engines.cr2 import fit_ols_cr2
            return fit_ols_cr2(Xd, d.y, d.clusters, names=names)
        from ..engines.ols import fit_ols
        return fit_ols(Xd, d.y, names, se=plan.analysis.se)
    from dataclasses import replace

    from ..engines.cluster import cr0_vcov
    from ..engines.logistic import fit_logistic
    method = "firth" if plan.analysis.binary_method == "firth" else "ml"
    fit = fit_logistic(Xd, d.y, method=method, names=names)
    if plan.analysis.se != "CR2":
        return fit
    p = 1.0 / (1.0 + np.exp(-(Xd @ fit.coef)))
    return replace(fit, vcov=cr0_vcov(Xd * (d.y - p)[:, None], fit.vcov, d.clusters))


def methods_sentence(frame: pd.DataFrame | None) -> str:
    if frame is None or not len(frame):
        return ""
    shown = frame[np.isfinite(frame["p_value"].astype(float))]
    return (" Each participant-level moderator was also split into its cluster-mean-centred value and its cluster mean, "
            "each with its own treatment interaction (Begg and Parides 2003; cluster_decomposition.csv): the `within` row "
            "compares participants of the same cluster and is free of cluster-level confounding; the `between` row "
            "compares clusters through their mean moderator and can be confounded by other cluster characteristics"
            + (f" ({len(shown)} of {len(frame)} rows estimated)." if len(shown) != len(frame) else "."))
