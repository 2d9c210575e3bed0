"""The passes over the data of the streamed analysis, each over a dataset or one file of it.

``sums_part`` (pass 2) codes each batch as ``data.prepare`` codes the whole table and adds each
model's complete rows (``models.design.single_design``'s columns and rule) to its sums;
``meat_part`` (pass 3, HC3) sums each model's HC3 meat from its fit. Each returns what merges with
the other parts' results, so that files can be read on other machines (``stream.distributed``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.columns import apply_missing_codes
from ..data.values import numeric_column
from ..plan.schema import Plan, covariate_column
from .read import BATCH_ROWS, Survey, arm_keys, batches, columns_needed, moderator_keys
from .sums import Moments


@dataclass
class ModelSums:
    outcome: str
    moderator: str | None
    timepoint: str
    names: tuple[str, ...]
    mod_names: tuple[str, ...]
    terms: tuple[str, ...]
    centre: tuple[float, ...]
    use_baseline: bool
    moments: Moments
    excluded: dict[str, int] = field(default_factory=dict)


def _coded(frame: pd.DataFrame, plan: Plan, s: Survey) -> dict:
    """One batch coded as ``data.prepare`` codes the whole table (the rows in the two arms)."""
    frame = apply_missing_codes(frame, plan)
    treat_keys, id_keys = arm_keys(frame, plan)
    in_arms = np.array([k is not None for k in id_keys], dtype=bool) & np.isin(treat_keys, np.array([s.treated_key, s.control_key], dtype=object))
    sub = frame.loc[in_arms].reset_index(drop=True)
    out: dict = {"n": int(in_arms.sum()), "treat": (treat_keys[in_arms] == s.treated_key).astype(float)}
    out["outcomes"] = {o.name: ({t: numeric_column(sub[c])[0] for t, c in (o.followups or {}).items()},
                                numeric_column(sub[str(o.baseline)])[0] if o.baseline is not None else None)
                       for o in plan.outcomes}
    mods = {}
    for m in plan.moderators:
        if m.type == "continuous":
            mods[m.name] = numeric_column(sub[m.column])[0]
        else:
            code = {lv: float(j) for j, lv in enumerate(s.levels[m.name])}
            mods[m.name] = np.array([np.nan if k is None else code.get(k, np.nan) for k in moderator_keys(sub, m)])
    out["moderators"] = mods
    out["covariates"] = [numeric_column(sub[covariate_column(e)])[0] for e in plan.covariates]
    return out


def model_sums(plan: Plan, s: Survey) -> list[ModelSums]:
    adjust = plan.analysis.adjust_for_baseline
    cov_names = [f"cov[{covariate_column(e)}]" for e in plan.covariates]
    out = []
    for o in plan.outcomes:
        for mname in [*(m.name for m in plan.moderators), None]:
            m = next((x for x in plan.moderators if x.name == mname), None)
            if m is None:
                mod_names: tuple[str, ...] = ()
                terms: tuple[str, ...] = ("",)
                use_baseline = adjust and o.baseline is not None
                centre: tuple[float, ...] = ()
            else:
                categorical = m.type == "categorical"
                terms = tuple(s.levels[m.name][1:]) if categorical else ("",)
                mod_names = tuple(f"mod[{lv}]" for lv in terms) if categorical else ("mod",)
                use_baseline = adjust and o.baseline is not None and not s.is_baseline.get((o.name, m.name), False)
                centre = (s.centre[m.name],) if m.type == "continuous" else ()
            names = ["(Intercept)", "treat", *mod_names] + (["baseline"] if use_baseline else []) + cov_names
            names += [f"treat:{nm}" for nm in mod_names]
            for t in (o.followups or {}):
                out.append(ModelSums(o.name, mname, t, tuple(names), mod_names, terms, centre, use_baseline,
                                     Moments(len(names) + 1)))
    return out


def _add_batch(ms: ModelSums, c: dict, plan: Plan) -> None:
    ms.moments.add_block(_block(ms, c, plan, count=True))


def _block(ms: ModelSums, c: dict, plan: Plan, count: bool = False) -> np.ndarray:
    """The batch's complete rows of the model's [X, y] (``count``: add the losses to ``ms.excluded``)."""
    n = c["n"]
    follow, baseline = c["outcomes"][ms.outcome]
    y = follow[ms.timepoint]
    reasons = [(f"outcome missing at follow-up {ms.timepoint}", np.isnan(y))]
    cols = [np.ones(n), c["treat"]]
    mod = np.zeros((n, 0))
    if ms.moderator is not None:
        m = next(x for x in plan.moderators if x.name == ms.moderator)
        v = c["moderators"][m.name]
        reasons.append((f"moderator '{m.column}' missing", np.isnan(v)))
        if m.type == "categorical":
            mod = np.column_stack([(v == j).astype(float) for j in range(1, len(ms.terms) + 1)])
            mod[np.isnan(v)] = np.nan
        else:
            mod = (v - ms.centre[0] if ms.centre else v).reshape(-1, 1)
        cols += [mod[:, j] for j in range(mod.shape[1])]
    if ms.use_baseline:
        o = next(x for x in plan.outcomes if x.name == ms.outcome)
        reasons.append((f"baseline '{o.baseline}' missing", np.isnan(baseline)))
        cols.append(baseline)
    for e, cv in zip(plan.covariates, c["covariates"]):
        reasons.append((f"covariate '{covariate_column(e)}' missing", np.isnan(cv)))
        cols.append(cv)
    cols += [c["treat"] * mod[:, j] for j in range(mod.shape[1])]
    lost = np.zeros(n, dtype=bool)
    for reason, miss in reasons:
        new = int((miss & ~lost).sum()) if count else 0
        if new:
            ms.excluded[reason] = ms.excluded.get(reason, 0) + new
        lost |= miss
    Z = np.empty((n, len(cols) + 1))
    for j, col in enumerate(cols):
        Z[:, j] = col
    Z[:, -1] = y
    return np.compress(~lost, Z, axis=0)


def sums_part(dataset, plan: Plan, s: Survey, batch_rows: int = BATCH_ROWS) -> tuple[int, list[ModelSums]]:
    """Pass 2 over (a part of) the data: the participants in the two arms and each model's sums."""
    sums = model_sums(plan, s)
    participants = 0
    for raw in batches(dataset, columns_needed(plan), batch_rows):
        c = _coded(raw, plan, s)
        participants += c["n"]
        for ms in sums:
            _add_batch(ms, c, plan)
    return participants, sums


