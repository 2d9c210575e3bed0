"""Simulation-based power of the interaction tests (and of the average treatment effect).

The work is a grid of cells (sample size n x interaction size); each cell is split into chunks
of ``CHUNK`` simulated trials. A chunk draws its trials as stacked (reps, n) arrays and fits
every model of every trial at once (batched normal equations for linear outcomes, batched
Newton steps for binary ones), returning rejection counts. Chunk (cell i, chunk j) draws from
``SeedSequence(seed, spawn_key=(i, j))``, so the answer does not depend on how many workers
(processes, or Dask workers) run the chunks, nor on the order they finish in.

Two sources of simulated trials:

* ``ScenarioSource``: a built-in scenario (``resolve``, ``null``) drawn by the simulator, with its
  dropout; n is the number randomised and the models use each trial's complete cases. Two
  interaction values are reported: ``generating_interaction``, the latent-model coefficient the
  trials are drawn with, and ``analysis_estimand``, the population value of the analysis model's
  b3 on the observed (rounded, clipped) outcome, which is what the test has power to detect.
* ``PilotSource``: models fitted to a pilot dataset with a plan. Each analysis model is
  simulated on its own: n participants drawn with replacement from the pilot's complete cases
  (moderator, baseline, covariates kept together), treatment allocated exactly n//2, the
  outcome generated from the pilot fit with the interaction set to the grid's size, and errors
  resampled from the pilot residuals (``errors="residuals"``, the default) or normal with the
  pilot's residual SD (``errors="normal"``); binary outcomes are Bernoulli from the pilot's
  logistic fit. No dropout: n is the number analysed.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special, stats

from ..engines.linalg import lstsq_batched
from ..engines.logistic import fit_logistic_stacked
from ..engines.ols import fit_ols_stacked

CHUNK = 250                 # trials per unit of work; fixed so results do not depend on workers
POWER_COLUMNS = ("outcome", "timepoint", "moderator", "n", "scale", "true_interaction", "power", "mcse",
                 "replicates", "ate_power", "ate_mcse", "true_ate", "generating_interaction", "analysis_estimand")
# generating_interaction: the interaction the trials are drawn with (the scenario's latent-model
# coefficient, or the pilot fit's coefficient as set by the grid); analysis_estimand: the population
# value of the coefficient the analysis model estimates and tests, which is what the power is the
# power to detect. true_interaction is the analysis_estimand, kept under its old name for one release.
TARGET_COLUMNS = ("outcome", "timepoint", "moderator", "scale", "generating_interaction", "analysis_estimand",
                  "target", "n_reached", "power", "power_ci_low", "power_ci_high", "n_interpolated",
                  "n_interval_low", "n_interval_high", "note")
WILSON_Z = 1.959963984540054   # a 95% Wilson interval of each simulated power


# ---------------------------------------------------------------- sources

@dataclass(frozen=True)
class Size:
    """One interaction size of the grid: a multiplier of every interaction (``scale``), or an
    absolute value for one moderator (on every outcome, or only ``outcome``)."""

    scale: float | None = 1.0
    value: float | None = None
    moderator: str | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class ScenarioSource:
    name: str = "resolve"
    dropout: str | None = None


@dataclass(frozen=True)
class PilotModel:
    outcome: str
    timepoint: str
    moderator: str            # "" for the average-effect (ANCOVA) model
    binary: bool
    rows: np.ndarray          # (m, p) pilot complete-case design
    coef: np.ndarray          # (p,)
    resid: np.ndarray         # (m,) residuals (linear)
    sigma: float
    treat_col: int
    mod_cols: tuple[int, ...]
    inter_cols: tuple[int, ...]


@dataclass(frozen=True)
class PilotSource:
    models: tuple[PilotModel, ...]
    errors: str = "residuals"
    # categorical moderators need a joint test of their k-1 interactions, which the batched
    # power path does not run: they are left out and named, never tested on one level alone
    skipped: tuple[str, ...] = ()


# ---------------------------------------------------------------- batched fits

def _reject(coef, se, df, alpha):
    """Two-sided Wald/t rejections at alpha; NaN (a singular fit) never rejects."""
    z = np.abs(coef / se)
    p = 2 * (stats.t.sf(z, df) if df is not None else stats.norm.sf(z))
    return np.nan_to_num(p, nan=1.0) < alpha


# ---------------------------------------------------------------- one chunk

def stacked_t(columns: np.ndarray, y: np.ndarray, mask: np.ndarray, models) -> tuple[list[np.ndarray], np.ndarray]:
    """t statistics of many OLS models that share a response, per simulated trial.

    columns (B, n, k) hold every regressor any model needs (no intercept); ``models`` is a list
    of (column indices, tested position). Each trial's columns are centred (the intercept) and
    scaled on its complete cases; each model is solved by the engines' batched QR with their one
    rank rule. Returns the (B,) t statistics per model and the (B,) complete-case counts.
    """
    w = mask.astype(float)
    count = w.sum(axis=1)
    Xw = np.where(mask[..., None], columns, 0.0)
    yw = np.where(mask, y, 0.0)
    Xc = (Xw - (Xw.sum(axis=1) / count[:, None])[:, None, :]) * w[..., None]
    yc = (yw - yw.sum(axis=1, keepdims=True) / count[:, None]) * w
    sd = np.sqrt((Xc * Xc).sum(axis=1) / count[:, None])
    Xc /= np.where(sd > 0, sd, 1.0)[:, None, :]
    out = []
    for idx, test in models:
        # centred columns: the intercept is implicit, and the rank rule and QR solve are the
        # engines' (engines.linalg), as for every least-squares fit
        coef, inv, _, bad = lstsq_batched(Xc[:, :, list(idx)], yc)
        resid = yc - np.einsum("bnp,bp->bn", Xc[:, :, list(idx)], np.nan_to_num(coef))
        rss = (resid * resid).sum(axis=1)
        df = count - len(idx) - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            t = coef[:, test] / np.sqrt(inv[:, test, test] * rss / df)
        t[bad] = np.nan
        out.append(t)
    return out, count


def _scenario_chunk(source: ScenarioSource, n: int, size: Size, reps: int, rng, alpha: float) -> dict:
    from ..simulation import scenario_with
    from ..simulation.generate import draw
    scenario = _scenario(source, size, scenario_with)
    d = draw(scenario, n, rng, scenario.dropout, reps=reps)
    counts = {}
    for o in scenario.outcomes:
        # one column block per outcome: treat, baseline, each moderator, each treat x moderator
        mods = [m for m in scenario.moderators]
        names = ["treat", o.baseline] + [m.column for m in mods if m.column != o.baseline]
        where = {nm: k for k, nm in enumerate(names)}
        cols = [d.treat, d.baseline[o.baseline]] + [d.baseline[nm] for nm in names[2:]]
        for m in mods:
            where[f"treat:{m.column}"] = len(cols)
            cols.append(d.treat * d.baseline[m.column])
        columns = np.stack(cols, axis=-1)
        models = [([0, 1], 0)]
        for m in mods:
            idx = [0, where[m.column]] + ([] if m.column == o.baseline else [1]) + [where[f"treat:{m.column}"]]
            models.append((idx, len(idx) - 1))
        for f in o.followups:
            y = d.outcomes[f.column]
            ts, count = stacked_t(columns, y, ~np.isnan(y), models)
            keys = [""] + [m.name for m in mods]
            for key, t, (idx, _) in zip(keys, ts, models):
                counts[(o.name, f.timepoint, key)] = _reject(t, 1.0, count - len(idx) - 1, alpha)
    return {k: int(v.sum()) for k, v in counts.items()}


def _scenario(source: ScenarioSource, size: Size, scenario_with):
    from ..simulation import SCENARIOS
    if size.value is None:
        return scenario_with(source.name, interaction_scale=size.scale, dropout=source.dropout)
    base = SCENARIOS[source.name]
    chosen = {(it.moderator, it.outcome, it.timepoint): it.value for it in base.interactions}
    for o in base.outcomes:
        if size.outcome in (None, o.name):
            for f in o.followups:
                chosen[(size.moderator, o.name, f.timepoint)] = size.value
    return scenario_with(source.name, interactions=chosen, dropout=source.dropout)


def _pilot_coef(model: PilotModel, size: Size) -> np.ndarray:
    coef = model.coef.copy()
    if model.moderator and model.inter_cols:
        if size.value is None:
            coef[list(model.inter_cols)] *= size.scale
        elif size.moderator == model.moderator and size.outcome in (None, model.outcome):
            coef[list(model.inter_cols)] = size.value
    return coef


def _pilot_chunk(source: PilotSource, n: int, size: Size, reps: int, rng, alpha: float) -> dict:
    counts = {}
    for model, child in zip(source.models, rng.spawn(len(source.models))):
        m = model.rows.shape[0]
        pick = child.integers(0, m, size=(reps, n))
        X = model.rows[pick]                                   # (reps, n, p)
        arms = np.r_[np.ones(n // 2), np.zeros(n - n // 2)]
        treat = child.permuted(np.broadcast_to(arms, (reps, n)).copy(), axis=-1)
        X[..., model.treat_col] = treat
        for mc, ic in zip(model.mod_cols, model.inter_cols):
            X[..., ic] = treat * X[..., mc]
        eta = X @ _pilot_coef(model, size)
        test = model.inter_cols[0] if model.moderator else model.treat_col
        if model.binary:
            y = (child.random((reps, n)) < special.expit(eta)).astype(float)
            coef, se, conv = fit_logistic_stacked(X, y)
            hits = _reject(coef[:, test], se[:, test], None, alpha) & conv
        else:
            if source.errors == "normal":
                e = child.normal(0.0, model.sigma, (reps, n))
            else:
                e = model.resid[child.integers(0, m, size=(reps, n))]
            fit = fit_ols_stacked(X, eta + e)
            hits = _reject(fit.coef[:, test], fit.std_error[:, test], fit.df_resid, alpha)
        counts[(model.outcome, model.timepoint, model.moderator)] = int(hits.sum())
    return counts


def run_chunk(source, n: int, size: Size, reps: int, seed: int, key: tuple[int, int], alpha: float) -> dict:
    """Rejection counts of one chunk: {(outcome, timepoint, moderator or ""): rejections}."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
    if isinstance(source, ScenarioSource):
        return _scenario_chunk(source, n, size, reps, rng, alpha)
    return _pilot_chunk(source, n, size, reps, rng, alpha)


