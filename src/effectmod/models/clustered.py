"""Fit wiring of cluster-randomised and multicentre trials (``data.cluster``, CONTRACT §6.3).

Linear models: the CR2 variance with Satterthwaite df per contrast and the HTZ joint test
(``engines.cr2``). Logistic models: the CR0 cluster sandwich of the maximum-likelihood (or Firth)
fit, z tests (``engines.cluster.cr0_vcov``). Mixed models: random intercepts per cluster and per
participant (``engines.mixed_cluster``).
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from .design import Design


def run_mixed_clusters(spec, design: Design) -> tuple[Any, dict[str, Any], tuple]:
    """``(1 | cluster) + (1 | id)``: REML with Satterthwaite df (``engines.mixed_cluster``)."""
    import warnings

    from ..engines.mixed_cluster import fit_cluster_intercepts
    from ..errors import ConvergenceWarning
    from ..records import REML_MESSAGE, REML_NOT_CONVERGED, Note
    assert design.groups is not None and design.clusters is not None
    fit = fit_cluster_intercepts(design.y, design.X, design.groups, design.clusters, names=design.names)
    notes: tuple = ()
    if not fit.converged:
        notes = (Note(REML_NOT_CONVERGED, "REML did not converge"),)
        warnings.warn(f"{spec.outcome} x {spec.moderator}: REML did not converge", ConvergenceWarning, stacklevel=2)
    elif fit.message:
        notes = (Note(REML_MESSAGE, fit.message),)
    return fit, {"n_obs": fit.n_obs, "n_participants": fit.n_groups, "clusters": fit.n_clusters,
                 "sigma2_participant": fit.sigma2_subject, "sigma2_cluster": fit.sigma2_cluster,
                 "sigma2_residual": fit.sigma2_residual, "icc": fit.icc, "converged": fit.converged,
                 "reml_deviance": fit.reml_deviance}, notes


def run_linear_cr2(design: Design) -> tuple[Any, dict[str, Any], tuple]:
    from ..engines.cr2 import fit_ols_cr2
    assert design.clusters is not None
    fit = fit_ols_cr2(design.X, design.y, design.clusters, names=design.names)
    return fit, {"df_resid": fit.df_resid, "sigma": math.sqrt(fit.sigma2), "r_squared": fit.r_squared,
                 "se": "CR2", "clusters": fit.n_clusters}, ()


def logistic_cr0(fit, design: Design):
    """The logistic fit with its CR0 cluster sandwich variance (scores x_i (y_i - p_i), bread the
    model-based variance), and the summary entries."""
    from ..engines.cluster import cr0_vcov
    assert design.clusters is not None
    eta = design.X @ fit.coef
    p = 1.0 / (1.0 + np.exp(-eta))
    scores = design.X * (design.y - p)[:, None]
    vcov = cr0_vcov(scores, fit.vcov, design.clusters)
    return replace(fit, vcov=vcov), {"se": "CR0", "clusters": int(np.unique(design.clusters).size)}