def merge_sums(parts: list[tuple[int, list[ModelSums]]]) -> tuple[int, list[ModelSums]]:
    """The parts' sums merged in their order."""
    participants, sums = parts[0]
    for n, other in parts[1:]:
        participants += n
        for ms, o in zip(sums, other):
            ms.moments.merge(o.moments)
            for reason, k in o.excluded.items():
                ms.excluded[reason] = ms.excluded.get(reason, 0) + k
    return participants, sums


def variance_columns(names: tuple[str, ...]) -> list[int]:
    """The columns the heteroscedasticity check regresses the squared residuals on
    (``inference.heteroscedasticity.check_linear``): treat, the moderator and their products."""
    return [j for j, nm in enumerate(names) if nm == "treat" or nm.startswith(("mod", "treat:mod", "treat["))]


def meat_part(dataset, plan: Plan, s: Survey, fits: list, batch_rows: int = BATCH_ROWS) -> list:
    """Pass 3 over (a part of) the data, from each model's fit: the HC3 meat, the sums of the
    variance regression (Z and the squared residuals) and the largest leverage; None for a model
    without a fit."""
    sums = model_sums(plan, s)
    out: list = [None if isinstance(f, str) else [np.zeros_like(f.inv_s), Moments(len(variance_columns(ms.names)) + 1), -np.inf]
                 for ms, f in zip(sums, fits)]
    for raw in batches(dataset, columns_needed(plan), batch_rows):
        c = _coded(raw, plan, s)
        for ms, f, acc in zip(sums, fits, out):
            if acc is not None:
                Z = _block(ms, c, plan)
                meat, e, h_max = f.meat_block(Z)
                acc[0] += meat
                acc[1].add_block(np.column_stack([Z[:, variance_columns(ms.names)], e * e]))
                acc[2] = max(acc[2], h_max)
    return out


def merge_meats(parts: list[list]) -> list:
    """The parts' pass-3 sums merged in their order."""
    merged = parts[0]
    for other in parts[1:]:
        for acc, o in zip(merged, other):
            if acc is not None:
                acc[0] += o[0]
                acc[1].merge(o[1])
                acc[2] = max(acc[2], o[2])
    return merged
