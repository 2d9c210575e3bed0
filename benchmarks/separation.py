"""Sparse binary trials: what binary_method ml and firth_if_separated report for the interaction.

Simulates small two-arm trials with a rare binary outcome and a binary moderator, fits each
with the logistic engine the way the analysis does (models/fit.py: ml; a separated ml fit is
kept with its note; firth_if_separated refits those by Firth's penalised likelihood), and
counts rows blanked (not estimable), rows with absurd numbers (|log odds ratio| > 10 or a CI
wider than 20 on the log-odds scale: an odds ratio printed as >999 or <0.001), and the
coverage, bias and rejection rate of the interaction.

    python benchmarks/separation.py [--reps 400] [--seed 1]
"""
from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import stats

from effectmod.engines.logistic import fit_logistic

# n per trial, control event risk, moderator prevalence, true interaction (log odds ratio)
SCENARIOS = [(60, 0.10, 0.3, 0.0), (60, 0.20, 0.3, 0.0), (100, 0.10, 0.3, 0.0), (100, 0.10, 0.3, 1.0),
             (100, 0.20, 0.5, 0.0), (80, 0.20, 0.3, 1.0), (100, 0.05, 0.5, 0.0)]
TREAT = math.log(0.6)      # treatment log odds ratio at the moderator's reference level
MOD = math.log(1.5)        # moderator's log odds ratio in the control arm
Z = stats.norm.ppf(0.975)


def one_trial(rng, n, risk, prevalence, interaction):
    treat = (np.arange(n) % 2).astype(float)
    mod = (rng.random(n) < prevalence).astype(float)
    eta = math.log(risk / (1 - risk)) + TREAT * treat + MOD * mod + interaction * treat * mod
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return np.column_stack([np.ones(n), treat, mod, treat * mod]), y


def row(X, y, method):
    """(estimate, se, separated) of the interaction as the analysis reports it, or None if blanked."""
    try:
        fit = fit_logistic(X, y, method="ml")
    except ValueError:                       # rank deficient: no events, an empty cell of the design
        return None
    separated = fit.separation
    if method == "firth_if_separated" and fit.separation:
        fit = fit_logistic(X, y, method="firth")
    elif not fit.separation and not fit.converged:
        return None
    return fit.coef[3], math.sqrt(max(fit.vcov[3, 3], 0.0)), separated


def main(reps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    print("n, control risk, moderator prevalence, true interaction | method | share of trials: separated, "
          "blanked, absurd | all reported rows: coverage, mean bias, median bias, P<.05 | separated trials only: "
          "coverage, median bias, P<.05")
    for n, risk, prev, truth in SCENARIOS:
        rows = {"ml": [], "firth_if_separated": []}
        for _ in range(reps):
            X, y = one_trial(rng, n, risk, prev, truth)
            for m in rows:
                rows[m].append(row(X, y, m))
        for m, rs in rows.items():
            kept = [r for r in rs if r is not None and math.isfinite(r[0]) and math.isfinite(r[1])]
            est, se, sep = (np.array([r[k] for r in kept]) for k in range(3))
            sep = sep.astype(bool)
            absurd = (np.abs(est) > 10) | (2 * Z * se > 20)
            cover = np.abs(est - truth) <= Z * se
            reject = np.abs(est) > Z * se
            print(f"{n}, {risk}, {prev}, {truth} | {m} | {sep.mean():.2f}, {1 - len(kept) / reps:.2f}, {absurd.mean():.2f} | "
                  f"{cover.mean():.3f}, {est.mean() - truth:+.2f}, {np.median(est) - truth:+.2f}, {reject.mean():.3f} | "
                  + (f"{cover[sep].mean():.3f}, {np.median(est[sep]) - truth:+.2f}, {reject[sep].mean():.3f}" if sep.any() else "-"))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    main(a.reps, a.seed)
