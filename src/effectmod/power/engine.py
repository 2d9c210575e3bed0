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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .pilot import pilot_source
from .sources import PilotModel, PilotSource, ScenarioSource, Size, pilot_coef
from .target import TARGET_COLUMNS, WILSON_Z, target_table, wilson
from .trials import run_chunk, scenario_for, stacked_t

__all__ = ["CHUNK", "POWER_COLUMNS", "TARGET_COLUMNS", "WILSON_Z", "PilotModel", "PilotSource", "PowerGrid",
           "ScenarioSource", "Size", "pilot_source", "run_chunk", "simulate_power", "stacked_t", "target_table", "wilson"]

CHUNK = 250                 # trials per unit of work; fixed so results do not depend on workers
POWER_COLUMNS = ("outcome", "timepoint", "moderator", "n", "scale", "true_interaction", "power", "mcse",
                 "replicates", "ate_power", "ate_mcse", "true_ate", "generating_interaction", "analysis_estimand")
# generating_interaction: the interaction the trials are drawn with (the scenario's latent-model
# coefficient, or the pilot fit's coefficient as set by the grid); analysis_estimand: the population
# value of the coefficient the analysis model estimates and tests, which is what the power is the
# power to detect. true_interaction is the analysis_estimand, kept under its old name for one release.

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
        est = dict(estimands(scenario_for(source, size, scenario_with)))
        return {(o, t, "" if m == "average_effect" else m): v for (m, o, t), v in est.items()}
    out = {}
    for model in source.models:
        coef = pilot_coef(model, size)
        cols = list(model.inter_cols) if model.moderator else [model.treat_col]
        # a categorical moderator (tested jointly): its level interaction largest in size
        out[(model.outcome, model.timepoint, model.moderator)] = float(coef[cols][np.argmax(np.abs(coef[cols]))])
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
    scenario = scenario_for(source, size, scenario_with)
    values = {(it.outcome, it.timepoint, it.moderator): it.value for it in scenario.interactions}
    return {(o.name, f.timepoint, m.name): float(values.get((o.name, f.timepoint, m.name), 0.0))
            for o in scenario.outcomes for f in o.followups for m in scenario.moderators}