# ---------------------------------------------------------------- the grid

@dataclass(frozen=True)
class PowerGrid:
    ns: tuple[int, ...]
    sizes: tuple[Size, ...]
    replicates: int = 1000
    seed: int = 2024
    alpha: float = 0.05

    def tasks(self):
        """(cell, chunk, n, size, reps) for every unit of work, in a fixed order."""
        out = []
        cells = [(n, s) for s in self.sizes for n in self.ns]
        for i, (n, s) in enumerate(cells):
            for j, start in enumerate(range(0, self.replicates, CHUNK)):
                out.append((i, j, n, s, min(CHUNK, self.replicates - start)))
        return cells, out


def simulate_power(source, grid: PowerGrid, workers: int | None = None, client=None, progress=None) -> pd.DataFrame:
    """Power table (POWER_COLUMNS) for every test of the source over the grid.

    ``workers``: local processes (None: all cores when there is more than one chunk; 1: serial).
    ``client``: a ``dask.distributed.Client``; the chunks then run on its cluster.
    ``progress``: optional callable(done, total, what).
    """
    cells, tasks = grid.tasks()
    args = [(source, n, size, reps, grid.seed, (i, j), grid.alpha) for i, j, n, size, reps in tasks]
    results: list[dict | None] = [None] * len(tasks)
    if client is not None:
        from dask.distributed import as_completed
        futures = [client.submit(run_chunk, *a, pure=False) for a in args]
        index = {f.key: k for k, f in enumerate(futures)}
        for done, fut in enumerate(as_completed(futures), 1):
            results[index[fut.key]] = fut.result()
            if progress:
                progress(done, len(tasks), "simulated trials")
    else:
        workers = workers if workers is not None else ((os.cpu_count() or 1) if len(tasks) > 1 else 1)
        if workers > 1 and len(tasks) > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(run_chunk, *a) for a in args]
                for done, fut in enumerate(futures, 1):
                    results[done - 1] = fut.result()
                    if progress:
                        progress(done, len(tasks), "simulated trials")
        else:
            for k, a in enumerate(args):
                results[k] = run_chunk(*a)
                if progress:
                    progress(k + 1, len(tasks), "simulated trials")
    return _table(source, grid, cells, tasks, results)


