"""Harrell's optimism bootstrap for a model's performance metrics.

The whole modelling step (fitting, and for effect models the cross-validated choice of the
penalty) is repeated in each of B resamples (participants drawn with replacement within each
arm). For each metric: optimism_b = (metric of the resample's model on the resample) -
(metric of that model on the original data); the corrected estimate is the apparent metric
minus the mean optimism (the median for the metrics in ``robust``: a slope of observed on
nearly constant predicted benefit can be arbitrarily large in a few resamples).

The interval is approximate: the percentile interval of the resamples' apparent metrics, moved
so that the resamples' median falls on the corrected estimate (the spread of the metric under
resampling, centred where the correction puts it; it always holds the estimate). A metric whose
apparent value is fixed by the fit itself (the calibration slope of a maximum-likelihood model
on its own data is 1) has instead the percentile interval of the resamples' models tested on the
original data (``tested``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..engines.errors import EngineError


@dataclass(frozen=True)
class Validated:
    apparent: float
    optimism: float
    estimate: float             # apparent - optimism (apparent alone without resamples)
    ci_low: float
    ci_high: float
    replicates: int             # resamples that gave the metric


def stratified_rows(treat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of one resample: participants drawn with replacement within each arm."""
    out = []
    for arm in (1.0, 0.0):
        idx = np.flatnonzero(treat == arm)
        out.append(rng.choice(idx, size=len(idx), replace=True))
    return np.sort(np.concatenate(out))


def optimism_corrected(develop: Callable[[np.ndarray], object], evaluate: Callable[[object, np.ndarray], dict[str, float]],
                       treat: np.ndarray, B: int, level: float, rng: np.random.Generator,
                       tested: tuple[str, ...] = (), robust: tuple[str, ...] = ()) -> dict[str, Validated]:
    """Each metric of ``evaluate(develop(rows), rows)`` corrected for optimism (see the module).

    ``develop(rows)`` fits the model on the participants ``rows`` (with repeats);
    ``evaluate(model, rows)`` gives its metrics on those participants. A resample whose fit or
    metric fails is skipped (``replicates`` counts the others).
    """
    everyone = np.arange(len(treat))
    apparent = evaluate(develop(everyone), everyone)
    boot_app: dict[str, list[float]] = {k: [] for k in apparent}
    boot_opt: dict[str, list[float]] = {k: [] for k in apparent}
    boot_test: dict[str, list[float]] = {k: [] for k in apparent}
    for _ in range(B):
        rows = stratified_rows(treat, rng)
        try:
            model = develop(rows)
            app, test = evaluate(model, rows), evaluate(model, everyone)
        except (EngineError, ValueError, np.linalg.LinAlgError):
            continue
        for k in apparent:
            if math.isfinite(app[k]) and math.isfinite(test[k]):
                boot_app[k].append(app[k])
                boot_opt[k].append(app[k] - test[k])
                boot_test[k].append(test[k])
    alpha = (1 - level) / 2
    out = {}
    for k, a in apparent.items():
        if not boot_opt[k] or not math.isfinite(a):
            out[k] = Validated(a, math.nan, a, math.nan, math.nan, len(boot_opt[k]))
            continue
        opt = float(np.median(boot_opt[k]) if k in robust else np.mean(boot_opt[k]))
        if k in tested:
            lo, hi = np.quantile(boot_test[k], [alpha, 1 - alpha])
            out[k] = Validated(a, opt, a - opt, float(lo), float(hi), len(boot_opt[k]))
            continue
        lo, mid, hi = np.quantile(boot_app[k], [alpha, 0.5, 1 - alpha])
        shift = (a - opt) - float(mid)
        out[k] = Validated(a, opt, a - opt, float(lo) + shift, float(hi) + shift, len(boot_opt[k]))
    return out
