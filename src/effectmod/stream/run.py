"""The streamed analysis: a Parquet file or directory larger than memory, read twice by batches.

Pass 1 (``read.survey``) collects what data preparation needs; pass 2 codes each batch as
``data.prepare`` does and adds each model's rows (``models.design.single_design``'s columns and
complete-case rule) to its sums (``sums.Moments``); the fits, the interaction rows, p_adjusted and
the tiers then come from the same code as the in-memory analysis. Memory holds one batch and, per
model, a (p+1) x (p+1) matrix.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.columns import apply_missing_codes
from ..data.values import numeric_column
from ..models.design import Design
from ..models.spec import ModelSpec
from ..plan.schema import Plan, covariate_column
from ..records import NOT_ESTIMABLE, Note
from .read import BATCH_ROWS, Survey, _arm_keys, _moderator_keys, batches, check_columns, check_scope, columns_needed, open_dataset, survey
from .sums import Moments, fit_from_moments

STREAMED = "streamed"
STREAM_NOTE = Note(STREAMED, "streamed analysis: heteroscedasticity check, conditional effects and resampling not run")
HC3_NOTE = Note(STREAMED, "streamed analysis (HC3 from a third pass over the data): conditional effects and resampling not run")


@dataclass(frozen=True)
class StreamDesign(Design):
    """A design known by its columns' names and its participant count only (its rows were streamed)."""
    count: int = 0

    @property
    def n(self) -> int:
        return self.count


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
    treat_keys, id_keys = _arm_keys(frame, plan)
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
            mods[m.name] = np.array([np.nan if k is None else code.get(k, np.nan) for k in _moderator_keys(sub, m)])
    out["moderators"] = mods
    out["covariates"] = [numeric_column(sub[covariate_column(e)])[0] for e in plan.covariates]
    return out


def _model_sums(plan: Plan, s: Survey) -> list[ModelSums]:
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


def _hc3(dataset, plan: Plan, s: Survey, sums: list[ModelSums], fits: list, batch_rows: int) -> list:
    """Pass 3 (``analysis.se: HC3``): each model's leverages and residuals from its fit, summed
    into the HC3 meat; the fits' covariances replaced by HC3."""
    meats = [None if f is None or isinstance(f, str) else np.zeros_like(f.inv_s) for f in fits]
    for raw in batches(dataset, columns_needed(plan), batch_rows):
        c = _coded(raw, plan, s)
        for ms, f, meat in zip(sums, fits, meats):
            if meat is not None:
                meat += f.meat_block(_block(ms, c, plan))
    return [f if meat is None else replace(f, vcov=f.hc3(meat)) for f, meat in zip(fits, meats)]


def _design(ms: ModelSums) -> StreamDesign:
    return StreamDesign(np.zeros((0, len(ms.names))), np.zeros(0), ms.names, np.zeros(0, dtype=int), ms.mod_names,
                        ms.terms, dict(ms.excluded), timepoints=(ms.timepoint,), mod_centre=ms.centre, count=ms.moments.n)


def analyze_stream(data: str | Path, plan: Plan, batch_rows: int = BATCH_ROWS, progress=None) -> dict:
    """The streamed analysis of ``data`` (a Parquet file or directory): {'table', 'average_effects', 'flow'}."""
    from ..analysis import _per_units, _table
    from ..engines.ols import GRAM_CONDITION_LIMIT, OLSFit
    from ..inference.average import COLUMNS, SCALES
    from ..models.fit import FittedModel, empty_rows, interaction_rows
    from ..records import render_notes
    started = time.time()
    check_scope(plan)
    dataset = open_dataset(data)
    check_columns(dataset, plan)
    s = survey(dataset, plan, batch_rows)
    sums = _model_sums(plan, s)
    participants = 0
    for raw in batches(dataset, columns_needed(plan), batch_rows):
        c = _coded(raw, plan, s)
        participants += c["n"]
        for ms in sums:
            _add_batch(ms, c, plan)
        if progress:
            progress(participants, s.rows, "rows")
    fitted, average = [], []
    level = plan.analysis.ci_level
    se = plan.analysis.se
    fits = [fit_from_moments(ms.moments, GRAM_CONDITION_LIMIT) for ms in sums]
    if se == "HC3":
        fits = _hc3(dataset, plan, s, sums, fits, batch_rows)
    for ms, res in zip(sums, fits):
        design = _design(ms)
        fit = None if isinstance(res, str) else OLSFit(res.coef, res.vcov, ms.names, ms.moments.n, res.df_resid,
                                                       res.sigma2, res.r_squared, se)
        if ms.moderator is None:
            row = {"outcome": ms.outcome, "timepoint": ms.timepoint, "model": "linear", "estimate": math.nan,
                   "std_error": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan,
                   "n": ms.moments.n, "scale": SCALES["linear"], "df": math.nan, "note": res if isinstance(res, str) else "",
                   "risk_difference": math.nan, "rd_ci_low": math.nan, "rd_ci_high": math.nan}
            if fit is not None:
                con = fit.contrast(design.effect_L(np.zeros(0)))
                lo, hi = con.ci(level)
                row.update(estimate=con.estimate, std_error=con.std_error, ci_low=lo, ci_high=hi, p_value=con.p_value, df=con.df)
            average.append(row)
            continue
        spec = ModelSpec("linear", ms.outcome, ms.moderator, ms.timepoint)
        notes: tuple[Note, ...] = (HC3_NOTE if se == "HC3" else STREAM_NOTE,)
        if fit is None:
            notes = (Note(NOT_ESTIMABLE, str(res)),)
            rows = empty_rows(spec, design, notes)
        else:
            rows = interaction_rows(spec, design, fit, plan)
            for r in rows:
                r["note"] = notes
        fitted.append(FittedModel(spec, design, fit, rows, {"n": design.n, "excluded": dict(ms.excluded)}, notes))
    table = _table(fitted, plan)
    table = _per_units(table, plan, {})
    table["note"] = [render_notes(n) for n in table["note"]]
    flow = {"rows_in_file": s.rows, "participant_id_missing": s.no_id, "participants_in_arms": participants,
            "arm_values": {"treated": s.treated_key, "control": s.control_key},
            "files": len(dataset.files), "batch_rows": batch_rows, "seconds": round(time.time() - started, 3),
            "models": [{"outcome": ms.outcome, "moderator": ms.moderator or "", "timepoint": ms.timepoint,
                        "n": ms.moments.n, "excluded": dict(ms.excluded)} for ms in sums]}
    return {"table": table, "average_effects": pd.DataFrame(average, columns=list(COLUMNS)), "flow": flow}


def write_stream(result: dict, out: Path, force: bool = False, inputs=()) -> Path:
    """results.csv, average_effects.csv, stream.json (the data flow) and manifest.json, the folder
    written whole or not at all (``writing.write_folder``; --force replaces an earlier output folder)."""
    import json

    from .._version import __version__
    from ..writing import write_csv, write_folder

    def fill(folder: Path) -> None:
        write_csv(result["table"], folder / "results.csv")
        write_csv(result["average_effects"], folder / "average_effects.csv")
        (folder / "stream.json").write_text(json.dumps(result["flow"], indent=2, default=str) + "\n", encoding="utf-8")
        manifest = {"effectmod": __version__, "streamed": True, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "files": ["results.csv", "average_effects.csv", "stream.json"], "inputs": result.get("inputs", {})}
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return write_folder(out, force, fill, inputs=inputs)