def _table(source, grid, cells, tasks, results) -> pd.DataFrame:
    totals: dict[int, dict] = {}
    for (i, *_), counts in zip(tasks, results):
        acc = totals.setdefault(i, {})
        for k, v in counts.items():
            acc[k] = acc.get(k, 0) + v
    rows = []
    R = grid.replicates
    for i, (n, size) in enumerate(cells):
        truth = _truth(source, size)
        generating = _generating(source, size)
        acc = totals[i]
        for (outcome, timepoint, moderator), hits in acc.items():
            if not moderator:
                continue
            ate = acc.get((outcome, timepoint, ""), math.nan)
            rows.append({
                "outcome": outcome, "timepoint": timepoint, "moderator": moderator, "n": n,
                "scale": size.scale if size.value is None else math.nan,
                "true_interaction": truth.get((outcome, timepoint, moderator), math.nan),
                "generating_interaction": generating.get((outcome, timepoint, moderator), math.nan),
                "analysis_estimand": truth.get((outcome, timepoint, moderator), math.nan),
                "power": hits / R, "mcse": math.sqrt(hits / R * (1 - hits / R) / R), "replicates": R,
                "ate_power": ate / R, "ate_mcse": math.sqrt(ate / R * (1 - ate / R) / R),
                "true_ate": truth.get((outcome, timepoint, ""), math.nan)})
    return pd.DataFrame(rows, columns=list(POWER_COLUMNS))


