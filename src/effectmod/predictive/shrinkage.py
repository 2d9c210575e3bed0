"""Subgroup treatment effects shrunk towards their common mean (empirical Bayes).

Each level k of a binary or categorical moderator has a treatment-effect estimate y_k with
standard error s_k. Under the normal-normal hierarchical model y_k ~ N(theta_k, s_k^2),
theta_k ~ N(mu, tau^2), with a flat prior on mu and tau^2 fixed at its REML estimate, the
posterior of theta_k has

    mean  mu_hat + (1 - B_k) (y_k - mu_hat),      B_k = s_k^2 / (s_k^2 + tau^2)
    var   s_k^2 (1 - B_k) + B_k^2 / sum_j w_j,    w_j = 1 / (s_j^2 + tau^2)

with mu_hat = sum w_j y_j / sum w_j (the uncertainty of mu_hat included, the tau^2 estimate's
not). The interval is mean -/+ z sd.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REML_TOLERANCE = 1e-10
REML_MAX_STEPS = 200


@dataclass(frozen=True)
class Shrunken:
    estimate: np.ndarray
    std_error: np.ndarray
    tau2: float
    mean: float                 # mu_hat, the common mean the estimates are shrunk towards


def reml_tau2(y: np.ndarray, s: np.ndarray) -> float:
    """REML estimate of the between-level variance (Fisher scoring as metafor's rma(method="REML"),
    truncated at 0)."""
    y, v = np.asarray(y, float), np.asarray(s, float) ** 2
    k = len(y)
    if k < 2:
        return 0.0
    tau2 = max(0.0, float(np.var(y, ddof=1) - v.mean()))
    for _ in range(REML_MAX_STEPS):
        w = 1.0 / (v + tau2)
        P = np.diag(w) - np.outer(w, w) / w.sum()
        Py = P @ y
        step = (float(Py @ Py) - float(np.trace(P))) / float(np.sum(P * P))
        new = max(0.0, tau2 + step)
        if abs(new - tau2) <= REML_TOLERANCE * max(1.0, tau2):
            return new
        tau2 = new
    return tau2


def shrink(y: np.ndarray, s: np.ndarray, tau2: float | None = None) -> Shrunken:
    """The posterior means and standard deviations above; ``tau2`` None: its REML estimate."""
    y, v = np.asarray(y, float), np.asarray(s, float) ** 2
    t2 = reml_tau2(y, np.sqrt(v)) if tau2 is None else float(tau2)
    w = 1.0 / (v + t2)
    mu = float(w @ y / w.sum())
    B = v / (v + t2) if t2 > 0 else np.ones_like(v)
    est = mu + (1.0 - B) * (y - mu)
    var = v * (1.0 - B) + B ** 2 / w.sum()
    return Shrunken(est, np.sqrt(var), t2, mu)
