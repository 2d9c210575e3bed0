"""Within- and between-cluster effect modification (``analysis.cluster_decomposition``).

In a cluster trial a moderator measured on participants mixes two comparisons: participants of
one cluster with each other (within) and clusters with each other (between, through the cluster
means). Cluster characteristics can confound the second. The decomposition (Begg and Parides 2003)
enters the moderator as its cluster-mean-centred value and its cluster mean, each with its own
treatment interaction, in the model of the interaction row (same outcome, follow-up, terms and
variance: CR2 for linear, CR0 for logistic models). The `within` row is the interaction free of
cluster-level confounding. Continuous and binary moderators, and categorical ones through each
non-reference level's indicator (its cluster-mean-centred value and its cluster mean: the share of
the cluster at that level), with a `joint` level per term (HTZ for CR2, chi-square for CR0);
multi-arm models give these rows per comparison. The cluster means are those of the model's
analysed participants.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("outcome", "timepoint", "moderator", "term", "model", "estimate", "std_error", "ci_low", "ci_high",
           "p_value", "df", "n", "clusters", "note", "level", "comparison")
TERMS = ("within", "between")


def decomposition_frame(fitted, plan) -> pd.DataFrame:
    """Per linear or logistic model with clusters: a `within` and a `between` row per moderator
    column (a categorical moderator's levels in `level`, each level's indicator decomposed, plus a
    `joint` level: the test of all its levels) and per comparison (multi-arm: `comparison`)."""
    rows: list[dict] = []
    for f in fitted:
        d = f.design
        if f.spec.kind not in ("linear", "logistic") or d.clusters is None or not d.mod_names:
            continue
        base = {"outcome": f.spec.outcome, "timepoint": f.spec.timepoint, "moderator": f.spec.moderator,
                "model": f.spec.kind, "n": d.n, "clusters": int(np.unique(d.clusters).size)}
        if f.fit is None:
            rows += [{**b, "note": "the interaction model is not estimable"} for b in _row_keys(d, base)]
            continue
        rows += _decomposed_rows(f, plan, base)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _arms(d) -> list[str | None]:
    return list(d.arms) if d.arms else [None]


def _levels(d) -> list[tuple[int | None, str]]:
    """(moderator column or None for the joint test, level text) of each row of one term."""
    if len(d.mod_names) == 1 and d.terms == ("",):
        return [(0, "")]
    return [*((j, lv) for j, lv in enumerate(d.terms)), (None, "joint")]


# a cluster-level moderator: no within row exists, and its between-cluster comparison is the
# main analysis's interaction itself (its rows in results.csv), so neither row is estimated here
CLUSTER_LEVEL_NOTES = {
    "within": "the moderator does not vary within clusters (a cluster-level moderator): no within-cluster comparison exists",
    "between": ("the moderator does not vary within clusters (a cluster-level moderator): its between-cluster "
                "comparison is the main interaction (results.csv), not repeated here"),
}


def _row_keys(d, base: dict) -> list[dict]:
    return [{**base, "term": t, "level": lv, "comparison": d.comparison(arm)}
            for arm in _arms(d) for _, lv in _levels(d) for t in TERMS]


def split_by_cluster(values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value minus its cluster's mean, the cluster's mean) for each row."""
    codes = np.unique(codes, return_inverse=True)[1].ravel()
    means = np.bincount(codes, weights=values) / np.bincount(codes)
    between = means[codes]
    return values - between, between


def decomposed_design(X: np.ndarray, names: tuple[str, ...], codes: np.ndarray,
                      mod_names: tuple[str, ...] = ("mod",), treat_names: tuple[str, ...] = ("treat",)):
    """The design with each moderator column ``m`` and each product ``t:m`` replaced by a within-
    (``m[within]``, ``t:m[within]``) and a between-cluster column (``[between]``). Returns the
    design, its names and the within columns (one per moderator column)."""
    drop = {names.index(m) for m in mod_names} | {names.index(f"{t}:{m}") for t in treat_names for m in mod_names}
    keep = [k for k in range(X.shape[1]) if k not in drop]
    parts = {m: split_by_cluster(X[:, names.index(m)], codes) for m in mod_names}
    cols = [X[:, keep]]
    nd = [names[k] for k in keep]
    for m in mod_names:
        cols += [parts[m][0][:, None], parts[m][1][:, None]]
        nd += [f"{m}[within]", f"{m}[between]"]
    for t in treat_names:
        treat = X[:, names.index(t)]
        for m in mod_names:
            cols += [(treat * parts[m][0])[:, None], (treat * parts[m][1])[:, None]]
            nd += [f"{t}:{m}[within]", f"{t}:{m}[between]"]
    return np.hstack(cols), tuple(nd), np.column_stack([parts[m][0] for m in mod_names])


def _decomposed_rows(f, plan, base: dict) -> list[dict]:
    from ..engines.errors import EngineError
    d = f.design
    treat_names = tuple(d.treat_name(a) for a in _arms(d))
    Xd, nd, within = decomposed_design(d.X, d.names, d.clusters, d.mod_names, treat_names)
    scale = max(1.0, float(np.abs(d.X[:, [d.names.index(m) for m in d.mod_names]]).max()))
    if np.any(np.ptp(within, axis=0) <= 1e-12 * scale):
        return [{**b, "note": CLUSTER_LEVEL_NOTES[b["term"]]} for b in _row_keys(d, base)]
    try:
        fit = _refit(f.spec.kind, Xd, d, nd, plan)
    except (EngineError, np.linalg.LinAlgError, ValueError) as exc:
        return [{**b, "note": f"the decomposed model could not be fitted: {exc}"} for b in _row_keys(d, base)]
    out = []
    for arm, t_name in zip(_arms(d), treat_names):
        for j, level in _levels(d):
            for t in TERMS:
                cols = d.mod_names if j is None else (d.mod_names[j],)
                L = np.zeros((len(cols), len(nd)))
                for r, m in enumerate(cols):
                    L[r, nd.index(f"{t_name}:{m}[{t}]")] = 1.0
                row = {**base, "term": t, "level": level, "comparison": d.comparison(arm), "note": ""}
                if j is None:
                    w = fit.wald(L)
                    row.update(p_value=w.p_value, df=w.df_den)
                else:
                    c = fit.contrast(L[0])
                    lo, hi = c.ci(plan.analysis.ci_level)
                    row.update(estimate=c.estimate, std_error=c.std_error, ci_low=lo, ci_high=hi, p_value=c.p_value, df=c.df)
                out.append(row)
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