def _truth(source, size: Size) -> dict:
    """(outcome, timepoint, moderator or "") -> the true value the test is about."""
    if isinstance(source, ScenarioSource):
        from ..simulation import scenario_with
        from ..simulation.generate import estimands
        est = dict(estimands(_scenario(source, size, scenario_with)))
        return {(o, t, "" if m == "average_effect" else m): v for (m, o, t), v in est.items()}
    out = {}
    for model in source.models:
        coef = _pilot_coef(model, size)
        col = model.inter_cols[0] if model.moderator else model.treat_col
        out[(model.outcome, model.timepoint, model.moderator)] = float(coef[col])
    return out


def _generating(source, size: Size) -> dict:
    """(outcome, timepoint, moderator) -> the interaction the simulated trials are drawn with.

    For a scenario, its latent-model coefficient (per unit of the moderator) after the grid's
    scaling or setting; the analysis model's estimand differs from it (rounding and clipping of
    the outcome to its instrument's range, adjustment for baseline). For a pilot source the
    analysis model is the generating model, so the two are the same number.
    """
    if not isinstance(source, ScenarioSource):
        return _truth(source, size)
    from ..simulation import scenario_with
    scenario = _scenario(source, size, scenario_with)
    values = {(it.outcome, it.timepoint, it.moderator): it.value for it in scenario.interactions}
    return {(o.name, f.timepoint, m.name): float(values.get((o.name, f.timepoint, m.name), 0.0))
            for o in scenario.outcomes for f in o.followups for m in scenario.moderators}


# ---------------------------------------------------------------- target power

