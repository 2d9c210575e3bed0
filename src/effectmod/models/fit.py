"""Fit one ModelSpec: build its design, run its engine, return its result rows.

A model that cannot be estimated still returns its rows, with empty numbers and the reason.
Notes are structured (``records.Note``: a code and a text); each row's ``note`` holds the tuple
of its notes until the analysis renders the results table's ``note`` column from them.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.trial import TrialData
from ..errors import ConvergenceWarning
from ..plan.schema import Plan
from ..records import (
    HETEROSCEDASTICITY,
    LOGISTIC_ENGINE,
    NOT_ESTIMABLE,
    REML_MESSAGE,
    REML_NOT_CONVERGED,
    SEPARATION_FIRTH,
    SEPARATION_KEPT,
    SPARSE_CELL,
    Note,
    render_notes,
)
from .design import Design, attach_clusters, mixed_design
from .errors import NotEstimable
from .multiarm import arm_codes, arms_problem, interaction_Ls, level_problem, multiarm_empty_rows, multiarm_rows
from .spec import ModelSpec

if TYPE_CHECKING:
    from ..engines.base import Fit


@dataclass
class FittedModel:
    spec: ModelSpec
    design: Design
    fit: Fit | None                        # an engine's Fit record, None when not estimable
    rows: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    notes: tuple[Note, ...] = ()           # the model's notes (every row of it carries them)

    @property
    def note(self) -> str:
        """The notes as results.csv prints them."""
        return render_notes(self.notes)


def not_estimable(reason: str) -> tuple[Note, ...]:
    return (Note(NOT_ESTIMABLE, reason),)


def build_design(spec: ModelSpec, trial: TrialData, plan: Plan) -> Design:
    adjust = plan.analysis.adjust_for_baseline
    if spec.kind in ("cox", "rmst"):
        from .survival_design import survival_design
        return survival_design(spec, trial)
    if spec.kind == "mixed":
        return attach_clusters(mixed_design(trial, spec.outcome, spec.moderator, adjust), trial)
    assert spec.timepoint is not None, "a single-timepoint model names its follow-up"
    # X gathered on demand for very many rows
    from .design_lazy import single_design as gathered_or_stacked
    return attach_clusters(gathered_or_stacked(trial, spec.outcome, spec.moderator, spec.timepoint, adjust), trial)


def estimability_problem(spec: ModelSpec, design: Design, trial: TrialData) -> str | None:
    """Why a model cannot be estimated, checked before fitting (named checks, in words)."""
    m = trial.moderators[spec.moderator]
    from .estimable_head import head_proves_estimable
    if head_proves_estimable(design, m):     # the first rows already vary: no full-length pass
        return None
    o = trial.outcomes[spec.outcome]
    where = f"at follow-up {spec.timepoint}" if spec.timepoint else "over the follow-ups"
    if design.X.shape[0] == 0:
        return f"no participant has the outcome, moderator and covariates observed {where}"
    if design.X.shape[0] <= design.X.shape[1]:
        return f"{design.n} participants for {design.X.shape[1]} coefficients {where}"
    if design.arms:
        problem = arms_problem(design, where)
        if problem:
            return problem
    t = arm_codes(design)
    if np.all(t == t[0]):
        return f"only one arm has observations {where}"
    mod = design.X[:, [design.index(nm) for nm in design.mod_names]]
    if m.type == "continuous":
        if np.ptp(mod[:, 0]) == 0:
            value = mod[0, 0] + (design.mod_centre[0] if design.mod_centre else 0.0)
            return f"moderator '{m.source}' takes a single value ({value:g}) among the analysed participants {where}"
    else:
        if len(m.levels) < 2:
            return f"moderator '{m.source}' has a single observed level ({', '.join(map(repr, m.levels))})"
        if m.type == "categorical":
            codes = mod.argmax(axis=1) + 1
            codes[mod.sum(axis=1) == 0] = 0
        else:
            codes = mod[:, 0].astype(int)
        for k, level in enumerate(m.levels):
            in_level = codes == k
            if not in_level.any():
                return f"moderator '{m.source}' level {level!r} is not observed among the analysed participants {where}"
            if design.arms and (problem := level_problem(design, t, in_level, m.source, level, where)):
                return problem
            if np.ptp(t[in_level]) == 0:
                return f"moderator '{m.source}' level {level!r} occurs in one arm only {where}; its interaction is not estimable"
    if np.ptp(design.y) == 0:
        what = "every analysed participant has the same outcome value" if o.type != "binary" else "the outcome has no events or only events"
        return f"{what} ({design.y[0]:g}) {where}"
    return None


def fit_model(spec: ModelSpec, trial: TrialData, plan: Plan, design: Design | None = None) -> FittedModel:
    from .design_lazy import materialised
    design = design if design is not None else build_design(spec, trial, plan)
    # a design that gathers X on demand gathers it once for the fit and its checks, then lets it go
    with materialised(design):
        return _fit_model(spec, trial, plan, design)


def _fit_model(spec: ModelSpec, trial: TrialData, plan: Plan, design: Design | None = None) -> FittedModel:
    from ..engines.errors import RankDeficient  # here, not above: `effectmod validate` loads no scipy
    design = design if design is not None else build_design(spec, trial, plan)
    problem = estimability_problem(spec, design, trial)
    if spec.kind in ("cox", "rmst"):
        from .survival_fit import survival_engine
        fit, summary, notes, problem = survival_engine(spec, design, trial, problem, robust=plan.analysis.se == "CR2")
    elif problem is None:
        try:
            fit, summary, notes = run_engine(spec, design, plan)
            if spec.kind == "logistic":
                cells = _sparse_cell_notes(spec, design, trial)
                summary["sparse_cells"] = cells
                notes = (*notes, *(Note(SPARSE_CELL, c) for c in cells))
            if spec.kind == "linear" and plan.analysis.se == "classical":
                notes = _heteroscedasticity(design, fit, summary, notes, plan)
            if spec.kind in ("poisson", "ordinal"):
                from .fit_counts import model_checks
                notes = model_checks(spec, design, fit, summary, notes)
        except RankDeficient as exc:
            involved = ", ".join(_plain(c) for c in exc.columns)
            # blame the moderator only when one of its columns is among the dependent ones
            blame = ("; the moderator is fully determined by other terms"
                     if any(c.startswith(("mod", "treat:mod")) or "'mod" in c or "'treat:mod" in c
                            or (c.startswith("treat[") and "]:mod" in c) for c in exc.columns)
                     else "")
            problem = f"design columns are collinear ({involved}){blame}"
        except NotEstimable as exc:
            problem = str(exc)
    if problem is not None:
        notes = not_estimable(problem)
        return FittedModel(spec, design, None, rows=empty_rows(spec, design, notes), summary=base_summary(spec, design),
                           notes=notes)
    rows = interaction_rows(spec, design, fit, plan)
    # multi-arm Cox: notes that belong to one comparison's rows (its proportional-hazards test)
    by_comparison = summary.pop("comparison_notes", None) if isinstance(summary, dict) else None
    for r in rows:
        r["note"] = by_comparison.get(r.get("comparison"), notes) if by_comparison else notes
    summary = {**base_summary(spec, design), **summary}
    return FittedModel(spec, design, fit, rows, summary, notes)


def _heteroscedasticity(design: Design, fit, summary: dict, notes: tuple[Note, ...], plan: Plan) -> tuple[Note, ...]:
    """Breusch-Pagan and the HC3/classical SE ratio into the summary; the row note when flagged."""
    from ..inference.heteroscedasticity import check_linear

    Ls = interaction_Ls(design, None) if design.arms else [design.interaction_L(j) for j in range(len(design.mod_names))]
    check = check_linear(design.X, design.y, fit.coef, design.names, Ls, getattr(fit, "blocks", None))
    summary.update(heteroscedasticity_p=check.p_value, heteroscedasticity_statistic=check.statistic,
                   heteroscedasticity_df=check.df, se_ratio_hc3=check.se_ratio_hc3,
                   heteroscedasticity_flagged=check.flagged)
    if not check.flagged:
        return notes
    return (*notes, Note(HETEROSCEDASTICITY, check.note()))


def _sparse_cell_notes(spec: ModelSpec, design: Design, trial: TrialData) -> list[str]:
    """Arm x level cells of a binary/categorical moderator with no events or only events."""
    from ..engines.logistic import sparse_cells

    m = trial.moderators[spec.moderator]
    if m.type == "continuous":
        return []
    arms = trial.flow.arm_values
    codes = m.values[design.rows]
    if design.arms:
        arm = arm_codes(design)
        levels = np.array([m.levels[int(c)] for c in codes], dtype=object)
        found = []
        for k, label in enumerate(design.arms, start=1):
            keep = (arm == 0) | (arm == k)
            found += [c for c in sparse_cells(design.y[keep], (arm[keep] == k).astype(float), levels[keep], moderator=m.source,
                                              treated=label, control=design.control) if c not in found]
        return found
    return sparse_cells(design.y, design.X[:, design.index("treat")], np.array([m.levels[int(c)] for c in codes], dtype=object),
                        moderator=m.source, treated=arms.get("treated", "treated"), control=arms.get("control", "control"))


def _plain(name: str) -> str:
    """Design column names in the words of the plan."""
    if name.startswith("cov[") and name.endswith("]"):
        return f"covariate '{name[4:-1]}'"
    if name.startswith("mod[") and name.endswith("]"):
        return f"moderator level '{name[4:-1]}'"
    return {"treat": "treatment", "mod": "moderator", "baseline": "outcome baseline",
            "(Intercept)": "intercept"}.get(name, name)


# (the engine's record - OLSFit, LogisticFit or MixedFit, each a ``Fit`` -, summary numbers, notes)
EngineResult = tuple[Any, dict[str, Any], tuple[Note, ...]]


def run_engine(spec: ModelSpec, design: Design, plan: Plan) -> EngineResult:
    """(fit, summary numbers, notes) of one design.

    The engines' typed errors (``engines.errors``) are mapped here, never their messages:
    ``RankDeficient`` is raised as it is (``fit_model`` names the collinear columns);
    ``PerfectFit`` and ``NotConverged`` become ``NotEstimable`` with the row's reason in words;
    ``Separated`` is asked for only by ``binary_method: firth_if_separated`` and answered with a
    Firth refit. A mixed model the engine cannot fit for any other reason is ``NotEstimable`` too.
    """
    from ..engines.errors import NotConverged, PerfectFit
    try:
        if spec.kind == "linear":
            return _run_linear(design, plan)
        if spec.kind == "logistic":
            return _run_logistic(spec, design, plan)
        if spec.kind == "mixed":
            return _run_mixed(spec, design)
        if spec.kind in ("poisson", "negative_binomial", "ordinal"):
            from .fit_counts import run_count_or_ordinal
            return run_count_or_ordinal(spec, design, plan)
    except PerfectFit as exc:
        terms = ", ".join(_plain(t) for t in exc.terms) or "the model's terms"
        raise NotEstimable(f"the outcome is fitted exactly by {terms} (residual sum of squares ~0); "
                           "nothing to test") from None
    except NotConverged as exc:
        # the engine's own findings on the failed fit, in brackets after the reason
        raise NotEstimable(exc.reason + (" (" + render_notes(Note(LOGISTIC_ENGINE, n) for n in exc.notes) + ")"
                                         if exc.notes else "")) from None
    raise ValueError(f"unknown model kind {spec.kind!r}")


def _run_linear(design: Design, plan: Plan) -> EngineResult:
    if plan.analysis.se == "CR2" and design.clusters is not None:
        from .clustered import run_linear_cr2
        return run_linear_cr2(design)
    from ..engines.ols import fit_ols
    fit = fit_ols(design.X, design.y, design.names, se=plan.analysis.se)
    return fit, {"df_resid": fit.df_resid, "sigma": math.sqrt(fit.sigma2), "r_squared": fit.r_squared,
                 "se": plan.analysis.se}, ()


def _run_logistic(spec: ModelSpec, design: Design, plan: Plan) -> EngineResult:
    """ML, Firth, or ML refitted with Firth under separation (``binary_method``). An ML fit under
    separation is kept with a note; a fit that did not converge otherwise raises NotConverged
    (from the engine), except Firth's refit after separation, kept with a warning."""
    from ..engines.errors import Separated
    from ..engines.logistic import fit_logistic
    method = plan.analysis.binary_method
    if method == "firth_if_separated":
        try:
            fit = fit_logistic(design.X, design.y, method="ml", names=design.names, finite=True)
            notes = [Note(LOGISTIC_ENGINE, n) for n in fit.notes]
        except Separated:
            fit = fit_logistic(design.X, design.y, method="firth", names=design.names, allow_unconverged=True)
            notes = [Note(SEPARATION_FIRTH,
                          "separation: refitted with Firth's penalised likelihood (binary_method: firth_if_separated)"),
                     *(Note(LOGISTIC_ENGINE, n) for n in fit.notes)]
    else:
        fit = fit_logistic(design.X, design.y, method="firth" if method == "firth" else "ml", names=design.names)
        notes = [Note(LOGISTIC_ENGINE, n) for n in fit.notes]
    if fit.diverged:
        # kept, as R's glm reports it: the Wald p of a diverging estimate is near 1, so the
        # row cannot claim evidence; the note says why its numbers must not be read
        notes.insert(0, Note(SEPARATION_KEPT, "separation: estimate unreliable; consider binary_method: firth"))
    if not fit.converged:
        warnings.warn(f"{spec.outcome} at {spec.timepoint} x {spec.moderator}: the {fit.method} logistic fit did not converge",
                      ConvergenceWarning, stacklevel=2)
    summary = {"method": fit.method, "events": fit.n_events, "converged": fit.converged, "separation": fit.separation}
    if plan.analysis.se == "CR2" and design.clusters is not None:
        from .clustered import logistic_cr0
        fit, extra = logistic_cr0(fit, design)
        summary.update(extra)
    return fit, summary, tuple(notes)


