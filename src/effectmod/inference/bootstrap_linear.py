"""Bootstrap draws of every linear model of a run at once (``engines.shared_gram``).

Models fitted on the same participants (one follow-up's complete cases) are refitted together
from one product of the resample counts with their distinct columns; the replicates that the
shared normal equations cannot certify (ill-conditioned, or close to an exact fit) are refitted by
``fit_ols_batch`` as before, so every draw is the one a loop of single fits on the same resample
would give (to rounding).
"""
from __future__ import annotations

import numpy as np

from ..engines.ols import fit_ols_batch
from ..engines.shared_gram import fit_shared_rows
from ..models.fit import FittedModel


def linear_draws(models: list[FittedModel], counts: np.ndarray) -> dict[int, dict[tuple[str, str], np.ndarray]]:
    """position in ``models`` -> {(timepoint, term): (B,) interaction estimates} for the
    estimable linear models among ``models``."""
    groups: dict[bytes, list[int]] = {}
    for i, model in enumerate(models):
        if model.spec.kind == "linear" and model.fit is not None:
            groups.setdefault(model.design.rows.tobytes(), []).append(i)
    out: dict[int, dict[tuple[str, str], np.ndarray]] = {}
    for members in groups.values():
        rows = models[members[0]].design.rows
        W = counts[:, rows].astype(float)
        designs = []
        for i in members:
            d = models[i].design
            designs.append((d.X, d.y, [d.index(f"treat:{name}") for name in d.mod_names]))
        fits = fit_shared_rows(designs, W)
        for i, fit, (X, y, asked) in zip(members, fits, designs):
            coef = fit.coef
            redo = np.flatnonzero(fit.fallback)
            if redo.size:
                coef[redo] = fit_ols_batch(X, y, W[redo]).coef[:, asked]
            d = models[i].design
            timepoint = models[i].spec.timepoint
            assert timepoint is not None        # a linear model is fitted per follow-up
            out[i] = {(timepoint, term): coef[:, k] for k, term in enumerate(d.terms)}
    return out
