"""Fit wiring of cluster-randomised and multicentre trials (``data.cluster``, CONTRACT §6.3).

Linear models: the CR2 variance with Satterthwaite df per contrast and the HTZ joint test
(``engines.cr2``). Logistic models: the CR0 cluster sandwich of the maximum-likelihood (or Firth)
fit, z tests (``engines.cluster.cr0_vcov``). Mixed models with a random intercept per cluster are
not offered yet: their rows say so.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from .design import Design

MIXED_NOT_YET = ("mixed models with data.cluster (a random intercept per cluster beside the one per participant) "
                 "are not available yet; use analysis.model: linear, which gives CR2 cluster-robust inference per follow-up")


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