def _run_mixed(spec: ModelSpec, design: Design) -> EngineResult:
    from ..engines.errors import EngineError, PerfectFit, RankDeficient
    from ..engines.mixed import fit_random_intercept
    assert design.groups is not None, "a mixed design has participant groups"
    if design.clusters is not None:
        from .clustered import run_mixed_clusters
        try:
            return run_mixed_clusters(spec, design)
        except (RankDeficient, PerfectFit):
            raise
        except (np.linalg.LinAlgError, EngineError, ValueError) as exc:
            raise NotEstimable(f"mixed model with random intercepts per cluster and participant could not be fitted: {exc}") from None
    try:
        fit = fit_random_intercept(design.y, design.X, design.groups, names=design.names)
    except (RankDeficient, PerfectFit):
        raise
    except (np.linalg.LinAlgError, EngineError) as exc:
        raise NotEstimable(f"mixed model could not be fitted: {exc}") from None
    notes: tuple[Note, ...] = ()
    if not fit.converged:
        notes = (Note(REML_NOT_CONVERGED, f"REML did not converge: {fit.message}"),)
        warnings.warn(f"{spec.outcome} x {spec.moderator}: {notes[0].text}", ConvergenceWarning, stacklevel=2)
    elif fit.message:
        notes = (Note(REML_MESSAGE, fit.message),)
    return fit, {"n_obs": fit.n_obs, "n_participants": fit.n_groups, "sigma2_participant": fit.sigma2_subject,
                 "sigma2_residual": fit.sigma2_residual, "icc": fit.icc, "converged": fit.converged,
                 "reml_deviance": fit.reml_deviance}, notes


