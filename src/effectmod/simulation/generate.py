"""Draw simulated trials from a scenario: participants, moderators, outcomes and dropout.

Randomness comes only from the ``numpy.random.Generator`` passed down from ``simulate``; the
draws are taken in a fixed order so that the same seed always gives the same trial.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, special, stats

from .quantile import table, to_margin
from .scenarios import Measure, Scenario

# The estimand is the population value of the analysis model's interaction; one trial this big
# pins it to about +-0.001 (a few percent of the smallest published interaction).
ESTIMAND_N = 400_000
ESTIMAND_SEED = 20_240_601


@dataclass(frozen=True)
class Draw:
    """The numeric content of one simulated trial (binary moderators coded 0/1)."""

    treat: np.ndarray                 # 1 = treated, 0 = control
    female: np.ndarray                # bool
    baseline: dict[str, np.ndarray]   # column -> values, age included
    outcomes: dict[str, np.ndarray]   # follow-up column -> values, NaN where missing


# ---------------------------------------------------------------- baseline

@lru_cache(maxsize=None)
def margin(measure: Measure) -> tuple[np.ndarray, np.ndarray]:
    """Support and probabilities of a measure's marginal distribution.

    An integer measure is a normal discretised to its integer range and truncated to it; the
    latent location and spread are solved for so that the mean and SD equal the targets.
    """
    if measure.binary_levels is not None:
        support = np.array([0.0, 1.0])
        probs = np.array([1.0 - measure.mean, measure.mean])
    else:
        support = np.arange(measure.low, measure.high + 1, dtype=float)

        def probabilities(x: np.ndarray) -> np.ndarray:
            mu, sd = x[0], math.exp(x[1])
            p = np.diff(stats.norm.cdf((np.append(support, measure.high + 1) - 0.5 - mu) / sd))
            return p / p.sum()

        def gap(x: np.ndarray) -> np.ndarray:
            p = probabilities(x)
            m = float(support @ p)
            return np.array([m - measure.mean, math.sqrt(((support - m) ** 2) @ p) - measure.sd])

        fit = optimize.least_squares(gap, [measure.mean, math.log(measure.sd)], xtol=1e-12)
        if np.max(np.abs(fit.fun)) > 1e-6:
            raise ValueError(f"Measure {measure.column!r}: no distribution on "
                             f"{measure.low}-{measure.high} has mean {measure.mean} and SD "
                             f"{measure.sd}.")
        probs = probabilities(fit.x)
    support.flags.writeable = False
    probs.flags.writeable = False
    return support, probs


def population_mean(measure: Measure) -> float:
    support, probs = margin(measure)
    return float(support @ probs)


def latent_correlation(scenario: Scenario) -> np.ndarray:
    """The baseline measures' latent correlation matrix, checked to be positive definite."""
    columns = [m.column for m in scenario.measures]
    corr = np.eye(len(columns))
    for c in scenario.correlations:
        i, j = columns.index(c.a), columns.index(c.b)
        corr[i, j] = corr[j, i] = c.r
    smallest = float(np.linalg.eigvalsh(corr)[0])
    if smallest <= 1e-6:
        raise ValueError(f"Scenario {scenario.name!r}: the baseline correlations are not "
                         f"positive definite (smallest eigenvalue {smallest:.3g}).")
    return corr


def _to_margin(z: np.ndarray, measure: Measure) -> np.ndarray:
    # Quantile transform of a standard normal onto the measure's discrete margin.
    return to_margin(z, _lookup(measure))


@lru_cache(maxsize=None)
def _lookup(measure: Measure) -> tuple:
    return table(*margin(measure))


