"""Multiple imputation in the analysis pipeline: impute, refit every model, pool (Rubin).

Every outcome follow-up, outcome baseline, moderator and covariate of the trial enters one
chained-equations model, run separately within each arm (``effectmod.data.impute``), so that
each variable is imputed from all the others and every treatment interaction is kept. A
responder outcome derived from a continuous one is derived again on each completed dataset
(passive imputation), so that it always agrees with its source. Continuous variables keep to
the outcome's declared range; moderators, covariates and baselines without one keep to their
observed range; whole-number scales stay whole numbers.

Each model of the complete-case run is then refitted on each of the m completed datasets and
pooled by Rubin's rules with Barnard–Rubin degrees of freedom. The complete-data df is

* linear: the residual df n - p (as ``mice::pool`` takes it from ``lm``);
* logistic: infinite (a Wald z model), which gives Rubin's (1987) df;
* mixed: per contrast, the mean over the m fits of that contrast's Satterthwaite df (and for a
  joint test, the mean of the fits' F denominator df): the df a complete-data analysis would
  have used, averaged because it varies a little between completed datasets.

Linear models of one spec share their structure across the m datasets and are fitted at
once, stacked (one batched QR); logistic and mixed models are fitted one dataset at a time.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ..data.impute import ImputationVariable, impute, missing_patterns, missingness_summary
from ..data.prepare import derive_followups
from ..data.trial import TrialData
from ..data.values import keys_of, sort_levels
from ..engines.base import WaldTest
from ..engines.errors import PerfectFit, RankDeficient
from ..engines.ols import fit_ols_full_batch
from ..errors import PlanError
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
from ..models.spec import ModelSpec
from ..plan.schema import Plan, parse_rule
from ..records import IMPUTATION_SENSITIVITY, ROW_KEY, Note, as_notes
from .pooling import PooledFit, pool

ITERATIONS = 10  # chained-equation sweeps per imputation (mice's default is 5; more is safer)
KEY_COLUMNS = ROW_KEY


# ----------------------------------------------------------------------------- the imputation frame
@dataclass(frozen=True)
class ImputationFrame:
    """One row per participant: the columns imputed together, and what each one is.

    ``roles`` maps a frame column to ``(role, name, timepoint)`` with role one of outcome,
    baseline, moderator, covariate; ``sources`` maps it to the data column it came from.
    A moderator that is an outcome's baseline is one column, used for both.
    """

    frame: pd.DataFrame
    variables: tuple[ImputationVariable, ...]
    roles: dict
    sources: dict
    baseline_of: dict      # outcome -> frame column of its baseline
    moderator_of: dict     # moderator -> frame column
    covariate_of: dict     # covariate source -> (frame column, design column indices)


def _continuous(name: str, x: np.ndarray, bounds=None) -> ImputationVariable:
    obs = x[~np.isnan(x)]
    whole = bool(obs.size) and bool(np.all(obs == np.round(obs)))
    lo, hi = (None, None) if bounds is None else (float(bounds[0]), float(bounds[1]))
    return ImputationVariable(name, "continuous", lo, hi, whole)


def _observed_range(x: np.ndarray):
    obs = x[~np.isnan(x)]
    return (obs.min(), obs.max()) if obs.size else None


def _numeric_variable(name: str, x: np.ndarray) -> ImputationVariable:
    """A baseline characteristic: binary when its values are 0/1, else continuous within its
    observed range (no range is declared for it, and norm draws must not give a negative age)."""
    obs = x[~np.isnan(x)]
    if obs.size and np.isin(obs, (0.0, 1.0)).all():
        return ImputationVariable(name, "binary")
    return _continuous(name, x, _observed_range(x))


def imputation_frame(trial: TrialData, plan: Plan) -> ImputationFrame:
    """Build the frame and variable list that ``impute`` takes from a prepared trial."""
    derived = {o.name for o in plan.outcomes if o.derive is not None}
    cols, variables, roles, sources = {}, [], {}, {}
    baseline_of, moderator_of, covariate_of = {}, {}, {}
    by_source: dict[str, str] = {}

    def add(key, values, var, role, source):
        cols[key] = np.asarray(values, dtype=float)
        variables.append(var)
        roles[key] = role
        sources[key] = source
        by_source[source] = key

    for name, m in trial.moderators.items():
        key = f"moderator:{name}"
        if m.type == "continuous":
            var = _continuous(key, m.values, _observed_range(m.values))
        else:
            var = ImputationVariable(key, "binary" if m.type == "binary" else "categorical")
        add(key, m.values, var, ("moderator", name, None), m.source)
        moderator_of[name] = key
    for name, o in trial.outcomes.items():
        if name in derived:
            continue
        if o.baseline is not None:
            shared = next((moderator_of[mn] for mn in trial.moderators if trial.moderator_is_baseline(name, mn)), None)
            shared = shared or by_source.get(o.baseline_source)
            if shared is not None:
                baseline_of[name] = shared
            else:
                key = f"baseline:{name}"
                var = (_numeric_variable(key, o.baseline) if o.type == "binary"
                       else _continuous(key, o.baseline, o.range or _observed_range(o.baseline)))
                add(key, o.baseline, var, ("baseline", name, None), _baseline_label(plan, name, o.baseline_source))
                baseline_of[name] = key
        for t, y in o.followups.items():
            key = f"outcome:{name}:{t}"
            var = ImputationVariable(key, "binary") if o.type == "binary" else _continuous(key, y, o.range)
            add(key, y, var, ("outcome", name, t), _followup_column(plan, name, t))
    cov = trial.covariates
    for source in dict.fromkeys(cov.sources):
        idx = [j for j, s in enumerate(cov.sources) if s == source]
        key = f"covariate:{source}"
        if source in by_source:  # the same column as an outcome baseline: imputed once
            covariate_of[source] = (by_source[source], idx)
            continue
        if len(idx) == 1:
            x = cov.matrix[:, idx[0]]
            var = _numeric_variable(key, x)
        else:
            # dummies of one categorical covariate are imputed together, as one set of codes
            d = cov.matrix[:, idx]
            x = (d * np.arange(1, len(idx) + 1)).sum(axis=1)
            x[np.isnan(d).any(axis=1)] = np.nan
            var = ImputationVariable(key, "categorical")
        add(key, x, var, ("covariate", source, None), source)
        covariate_of[source] = (key, idx)
    frame = pd.DataFrame(cols)
    # a variable never observed in one arm cannot be imputed within it; it stays as observed
    keep = [v for v in variables if all((~np.isnan(cols[v.name][trial.treat == a])).any() for a in (0, 1))]
    return ImputationFrame(frame, tuple(keep), roles, sources, baseline_of, moderator_of, covariate_of)


def _baseline_label(plan: Plan, outcome: str, source: str) -> str:
    o = next(o for o in plan.outcomes if o.name == outcome)
    return f"{o.column} at {plan.data.time} {o.baseline}" if plan.data.time is not None else source


def _followup_column(plan: Plan, outcome: str, t: str) -> str:
    o = next(o for o in plan.outcomes if o.name == outcome)
    if plan.data.time is not None:
        return f"{o.column} at {plan.data.time} {t}"
    return (o.followups or {}).get(t, f"{outcome} at {t}")


# ----------------------------------------------------------------------------- completed trials
def completed_trials(trial: TrialData, plan: Plan, rng: np.random.Generator,
                     diagnostics: dict | None = None, method: str | None = None) -> list[TrialData]:
    """The m completed datasets of a run, as TrialData (same participants, nothing missing).

    Consumes ``rng`` exactly as ``analyze_imputed`` does: with a fresh
    ``numpy.random.default_rng(plan.analysis.seed)`` it returns the run's datasets.
    ``diagnostics`` (a dict) receives ``impute``'s out-of-range counts per frame column;
    ``method`` overrides the plan's ``imputation_method``.
    """
    m = plan.analysis.imputations
    if m < 2:
        raise PlanError([f"analysis.imputations: Rubin's rules need at least 2 imputations; got {m} "
                         "(use 0 for complete cases, or 20 or more)"])
    imp = imputation_frame(trial, plan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        frames = impute(imp.frame, imp.variables, trial.treat.astype(int), m, rng,
                        iterations=ITERATIONS, continuous=method or plan.analysis.imputation_method,
                        diagnostics=diagnostics)
    return [_completed(trial, plan, imp, f) for f in frames]


def _completed(trial: TrialData, plan: Plan, imp: ImputationFrame, f: pd.DataFrame) -> TrialData:
    col = {k: f[k].to_numpy(dtype=float) for k in f.columns}
    moderators = {n: dataclasses.replace(m, values=col[imp.moderator_of[n]]) for n, m in trial.moderators.items()}
    outcomes = {}
    for name, o in trial.outcomes.items():
        outcomes[name] = dataclasses.replace(
            o, baseline=col[imp.baseline_of[name]] if name in imp.baseline_of else o.baseline,
            followups={t: col.get(f"outcome:{name}:{t}", y) for t, y in o.followups.items()})
    for po in plan.outcomes:
        if po.derive is not None and po.derive.from_ in outcomes:
            src = outcomes[po.derive.from_]
            quantity, op, threshold = parse_rule(po.derive.rule)
            outcomes[po.name] = dataclasses.replace(trial.outcomes[po.name], baseline=src.baseline,
                                                    followups=derive_followups(src, quantity, op, threshold))
    matrix = trial.covariates.matrix.copy()
    for source, (key, idx) in imp.covariate_of.items():
        x = col[key]
        if len(idx) == 1:
            matrix[:, idx[0]] = x
        else:
            for k, j in enumerate(idx, start=1):
                matrix[:, j] = np.where(np.isnan(x), np.nan, (x == k).astype(float))
    covariates = dataclasses.replace(trial.covariates, matrix=matrix)
    return dataclasses.replace(trial, outcomes=outcomes, moderators=moderators, covariates=covariates)


def completed_frames(trial: TrialData, plan: Plan, completed: list[TrialData]) -> list[pd.DataFrame]:
    """Each completed dataset as one row per participant under the plan's column names (wide
    data: a file that the same plan analyses, complete, with ``imputations: 0``)."""
    out = []
    arms = trial.flow.arm_values
    for c in completed:
        cols = {plan.data.id: trial.ids, plan.data.treatment: np.where(trial.treat == 1, arms["treated"], arms["control"])}
        for po in plan.outcomes:
            if po.derive is not None:
                continue
            o = c.outcomes[po.name]
            if o.baseline is not None:
                cols[str(po.baseline) if plan.data.time is None else f"{po.name}_{po.baseline}"] = o.baseline
            for t, y in o.followups.items():
                cols[(po.followups or {}).get(t, f"{po.name}_{t}")] = y
        for pm in plan.moderators:
            m = c.moderators[pm.name]
            cols[pm.column] = m.values if m.type == "continuous" else np.array(m.levels, dtype=object)[m.values.astype(int)]
        cov = c.covariates
        for j, name in enumerate(cov.names):
            if name == cov.sources[j]:
                cols[name] = cov.matrix[:, j]
        for source in dict.fromkeys(cov.sources):
            idx = [j for j, s in enumerate(cov.sources) if s == source]
            if cov.names[idx[0]] != source:
                # text or categorical covariate: its level is the name after '='; all dummies 0 is
                # the reference, which the design does not name, so it is written as that level
                ref = _reference_level(trial, source)
                d = cov.matrix[:, idx]
                labels = [cov.names[j].split("=", 1)[1] for j in idx]
                cols[source] = [labels[int(np.argmax(r))] if r.max() > 0 else ref for r in d]
        out.append(pd.DataFrame(cols))
    return out


def completed_datasets(trial: TrialData, plan: Plan, seed: int | None = None) -> list[pd.DataFrame]:
    """The m completed datasets that ``analyze`` pools for this trial and plan (the plan's seed
    unless ``seed`` is given), as ``completed_frames`` writes them: to export, inspect or check
    a run against another implementation."""
    rng = np.random.default_rng(plan.analysis.seed if seed is None else seed)
    return completed_frames(trial, plan, completed_trials(trial, plan, rng))


def _reference_level(trial: TrialData, source: str):
    # the covariate's reference level: as data/prepare.py chose it, else found as it finds it
    if source in trial.covariates.references:
        return trial.covariates.references[source]
    if source in trial.baseline_frame:
        levels = sort_levels({k for k in keys_of(trial.baseline_frame[source]) if k is not None})
        return levels[0] if levels else ""
    return ""


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
        l = np.asarray(L, dtype=float).ravel()
        V, J, A = self._stacked
        var = np.einsum("i,mij,j->m", l, V, l)
        grad = np.einsum("i,mkij,j->mk", l, J, l)
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
class _StackedOLS:
    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]


def _fit_all(spec: ModelSpec, designs, plan: Plan):
    """Per-imputation fits of one spec, their complete-data df and notes (counted)."""
    if spec.kind == "linear":
        X = np.stack([d.X for d in designs]) if len({d.X.shape for d in designs}) == 1 else None
        if X is not None:
            try:
                coef, vcov, df = fit_ols_full_batch(X, np.stack([d.y for d in designs]), plan.analysis.se)
                return [_StackedOLS(coef[i], vcov[i], designs[0].names) for i in range(len(designs))], df, Counter()
            except (RankDeficient, PerfectFit):
                pass  # refitted one by one below, which names the collinear columns (or exact fit)
    fits, notes = [], Counter()
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
            fits, df, notes = _fit_all(spec, designs, plan)
        except RankDeficient as exc:
            problem = "design columns are collinear in a completed dataset (" + ", ".join(exc.columns) + ")"
        except NotEstimable as exc:
            problem = f"{exc} (in a completed dataset)"
    if problem is not None:
        notes = not_estimable(problem)
        return FittedModel(spec, design, None, rows=empty_rows(spec, design, notes), summary=summary, notes=notes)
    if spec.kind == "mixed":
        base = pool(fits, math.inf)
        fit = PooledMixedFit(**{f.name: getattr(base, f.name) for f in dataclasses.fields(PooledFit)}, fits=tuple(fits))
        summary["df_complete"] = "mean Satterthwaite df of each contrast over the imputations"
    else:
        fit = pool(fits, df)
        summary["df_complete"] = df if math.isfinite(df) else "infinite (Wald z): Rubin's df"
    counted = tuple(Note(n.code, f"{n.text} (in {k} of {m} completed datasets)") for n, k in notes.items())
    rows = interaction_rows(spec, design, fit, plan)
    timepoints = design.timepoints
    at = {(r["timepoint"], r["term"]): r for r in rows}
    for t in timepoints:
        if (t, "joint") in at:
            Ls = [design.interaction_L(j, t) for j in range(len(design.terms))]
            # the joint row's riv is D1's average relative increase in variance over its k contrasts
            L = np.vstack(Ls)
            u, b = L @ fit.within @ L.T, L @ fit.between @ L.T
            at[(t, "joint")].update(fmi=math.nan, riv=float((1 + 1 / m) * np.trace(np.linalg.solve(u, b)) / len(Ls)))
    for r in rows:
        r["n"] = n_randomised
        r["note"] = counted
    return FittedModel(spec, design, fit, rows, summary, counted)


def analyze_imputed(trial: TrialData, plan: Plan, fitted: list[FittedModel], rng: np.random.Generator,
                    progress=None, sections: dict | None = None) -> list[FittedModel]:
    """Refit the complete-case run's models on m imputed datasets and pool them (Rubin's rules).

    Returns one FittedModel per model of ``fitted`` (same specs, same order) whose ``fit`` is
    the pooled fit and whose rows carry the pooled numbers, ``n`` = everyone randomised to the
    two arms, and ``fmi``, ``riv``. ``sections`` (a dict) receives ``imputation_diagnostics``
    and, when some variable's imputations fell outside its observed range often, the other
    method's pooled rows as ``imputation_sensitivity`` (see ``_sensitivity``).
    """
    raw: dict = {}
    completed = completed_trials(trial, plan, rng, diagnostics=raw)
    out = []
    specs = [f.spec for f in fitted]
    for i, spec in enumerate(specs):
        out.append(_pooled_model(spec, completed, plan, trial.n))
        if progress:
            progress(i + 1, len(specs), "imputed models")
    imp = imputation_frame(trial, plan)
    diag = imputation_diagnostics(imp, plan, raw)
    if sections is not None and not diag.empty:
        sens = _sensitivity(trial, plan, imp, diag, out)
        sections["imputation_diagnostics"] = diag.drop(columns="_key")
        if sens is not None:
            sections["imputation_sensitivity"] = sens
    return out


# ----------------------------------------------------------------------------- range diagnostics
# Above this share of a variable's imputed values outside its observed range (norm: the draws
# before truncation; pmm: the predicted means), the other method's pooled estimate is reported
# beside each row that uses the variable: the methods then rest on different assumptions about
# the values nobody observed (normal extrapolation vs the observed values' shape), and can differ.
OUTSIDE_SHARE = 0.05
OTHER_METHOD = {"norm": "pmm", "pmm": "norm"}


def imputation_diagnostics(imp: ImputationFrame, plan: Plan, raw: dict) -> pd.DataFrame:
    """Per imputed continuous variable: imputed values (over the m imputations), how many fell
    below / above the observed range before truncation, and the range they were truncated to."""
    method = plan.analysis.imputation_method
    bounds = {v.name: v for v in imp.variables}
    rows = []
    for key, d in raw.items():
        role, name, t = imp.roles[key]
        v = bounds[key]
        outside = d["below"] + d["above"]
        rows.append({"variable": imp.sources[key], "role": role, "name": name, "timepoint": t or "",
                     "method": method, "basis": "draw before truncation" if method == "norm" else "predicted mean",
                     "imputed": d["imputed"], "below_observed": d["below"], "above_observed": d["above"],
                     "pct_outside": 100.0 * outside / d["imputed"] if d["imputed"] else math.nan,
                     "observed_min": d["observed_min"], "observed_max": d["observed_max"],
                     "truncated_low": math.nan if v.lower is None else float(v.lower),
                     "truncated_high": math.nan if v.upper is None else float(v.upper),
                     "rounded": bool(v.integer) and method == "norm",
                     "_key": key})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["sensitivity"] = frame["pct_outside"] > 100.0 * OUTSIDE_SHARE
    return frame


def _uses(spec: ModelSpec, role: tuple, plan: Plan) -> bool:
    """Does the model of ``spec`` contain the imputed variable with this role?"""
    kind, name, t = role
    sources = {name} | {o.name for o in plan.outcomes if o.derive is not None and o.derive.from_ == name}
    if kind == "outcome":
        return spec.outcome in sources and (spec.kind == "mixed" or spec.timepoint == t)
    if kind == "baseline":
        return spec.outcome in sources
    if kind == "moderator":
        return spec.moderator == name
    return True        # a covariate enters every model


def _sensitivity(trial: TrialData, plan: Plan, imp: ImputationFrame, diag: pd.DataFrame,
                 pooled: list[FittedModel]) -> pd.DataFrame | None:
    """The other imputation method's pooled rows for every model that uses a flagged variable.

    Imputed from a fresh generator seeded with the plan's seed: the numbers are those a run with
    the other ``imputation_method`` reports. The main rows gain a note naming them."""
    from ..formatting import jama, number, p_text

    flagged = diag[diag["sensitivity"]]
    if flagged.empty:
        return None
    roles = {r["_key"]: imp.roles[r["_key"]] for r in flagged.to_dict("records")}
    hits = [i for i, f in enumerate(pooled) if any(_uses(f.spec, role, plan) for role in roles.values())]
    if not hits:
        return None
    other = OTHER_METHOD[plan.analysis.imputation_method]
    completed = completed_trials(trial, plan, np.random.default_rng(plan.analysis.seed), method=other)
    a = plan.analysis
    rows = []
    for i in hits:
        main = pooled[i]
        alt = _pooled_model(main.spec, completed, plan, trial.n, method=other)
        because = [f"{imp.sources[k]} {number(diag.loc[diag['_key'] == k, 'pct_outside'].iloc[0], 0)}%"
                   for k, role in roles.items() if _uses(main.spec, role, plan)]
        for r, s in zip(main.rows, alt.rows):
            rows.append({**{k: r[k] for k in KEY_COLUMNS}, "method": other, "estimate": s["estimate"],
                         "ci_low": s["ci_low"], "ci_high": s["ci_high"], "p_value": s["p_value"],
                         f"estimate_{a.imputation_method}": r["estimate"], "outside_observed_range": "; ".join(because)})
            if r["term"] == "joint" or math.isnan(s.get("p_value", math.nan)):
                said = p_text(s["p_value"], a.evidence_threshold) if not math.isnan(s["p_value"]) else "no estimate"
            else:
                label = "log odds ratio" if main.spec.kind == "logistic" else "β"
                said = jama(s["estimate"], s["ci_low"], s["ci_high"], s["p_value"], label=label, ci_level=a.ci_level,
                            evidence_threshold=a.evidence_threshold)
            text = (f"{other} imputation gives {said} ({a.imputation_method} imputations outside the observed range: "
                    + ", ".join(because) + ")")
            r["note"] = (*as_notes(r.get("note")), Note(IMPUTATION_SENSITIVITY, text))
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- report sections
def complete_case_frame(fitted: list[FittedModel]) -> pd.DataFrame:
    """The complete-case rows (sensitivity analysis beside the imputed ones)."""
    cols = [*KEY_COLUMNS, "estimate", "std_error", "ci_low", "ci_high", "p_value", "n"]
    rows = [{k: r.get(k, math.nan) for k in cols} for f in fitted for r in f.rows]
    return pd.DataFrame(rows, columns=cols)


def missing_data_sections(trial: TrialData, plan: Plan, complete_case: list[FittedModel]) -> dict[str, pd.DataFrame]:
    """``complete_case``, ``missingness`` (by variable, arm and follow-up) and
    ``missing_patterns`` (md.pattern's table, columns named by data column)."""
    imp = imputation_frame(trial, plan)
    allvars = [ImputationVariable(k, "continuous") for k in imp.frame.columns]
    miss = missingness_summary(imp.frame, allvars, trial.treat.astype(int))
    arms = trial.flow.arm_values
    miss.insert(0, "role", [imp.roles[v][0] for v in miss["variable"]])
    miss.insert(1, "name", [imp.roles[v][1] for v in miss["variable"]])
    miss.insert(2, "timepoint", [imp.roles[v][2] or "" for v in miss["variable"]])
    miss["arm"] = [arms["treated"] if a == 1 else arms["control"] for a in miss["arm"]]
    miss["variable"] = [imp.sources[v] for v in miss["variable"]]
    patterns = missing_patterns(imp.frame, allvars).rename(columns=imp.sources)
    return {"complete_case": complete_case_frame(complete_case), "missingness": miss, "missing_patterns": patterns}
