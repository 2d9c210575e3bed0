"""The heteroscedasticity check of a streamed linear model, from its third-pass sums.

The statistics of ``inference.heteroscedasticity.check_linear``: Koenker's studentised
Breusch-Pagan LM = n R^2 of the squared residuals on treat, the moderator and their product
(R^2 = c' S^-1 c / TSS from the centred sums, as ``heteroscedasticity_large`` computes it), and the
HC3 / classical SE ratio of each interaction contrast (HC3 from the summed meat).
"""
from __future__ import annotations

import math

import numpy as np


def heteroscedasticity(ms, design, fit, acc):
    """The ``HeteroscedasticityCheck`` of one model (``acc``: its merged [meat, Moments of [Z, e^2]], h_max)."""
    from scipy import stats

    from ..inference.heteroscedasticity import HeteroscedasticityCheck
    meat, mom, h_max = acc
    q = mom.k - 1
    n = mom.n
    C = mom.comoment
    S, c, tss = C[:q, :q], C[:q, q], float(C[q, q])
    if not tss > 0:
        lm, df, pv = 0.0, q, 1.0
    else:
        # the rank of [1, Z]: that of its centred columns, scaled to unit length (numpy's tolerance)
        d = np.sqrt(np.diag(S))
        d[d == 0] = 1.0
        df = int(np.linalg.matrix_rank(S / np.outer(d, d), hermitian=True))
        ess = float(c @ np.linalg.lstsq(S, c, rcond=None)[0]) if q else 0.0
        lm = n * (ess / tss)
        pv = float(stats.chi2.sf(lm, df)) if df > 0 else math.nan
    ratio = math.nan
    if h_max <= 1.0 - 1e-10:
        hc3 = fit.hc3(meat)
        ratios = []
        for j in range(len(design.mod_names)):
            L = design.interaction_L(j)
            classical = float(L @ fit.vcov @ L)
            ratios.append(math.sqrt(float(L @ hc3 @ L) / classical) if classical > 0 else math.nan)
        finite = [r for r in ratios if np.isfinite(r)]
        ratio = max(finite) if finite else math.nan
    return HeteroscedasticityCheck(lm, df, pv, ratio)