def _draw_baseline(scenario: Scenario, shape: tuple[int, ...],
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    baseline = {"age": _to_margin(rng.standard_normal(shape), scenario.age)}
    chol = np.linalg.cholesky(latent_correlation(scenario))
    z = rng.standard_normal((*shape, len(scenario.measures))) @ chol.T
    for k, m in enumerate(scenario.measures):
        baseline[m.column] = _to_margin(z[..., k], m)
    return baseline


# ---------------------------------------------------------------- outcomes

def latent_means(scenario: Scenario, baseline: dict[str, np.ndarray],
                 treat: np.ndarray) -> dict[str, np.ndarray]:
    """Each follow-up's latent mean given baseline and arm (before residual noise)."""
    measures = {m.column: m for m in scenario.measures}
    column_of = {m.name: m.column for m in scenario.moderators}
    means = {}
    for outcome in scenario.outcomes:
        base = baseline[outcome.baseline]
        centred_base = base - population_mean(measures[outcome.baseline])
        for f in outcome.followups:
            mu = f.control_latent + f.baseline_slope * centred_base + f.effect_latent * treat
            for it in scenario.interactions:
                if (it.outcome, it.timepoint) == (outcome.name, f.timepoint) and it.value:
                    col = column_of[it.moderator]
                    # Centred at the population mean, so effect_latent stays the average effect.
                    mu = mu + it.value * treat * (baseline[col] - population_mean(measures[col]))
            means[f.column] = mu
    return means


def _draw_outcomes(scenario: Scenario, baseline: dict[str, np.ndarray], treat: np.ndarray,
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    means = latent_means(scenario, baseline, treat)
    followups = [(o, f) for o in scenario.outcomes for f in o.followups]
    chol = np.linalg.cholesky(np.array(scenario.residual_correlation))
    noise = rng.standard_normal((*treat.shape, len(followups))) @ chol.T
    values = {}
    for k, (o, f) in enumerate(followups):
        y = means[f.column] + f.residual_sd * noise[..., k]
        if scenario.observed_scale:
            y = np.clip(np.floor(y + 0.5), o.low, o.high)
        values[f.column] = y
    return values


# ---------------------------------------------------------------- dropout

def _intercept_for_rate(rate: float, spread: float) -> float:
    # Logistic intercept c with E[expit(c + spread * Z)] = rate for Z ~ N(0, 1).
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    return optimize.brentq(lambda c: weights @ special.expit(c + spread * nodes) - rate, -30, 30)


def _apply_dropout(scenario: Scenario, mode: str, baseline: dict[str, np.ndarray],
                   outcomes: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Blank out missed follow-ups in place: a missed visit loses every outcome at it.

    Visit 1 is the first follow-up of every outcome, visit 2 the second. Outcomes after the
    first also miss some visit-1 values on their own (a questionnaire left unanswered).
    """
    spec = scenario.dropout_spec
    u = rng.random((*next(iter(baseline.values())).shape, 3))
    if mode == "none":
        return
    first = scenario.outcomes[0]
    # Given a missed visit 1, visit 2 is mostly missed too; the rate after an attended visit 1
    # makes the marginal visit-2 rate the target.
    after_attended = ((spec.visit52_missing - spec.visit18_missing
                       * spec.visit52_missing_after_missed18) / (1.0 - spec.visit18_missing))
    if mode == "mcar":
        miss1 = u[..., 0] < spec.visit18_missing
        p2 = np.where(miss1, spec.visit52_missing_after_missed18, after_attended)
    else:
        # MAR: visit-1 dropout depends on baseline pain and disability, visit-2 dropout also on
        # the first outcome at visit 1; intercepts put the marginal rates near the targets.
        measures = {m.column: m for m in scenario.measures}
        cols = [o.baseline for o in scenario.outcomes]
        idx = [[m.column for m in scenario.measures].index(c) for c in cols]
        # Scaled by the population SD of the sum (from the latent correlations), never by the
        # sample's, so that one participant's dropout does not depend on the others' values.
        spread = math.sqrt(latent_correlation(scenario)[np.ix_(idx, idx)].sum())
        zb = sum((baseline[c] - measures[c].mean) / measures[c].sd for c in cols) / spread
        kb, kf = spec.mar_baseline_slope, spec.mar_followup_slope
        c1 = _intercept_for_rate(spec.visit18_missing, kb)
        miss1 = u[..., 0] < special.expit(c1 + kb * zb)
        f1 = first.followups[0]
        y1 = outcomes[f1.column]
        zf = (y1 - (f1.target_control_mean + f1.target_effect / 2)) / f1.target_control_sd
        c2 = _intercept_for_rate(after_attended, math.hypot(kb, kf))
        p2 = np.where(miss1, spec.visit52_missing_after_missed18,
                      special.expit(c2 + kb * zb + kf * np.nan_to_num(zf)))
    miss2 = u[..., 2] < p2
    for k, outcome in enumerate(scenario.outcomes):
        f1 = outcome.followups[0]
        extra = (u[..., 1] < spec.rmdq18_extra_missing) if k > 0 else False
        outcomes[f1.column][miss1 | extra] = np.nan
        for f in outcome.followups[1:]:
            outcomes[f.column][miss2] = np.nan


def draw(scenario: Scenario, n: int, rng: np.random.Generator, dropout: str,
         reps: int | None = None) -> Draw:
    """Draw one trial of ``n`` participants as arrays (allocation exactly n//2 treated).

    With ``reps``, draws that many independent trials at once: every array then has shape
    (reps, n), one row per trial (cheap replicates for power and coverage studies).
    """
    shape = (n,) if reps is None else (reps, n)
    arms = np.r_[np.ones(n // 2), np.zeros(n - n // 2)]
    treat = rng.permuted(np.broadcast_to(arms, shape).copy(), axis=-1)
    baseline = _draw_baseline(scenario, shape, rng)
    female = rng.random(shape) < scenario.female_share
    outcomes = _draw_outcomes(scenario, baseline, treat, rng)
    _apply_dropout(scenario, dropout, baseline, outcomes, rng)
    return Draw(treat, female, baseline, outcomes)


# ---------------------------------------------------------------- estimands

def estimands(scenario: Scenario) -> tuple[tuple[tuple[str, str, str], float], ...]:
    """Population interaction b3 of the analysis model, per (moderator, outcome, timepoint).

    The model is the one effectmod fits: y_t ~ treat + mod + treat:mod + baseline_y, one
    moderator at a time, the baseline entering once when it is the moderator. Key
    (``"average_effect"``, outcome, timepoint) holds the ANCOVA treatment coefficient.
    Cached per scenario; dropout does not enter the key since the estimand ignores it.
    """
    return _estimands(dataclasses.replace(scenario, dropout="none"))


@lru_cache(maxsize=32)
def _estimands(scenario: Scenario) -> tuple[tuple[tuple[str, str, str], float], ...]:
    pairs = [(m, o, f) for m in scenario.moderators for o in scenario.outcomes
             for f in o.followups]
    if not scenario.observed_scale and not any(it.value for it in scenario.interactions):
        # The latent model is linear in treat and baseline with independent noise, so the
        # analysis model is correctly specified and its interaction is exactly 0.
        out = [((m.name, o.name, f.timepoint), 0.0) for m, o, f in pairs]
        out += [(("average_effect", o.name, f.timepoint), f.effect_latent)
                for o in scenario.outcomes for f in o.followups]
        return tuple(out)
    big = draw(scenario, ESTIMAND_N, np.random.default_rng(ESTIMAND_SEED), "none")
    t = big.treat
    # Every regressor any of the models needs, centred: with an intercept in each model,
    # centring leaves the slopes unchanged, and one cross-product matrix serves all the fits.
    names = ["treat"] + [m.column for m in scenario.moderators] \
        + [f"treat:{m.column}" for m in scenario.moderators]
    cols = [t] + [big.baseline[m.column] for m in scenario.moderators] \
        + [t * big.baseline[m.column] for m in scenario.moderators]
    for o in scenario.outcomes:
        if o.baseline not in names:
            names.append(o.baseline)
            cols.append(big.baseline[o.baseline])
    x = np.column_stack(cols)
    x -= x.mean(axis=0)
    gram = x.T @ x
    where = {name: k for k, name in enumerate(names)}

    def slopes(regressors: list[str], y: np.ndarray) -> np.ndarray:
        idx = [where[r] for r in regressors]
        return np.linalg.solve(gram[np.ix_(idx, idx)], x[:, idx].T @ (y - y.mean()))

    out = []
    for m, o, f in pairs:
        regressors = ["treat", m.column, f"treat:{m.column}"]
        if m.column != o.baseline:
            regressors.append(o.baseline)
        b = slopes(regressors, big.outcomes[f.column])
        out.append(((m.name, o.name, f.timepoint), float(b[2])))
    for o in scenario.outcomes:
        for f in o.followups:
            b = slopes(["treat", o.baseline], big.outcomes[f.column])
            out.append((("average_effect", o.name, f.timepoint), float(b[0])))
    return tuple(out)


# ---------------------------------------------------------------- calibration

def calibrate_followup(scenario: Scenario, outcome: str, timepoint: str,
                       n: int = 200_000, seed: int = 1) -> dict[str, float]:
    """Latent intercept, effect and residual SD that reproduce a follow-up's observed targets.

    Used once to set the numbers in ``scenarios.py``: on a large sample, the observed (rounded,
    clipped) sham mean and SD and the treated-minus-sham mean difference equal the
    ``target_*`` values. Expectations over the residual are exact (discretised normal), so the
    criterion is smooth in the parameters.
    """
    o = next(x for x in scenario.outcomes if x.name == outcome)
    f = next(x for x in o.followups if x.timepoint == timepoint)
    d = draw(scenario, n, np.random.default_rng(seed), "none")
    base_mu = latent_means(scenario, d.baseline, d.treat)[f.column] - f.control_latent \
        - f.effect_latent * d.treat
    k = np.arange(o.low, o.high + 1, dtype=float)
    edges = np.r_[-np.inf, k[1:] - 0.5, np.inf]

    def moments(mu: np.ndarray, sd: float) -> tuple[float, float]:
        p = np.diff(special.ndtr((edges[None, :] - mu[:, None]) / sd), axis=1)
        m1, m2 = p @ k, p @ (k * k)
        mean = float(m1.mean())
        return mean, math.sqrt(float(m2.mean()) - mean ** 2)

    ctrl, trt = d.treat == 0, d.treat == 1

    def gap(x: np.ndarray) -> list[float]:
        a, effect, sd = x
        m0, s0 = moments(a + base_mu[ctrl], sd)
        m1, _ = moments(a + effect + base_mu[trt], sd)
        return [m0 - f.target_control_mean, s0 - f.target_control_sd, m1 - m0 - f.target_effect]

    sol = optimize.least_squares(gap, [f.target_control_mean, f.target_effect,
                                       f.target_control_sd])
    return dict(zip(("control_latent", "effect_latent", "residual_sd"), map(float, sol.x)))
