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


def draw_key(timepoint, term: str, comparison: str) -> tuple:
    """A draw's key: (timepoint, term), and the comparison in a multi-arm model."""
    return (timepoint, term, comparison) if comparison else (timepoint, term)


def comparison_targets(d) -> list[tuple[str | None, str]]:
    """(treated arm, comparison) of each comparison: (None, \"\") in a two-arm design."""
    return [(a, d.comparison(a)) for a in d.arms] if d.arms else [(None, "")]


def linear_draws(models: list[FittedModel], counts: np.ndarray) -> dict[int, dict[tuple, np.ndarray]]:
    """position in ``models`` -> {(timepoint, term): (B,) interaction estimates} for the
    estimable linear models among ``models`` (multi-arm: {(timepoint, term, comparison): ...},
    one entry per comparison, as ``draw_key`` names them)."""
    groups: dict[bytes, list[int]] = {}
    for i, model in enumerate(models):
        if model.spec.kind == "linear" and model.fit is not None:
            groups.setdefault(model.design.rows.tobytes(), []).append(i)
    out: dict[int, dict[tuple, np.ndarray]] = {}
    for members in groups.values():
        rows = models[members[0]].design.rows
        W = counts[:, rows].astype(float)
        designs = []
        for i in members:
            d = models[i].design
            designs.append((d.X, d.y, [d.index(f"{d.treat_name(arm)}:{name}") for arm, _ in comparison_targets(d) for name in d.mod_names]))
        fits = fit_shared_rows(designs, W)
        for i, fit, (X, y, asked) in zip(members, fits, designs):
            coef = fit.coef
            redo = np.flatnonzero(fit.fallback)
            if redo.size:
                coef[redo] = fit_ols_batch(X, y, W[redo]).coef[:, asked]
            d = models[i].design
            timepoint = models[i].spec.timepoint
            assert timepoint is not None        # a linear model is fitted per follow-up
            keys = [draw_key(timepoint, term, cmp) for _, cmp in comparison_targets(d) for term in d.terms]
            out[i] = {key: coef[:, k] for k, key in enumerate(keys)}
    return out
