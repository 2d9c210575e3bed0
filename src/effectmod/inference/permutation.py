"""Freedman–Lane permutation test of each linear interaction (plan key ``analysis.permutations``).

Scheme, for the interaction column j of a linear model on its complete cases:

1. fit the reduced model (the full design without column j) and keep its fitted values and
   residuals;
2. for each of P permutations, permute those residuals *within treatment arm* (so each arm keeps
   its own residual spread, as the stratified bootstrap keeps its arm sizes) and add them back to
   the reduced fitted values;
3. refit the full model to each permuted response and take the t statistic of column j with the
   plan's variance (``se``: classical, or the HC3 sandwich, so that the permutation test keeps
   its size under heteroscedastic errors exactly where the HC3 t test does);
4. p = (1 + #{|t*| >= |t_observed|}) / (P + 1), two-sided, the observed response counted once.

The P refits share one design, so they are one call of the batched engine. The t statistic (not
the coefficient) is used because it is asymptotically pivotal, which is what makes Freedman–Lane
accurate when the other regressors matter (Anderson & Legendre 1999; Winkler et al. 2014).
Categorical moderators get a permutation p per level (each level's column is the tested one, the
other levels stay in the reduced model); the joint row's stays empty. Other model types
(logistic, mixed) and multiply imputed analyses get an empty p; each such row's note says why.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..engines.ols import OLSFit, fit_ols_batch
from ..models.fit import FittedModel
from ..models.multiarm import arm_codes
from ..records import PERMUTATION_JOINT, PERMUTATION_LINEAR_ONLY, PERMUTATION_NOT_WITH_IMPUTATION, ROW_KEY, Note, merge_on_key

LINEAR_ONLY = "permutation test: linear models only"
NOT_WITH_IMPUTATION = "permutation test: not available with multiple imputation"
JOINT = "permutation test: per level only, not for the joint test"
# the families added after the permutation test: the note names the model and what the test covers
NEWER_FAMILIES = {"cox": "Cox", "rmst": "RMST", "poisson": "Poisson", "negative_binomial": "negative binomial",
                  "ordinal": "ordinal (proportional odds)"}


def not_covered(kind: str) -> str:
    """The note of a row whose model the Freedman-Lane permutation test does not cover."""
    if kind not in NEWER_FAMILIES:
        return LINEAR_ONLY
    return (f"permutation test: not run for {NEWER_FAMILIES[kind]} models (the Freedman-Lane permutation test covers "
            "linear models only); no permutation P, use the model-based P")


def within_arm_permutations(treat: np.ndarray, permutations: int, rng: np.random.Generator) -> np.ndarray:
    """(P, n) index arrays; each row permutes positions within the arm of each position."""
    n = treat.size
    out = np.empty((permutations, n), dtype=np.intp)
    for arm in np.unique(treat):
        members = np.flatnonzero(treat == arm)
        # argsort of uniform keys gives P independent uniform permutations in one call
        order = np.argsort(rng.random((permutations, members.size)), axis=1)
        out[:, members] = members[order]
    return out


def freedman_lane_t(X: np.ndarray, y: np.ndarray, column: int, index: np.ndarray,
                    se: str = "classical") -> tuple[float, np.ndarray]:
    """Observed t of ``column`` and its (P,) permutation distribution for the index arrays.

    ``se`` is the plan's variance: ``classical`` or ``HC3`` (the t statistic of each refit then
    uses that refit's HC3 standard error, as ``fit_ols(..., se="HC3")`` would).
    """
    reduced = np.delete(X, column, axis=1)
    coef_r = fit_ols_batch(reduced, y).coef[0]
    fitted_r = reduced @ coef_r
    resid_r = y - fitted_r
    Y = np.empty((index.shape[0] + 1, y.size))
    Y[0] = y
    np.take(resid_r, index, out=Y[1:])      # the permuted residuals written in place (no stacked copy)
    Y[1:] += fitted_r
    batch = fit_ols_batch(X, Y, with_se=True, se=se)
    assert batch.std_error is not None      # with_se
    t = batch.coef[:, column] / batch.std_error[:, column]
    return float(t[0]), t[1:]


def permutation_p(t_observed: float, t_permuted: np.ndarray) -> float:
    """Two-sided permutation p, counting the observed statistic once (never 0)."""
    finite = t_permuted[np.isfinite(t_permuted)]
    if not np.isfinite(t_observed) or finite.size == 0:
        return float("nan")
    # a relative tolerance keeps ties (e.g. a permutation equal to the identity) counted
    hits = int((np.abs(finite) >= abs(t_observed) * (1 - 1e-12)).sum())
    return (1 + hits) / (finite.size + 1)


def model_permutation_p(model: FittedModel, permutations: int, rng: np.random.Generator,
                        se: str = "classical") -> dict[str, float]:
    """term -> permutation p for one fitted linear model (``se``: the plan's variance)."""
    return {term: p for (term, _), p in _model_p(model, permutations, rng, se).items()}


def _model_p(model: FittedModel, permutations: int, rng: np.random.Generator, se: str) -> dict[tuple[str, str], float]:
    """(term, comparison) -> permutation p; a multi-arm model permutes within each of its arms,
    one set of permutations for every comparison (comparison "" in a two-arm model)."""
    d = model.design
    index = within_arm_permutations(arm_codes(d), permutations, rng)
    out = {}
    for arm in (d.arms or (None,)):
        for term, name in zip(d.terms, d.mod_names):
            t_obs, t_perm = freedman_lane_t(d.X, d.y, d.index(f"{d.treat_name(arm)}:{name}"), index, se=se)
            out[(term, d.comparison(arm))] = permutation_p(t_obs, t_perm)
    return out


def permutation_frame(fitted: list[FittedModel], permutations: int, rng: np.random.Generator,
                      imputed: bool = False, progress=None) -> pd.DataFrame:
    """One row per results row of ``fitted`` (ROW_KEY first): ``p_permutation`` and ``notes``,
    the tuple of notes saying why a row gets no permutation p (other model types, joint tests,
    multiple imputation; () otherwise).

    Each model's statistic uses the variance that model was fitted with (its ``se_type``).
    Each model draws its permutations from its own child generator (``rng.spawn``), so a
    model's p does not depend on which other models the plan contains or on the order of work.
    """
    children = rng.spawn(len(fitted))
    out = []
    for i, (model, child) in enumerate(zip(fitted, children)):
        spec = model.spec
        values: dict[tuple[str, str], float] = {}
        reason: Note | None = None
        if imputed:
            reason = Note(PERMUTATION_NOT_WITH_IMPUTATION, NOT_WITH_IMPUTATION)
        elif spec.kind != "linear":
            reason = Note(PERMUTATION_LINEAR_ONLY, not_covered(spec.kind))
        elif isinstance(model.fit, OLSFit):         # a linear model's fit when it is estimable
            values = _model_p(model, permutations, child, model.fit.se_type)
        for r in model.rows:
            term = r["term"]
            # the model type's reason goes on the per-level rows; an estimable linear joint row gets JOINT
            note = reason if term != "joint" else None
            if reason is None and term == "joint" and model.fit is not None:
                note = Note(PERMUTATION_JOINT, JOINT)
            out.append({**{k: r.get(k, "") for k in ROW_KEY}, "p_permutation": values.get((term, r.get("comparison", "")), np.nan),
                        "notes": (note,) if note is not None else ()})
        if progress:
            progress(i + 1, len(fitted), "permutations")
    return pd.DataFrame(out, columns=[*ROW_KEY, "p_permutation", "notes"])


def permutation_column(table: pd.DataFrame, fitted: list[FittedModel], permutations: int,
                       rng: np.random.Generator, imputed: bool = False,
                       progress=None) -> tuple[np.ndarray, pd.Series]:
    """``p_permutation`` joined to the table rows by ROW_KEY (empty for rows of models not in
    ``fitted``), and the notes each row gains (tuples of ``Note``; see ``permutation_frame``)."""
    frame = permutation_frame(fitted, permutations, rng, imputed=imputed, progress=progress)
    joined = merge_on_key(table, frame, ["p_permutation", "notes"], fill={"p_permutation": np.nan, "notes": ()})
    return joined["p_permutation"].to_numpy(dtype=float), joined["notes"]
