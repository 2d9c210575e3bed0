"""Each model refitted on the m completed datasets and pooled by Rubin's rules (pooling.py), with
the complete-data df of each model family (see inference/imputation.py) and the fits' notes counted
over the datasets: one note record per distinct (code, text), never split or merged as text."""
from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..data.trial import TrialData
from ..engines.base import WaldTest
from ..engines.errors import PerfectFit, RankDeficient
from ..engines.ols import fit_ols_full_batch
from ..models.fit import (
    FittedModel,
    NotEstimable,
    base_summary,
    build_design,
    empty_rows,
    estimability_problem,
    interaction_rows,
    not_estimable,
    run_engine,
)
from ..models.multiarm import ALL_ARMS, interaction_Ls
from ..models.spec import ModelSpec
from ..plan.schema import Plan
from ..records import Note
from .imputed_data import ITERATIONS
from .pooling import PooledFit, pool


# ----------------------------------------------------------------------------- fitting and pooling
@dataclass(frozen=True)
class PooledMixedFit(PooledFit):
    """A pooled mixed model: the complete-data df of each contrast is the mean over the m fits
    of its Satterthwaite df (``df_complete`` holds that of the first interaction contrast)."""

    fits: tuple = ()

    @cached_property
    def _stacked(self):
        return (np.stack([f.vcov for f in self.fits]), np.stack([f.jac_vcov for f in self.fits]),
                np.stack([f.vcov_varpar for f in self.fits]))

    def satterthwaite_dfs(self, L) -> np.ndarray:
        """Each fit's Satterthwaite df of L'b (``MixedFit.satterthwaite_df``, all fits at once:
        conditional effects and Johnson-Neyman ask for many contrasts)."""
        c = np.asarray(L, dtype=float).ravel()
        V, J, A = self._stacked
        var = np.einsum("i,mij,j->m", c, V, c)
        grad = np.einsum("i,mkij,j->mk", c, J, c)
        denom = np.einsum("mk,mkl,ml->m", grad, A, grad)
        with np.errstate(divide="ignore"):
            return np.where(denom > 0, 2.0 * var * var / denom, math.inf)

    def contrast(self, L):
        df = float(np.mean(self.satterthwaite_dfs(L)))
        return PooledFit.contrast(dataclasses.replace(self, df_complete=df), L)

    def wald(self, L) -> WaldTest:
        df = float(np.mean([f.wald(L).df_den for f in self.fits]))
        return PooledFit.wald(dataclasses.replace(self, df_complete=df), L)


@dataclass(frozen=True)
class PooledImputedFit(PooledFit):
    """A pooled count or ordinal model that keeps each completed dataset's fit and design, so that
    the standardised scales (rate differences, category probabilities) can be computed in each
    completed dataset and pooled by Rubin's rules (``inference.imputed_effects``)."""

    fits: tuple = ()
    designs: tuple = ()


@dataclass(frozen=True)
class _StackedOLS:
    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]


def _fit_all_survival(spec: ModelSpec, designs, completed):
    """Per-imputation Cox or RMST fits (models/survival_fit.py), Wald z (df infinite)."""
    from ..models.survival_fit import survival_engine
    fits: list = []
    notes: Counter[Note] = Counter()
    for d, c in zip(designs, completed):
        fit, _, fit_notes, problem = survival_engine(spec, d, c, None)
        if problem is not None or fit is None:
            raise NotEstimable(problem or "not estimable")
        fits.append(fit)
        notes.update(n for n in fit_notes if n.code != "proportional_hazards")   # differs in every dataset
    return fits, math.inf, notes


