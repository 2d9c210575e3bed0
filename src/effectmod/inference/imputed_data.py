"""The imputed datasets of a run: the one chained-equations frame of a trial (every outcome
follow-up, baseline, moderator and covariate, with its role and its declared or observed range),
its m completions as TrialData (a derived responder outcome derived again on each: passive
imputation), and those completions written back as data files."""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from ..data.coding import derive_followups
from ..data.impute import ImputationVariable, impute
from ..data.trial import TrialData
from ..data.values import keys_of, sort_levels
from ..errors import PlanError
from ..plan.schema import Plan, parse_rule

ITERATIONS = 10  # chained-equation sweeps per imputation (mice's default is 5; more is safer)


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
            shared = shared or (by_source.get(o.baseline_source) if o.baseline_source is not None else None)
            if shared is not None:
                baseline_of[name] = shared
            else:
                key = f"baseline:{name}"
                var = (_numeric_variable(key, o.baseline) if o.type == "binary"
                       else _continuous(key, o.baseline, o.range or _observed_range(o.baseline)))
                if o.type in ("count", "ordinal"):
                    var = _count_ordinal_baseline(key, o)
                add(key, o.baseline, var, ("baseline", name, None), _baseline_label(plan, name, o.baseline_source))
                baseline_of[name] = key
        if o.type == "time_to_event" and o.status is not None:
            # White & Royston (2009): the outcome enters the imputation models as the Nelson-Aalen
            # cumulative hazard at each participant's time and the event indicator (the time itself
            # is not imputed: a participant without it stays out of the Cox and RMST models)
            from ..engines.survival_km import nelson_aalen_at
            hazard = nelson_aalen_at(o.followups[next(iter(o.followups))], o.status)
            add(f"outcome:{name}:cumulative_hazard", hazard, _continuous(f"outcome:{name}:cumulative_hazard", hazard),
                ("outcome", name, "cumulative hazard"), f"{name} (Nelson-Aalen cumulative hazard)")
            add(f"outcome:{name}:event", o.status, ImputationVariable(f"outcome:{name}:event", "binary"),
                ("outcome", name, "event"), f"{name} (event indicator)")
            continue
        for t, y in o.followups.items():
            key = f"outcome:{name}:{t}"
            var = ImputationVariable(key, "binary") if o.type == "binary" else _continuous(key, y, o.range)
            if o.type == "count":           # predictive mean matching: observed counts only
                var = dataclasses.replace(_continuous(key, y, o.range or _observed_range(y)), integer=True, method="pmm")
            elif o.type == "ordinal":       # the categories by polytomous regression within arm
                var = ImputationVariable(key, "categorical")
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
    arms = np.unique(trial.arm_code) if trial.multi_arm else (0, 1)
    keep = [v for v in variables if all((~np.isnan(cols[v.name][trial.arm_code == a])).any() for a in arms)]
    return ImputationFrame(frame, tuple(keep), roles, sources, baseline_of, moderator_of, covariate_of)


def _count_ordinal_baseline(key: str, o) -> ImputationVariable:
    """A count's baseline by predictive mean matching; an ordinal baseline given as level indices
    (whole numbers 1..K) as categories, any other baseline as a continuous variable."""
    x = o.baseline
    obs = x[~np.isnan(x)]
    if o.type == "ordinal" and obs.size and np.all(np.isin(obs, np.arange(1, len(o.levels) + 1))):
        return ImputationVariable(key, "categorical")
    return dataclasses.replace(_continuous(key, x, _observed_range(x)), method="pmm")


def _baseline_label(plan: Plan, outcome: str, source: str | None) -> str | None:
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
        frames = impute(imp.frame, imp.variables, trial.arm_code, m, rng,
                        iterations=ITERATIONS, continuous=cast(Literal["norm", "pmm"], method or plan.analysis.imputation_method),
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
        cols: dict[str, Any] = {plan.data.id: trial.ids, plan.data.treatment: (trial.arm_value() if trial.multi_arm else
                                                                   np.where(trial.treat == 1, arms["treated"], arms["control"]))}
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