def base_summary(spec: ModelSpec, design: Design) -> dict:
    out = {"model": spec.kind, "outcome": spec.outcome, "timepoint": spec.timepoint, "moderator": spec.moderator,
           "n": design.n, "n_obs": int(design.X.shape[0]), "terms": list(design.names),
           "excluded": [{"reason": r, "participants": c} for r, c in design.excluded.items()]}
    if design.clusters is not None:
        out["clusters"] = int(np.unique(design.clusters).size)
    return out


def _row(spec, timepoint, term, n, **numbers) -> dict:
    row = {"outcome": spec.outcome, "timepoint": timepoint, "moderator": spec.moderator, "term": term,
           "model": spec.kind, "estimate": math.nan, "std_error": math.nan, "ci_low": math.nan,
           "ci_high": math.nan, "p_value": math.nan, "p_adjusted": math.nan, "n": n, "tier": "", "comparison": "",
           "df": math.nan}
    row.update(numbers)
    return row


def empty_rows(spec: ModelSpec, design: Design, note: tuple[Note, ...]) -> list[dict]:
    if design.arms:
        return multiarm_empty_rows(spec, design, note, _row)
    rows = []
    categorical = len(design.terms) > 1 or design.terms[0] != ""
    timepoints = design.timepoints
    for t in timepoints:
        for term in design.terms:
            rows.append(_row(spec, t, term, design.n, note=note))
        if categorical:
            rows.append(_row(spec, t, "joint", design.n, note=note))
    return rows


def interaction_rows(spec: ModelSpec, design: Design, fit, plan: Plan) -> list[dict]:
    level = plan.analysis.ci_level
    if design.arms:
        return multiarm_rows(spec, design, fit, level, _row)
    rows = []
    categorical = design.terms != ("",)
    for t in design.timepoints:
        Ls = []
        for j, term in enumerate(design.terms):
            L = design.interaction_L(j, t)
            Ls.append(L)
            c = fit.contrast(L)
            lo, hi = c.ci(level)
            # pooled (imputed) contrasts carry their fraction of missing information and riv too
            extra = {k: getattr(c, k) for k in ("fmi", "riv") if hasattr(c, k)}
            rows.append(_row(spec, t, term, design.n, estimate=c.estimate, std_error=c.std_error,
                             ci_low=lo, ci_high=hi, p_value=c.p_value, df=c.df, **extra))
        if categorical:
            w = fit.wald(np.vstack(Ls))
            rows.append(_row(spec, t, "joint", design.n, p_value=w.p_value, df=w.df_den,
                             statistic=w.statistic, df_num=w.df_num))
    return rows