def _fit_all(spec: ModelSpec, designs, plan: Plan, completed=None):
    """Per-imputation fits of one spec, their complete-data df and notes (counted)."""
    if spec.kind == "linear":
        X = np.stack([d.X for d in designs]) if len({d.X.shape for d in designs}) == 1 else None
        if X is not None:
            try:
                coef, vcov, df = fit_ols_full_batch(X, np.stack([d.y for d in designs]), plan.analysis.se)
                return [_StackedOLS(coef[i], vcov[i], designs[0].names) for i in range(len(designs))], df, Counter()
            except (RankDeficient, PerfectFit):
                pass  # refitted one by one below, which names the collinear columns (or exact fit)
    fits: list = []
    notes: Counter[Note] = Counter()
    if spec.kind in ("cox", "rmst"):
        return _fit_all_survival(spec, designs, completed)
    for d in designs:
        fit, _, fit_notes = run_engine(spec, d, plan)
        fits.append(fit)
        notes.update(fit_notes)                   # each distinct note (code and text) counted
    df = fits[0].df_resid if spec.kind == "linear" else math.inf
    return fits, df, notes


def _pooled_model(spec: ModelSpec, completed: list[TrialData], plan: Plan, n_randomised: int,
                  method: str | None = None) -> FittedModel:
    designs = [build_design(spec, c, plan) for c in completed]
    design = designs[0]
    problems = [p for p in (estimability_problem(spec, d, c) for d, c in zip(designs, completed)) if p]
    m = len(completed)
    summary = {**base_summary(spec, design), "imputations": m, "imputation_method": method or plan.analysis.imputation_method,
               "imputation_iterations": ITERATIONS}
    problem = f"{problems[0]} (in {len(problems)} of {m} completed datasets)" if problems else None
    if problem is None:
        try:
            fits, df, notes = _fit_all(spec, designs, plan, completed)
        except RankDeficient as exc:
            problem = "design columns are collinear in a completed dataset (" + ", ".join(exc.columns) + ")"
        except NotEstimable as exc:
            problem = f"{exc} (in a completed dataset)"
    if problem is not None:
        notes = not_estimable(problem)
        return FittedModel(spec, design, None, rows=empty_rows(spec, design, notes), summary=summary, notes=notes)
    fit: PooledFit
    if spec.kind == "mixed":
        base = pool(fits, math.inf)
        fit = PooledMixedFit(**{f.name: getattr(base, f.name) for f in dataclasses.fields(PooledFit)}, fits=tuple(fits))
        summary["df_complete"] = "mean Satterthwaite df of each contrast over the imputations"
    else:
        fit = pool(fits, df)
        summary["df_complete"] = df if math.isfinite(df) else "infinite (Wald z): Rubin's df"
    if spec.kind in ("poisson", "negative_binomial", "ordinal"):
        # each dataset's fit and design kept for the rate and category-probability scales
        fit = PooledImputedFit(**{f.name: getattr(fit, f.name) for f in dataclasses.fields(PooledFit)},
                               fits=tuple(fits), designs=tuple(designs))
    counted = tuple(Note(n.code, f"{n.text} (in {k} of {m} completed datasets)") for n, k in notes.items())
    rows = interaction_rows(spec, design, fit, plan)
    timepoints = design.timepoints
    at = {(r["timepoint"], r["term"], r.get("comparison", "")): r for r in rows}
    for t in timepoints:
        # multi-arm: each comparison's joint row, and the all-arms row over every arm's contrasts
        joints = [(design.comparison(a), [design.interaction_L(j, t, a) for j in range(len(design.terms))])
                  for a in (design.arms or (None,))]
        if design.arms:
            joints.append((ALL_ARMS, interaction_Ls(design, t)))
        for comparison, Ls in joints:
            if (t, "joint", comparison) not in at:
                continue
            # the joint row's riv is D1's average relative increase in variance over its k contrasts
            L = np.vstack(Ls)
            u, b = L @ fit.within @ L.T, L @ fit.between @ L.T
            at[(t, "joint", comparison)].update(fmi=math.nan, riv=float((1 + 1 / m) * np.trace(np.linalg.solve(u, b)) / len(Ls)))
    for r in rows:
        r["n"] = n_randomised
        r["note"] = counted
    return FittedModel(spec, design, fit, rows, summary, counted)