def wilson(hits: float, replicates: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval of a proportion hits/replicates."""
    p = hits / replicates
    centre = (p + z * z / (2 * replicates)) / (1 + z * z / replicates)
    half = z / (1 + z * z / replicates) * math.sqrt(p * (1 - p) / replicates + z * z / (4 * replicates ** 2))
    return max(0.0, centre - half), min(1.0, centre + half)


def _crossing(ns, values, target: float) -> float:
    """The smallest n at which a curve over the grid reaches target, linear between grid points;
    the first n when it starts at or above target; NaN when it never does."""
    for k, (n, v) in enumerate(zip(ns, values)):
        if v >= target:
            if k == 0:
                return float(n)
            n0, v0 = ns[k - 1], values[k - 1]
            return float(n0 + (target - v0) * (n - n0) / (v - v0))
    return math.nan


def target_table(table: pd.DataFrame, target: float) -> pd.DataFrame:
    """For every interaction test (outcome x follow-up x moderator x size) of a power table, the
    smallest sample size that reaches ``target`` power (TARGET_COLUMNS).

    ``n_reached`` is the smallest n of the grid whose simulated power is at least ``target``, with
    the 95% Wilson interval of that power (``power_ci_low``, ``power_ci_high``). ``n_interpolated``
    is where the power curve crosses ``target``, interpolated linearly in n between grid points;
    ``n_interval_low`` and ``n_interval_high`` are where the upper and the lower Wilson bounds cross
    it, the range of n that the simulation cannot tell apart from the crossing (empty when a bound
    does not cross within the grid).
    """
    rows = []
    keys = ["outcome", "timepoint", "moderator", "scale", "generating_interaction"]
    for _, sub in table.groupby(keys, sort=False, dropna=False):
        sub = sub.sort_values("n")
        ns = sub["n"].tolist()
        hits = (sub["power"] * sub["replicates"]).round().to_numpy()
        bounds = [wilson(h, int(r)) for h, r in zip(hits, sub["replicates"])]
        power = sub["power"].tolist()
        first = sub.iloc[0]
        row = {k: first[k] for k in keys}
        row.update({"analysis_estimand": first["analysis_estimand"], "target": target,
                    "n_reached": math.nan, "power": math.nan, "power_ci_low": math.nan, "power_ci_high": math.nan,
                    "n_interpolated": _crossing(ns, power, target),
                    "n_interval_low": _crossing(ns, [b[1] for b in bounds], target),
                    "n_interval_high": _crossing(ns, [b[0] for b in bounds], target), "note": ""})
        reached = [k for k, p in enumerate(power) if p >= target]
        if reached:
            k = reached[0]
            row.update({"n_reached": ns[k], "power": power[k], "power_ci_low": bounds[k][0],
                        "power_ci_high": bounds[k][1]})
            if k == 0:
                row["note"] = f"reached at the smallest n of the grid ({ns[0]}); a smaller n may do"
        else:
            row["note"] = f"not reached within the grid (power {max(power):.3f} at best, up to n = {ns[-1]})"
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(TARGET_COLUMNS))
    out["n_reached"] = out["n_reached"].astype("Int64")
    return out


# ---------------------------------------------------------------- pilot

def pilot_source(data, plan, errors: str = "residuals") -> PilotSource:
    """Fit the plan's per-follow-up models (linear or logistic) to pilot data; see module doc."""
    from ..data.inputs import load_inputs
    from ..models.fit import fit_model
    from ..models.spec import model_specs
    plan_obj, _, trial = load_inputs(data, plan)
    single = plan_obj.model_copy(update={"analysis": plan_obj.analysis.model_copy(update={"sensitivity": [], "model": "linear"})})
    models = []
    seen_ate = set()
    skipped = sorted(m.name for m in plan_obj.moderators if m.type == "categorical")
    for spec in model_specs(single, trial):
        if spec.moderator in skipped and (spec.outcome, spec.timepoint) in seen_ate:
            continue
        fm = fit_model(spec, trial, single)
        if fm.fit is None:
            continue
        d = fm.design
        binary = spec.kind == "logistic"
        if spec.moderator not in skipped:
            models.append(_pilot_model(spec.outcome, spec.timepoint, spec.moderator, binary, d.X, d.y, fm.fit.coef,
                                       d.names))
        if (spec.outcome, spec.timepoint) not in seen_ate:
            seen_ate.add((spec.outcome, spec.timepoint))
            keep = [k for k, nm in enumerate(d.names) if not nm.startswith(("mod", "treat:"))]
            models.append(_ate_model(spec.outcome, spec.timepoint, binary, d.X[:, keep], d.y,
                                     tuple(d.names[k] for k in keep)))
    return PilotSource(tuple(models), errors, tuple(skipped))


def _pilot_model(outcome, timepoint, moderator, binary, X, y, coef, names) -> PilotModel:
    coef = np.asarray(coef, dtype=float)
    resid = y - X @ coef
    sigma = float(math.sqrt(resid @ resid / max(len(y) - X.shape[1], 1)))
    mod_cols = tuple(k for k, nm in enumerate(names) if nm.startswith("mod"))
    inter_cols = tuple(names.index(f"treat:{names[k]}") for k in mod_cols)
    return PilotModel(outcome, timepoint, moderator, binary, np.array(X, dtype=float), coef,
                      resid - resid.mean(), sigma, names.index("treat"), mod_cols, inter_cols)


def _ate_model(outcome, timepoint, binary, X, y, names) -> PilotModel:
    if binary:
        coef = fit_logistic_stacked(X[None], y[None])[0][0]
    else:
        coef = np.linalg.lstsq(X, y, rcond=None)[0]
    return replace(_pilot_model(outcome, timepoint, "", binary, X, y, coef, list(names)), mod_cols=(), inter_cols=())
