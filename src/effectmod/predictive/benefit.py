"""Discrimination and calibration for benefit (van Klaveren et al., J Clin Epidemiol 2018).

Treated and control participants are matched 1:1 on predicted benefit (an optimal assignment
minimising the summed absolute differences, ``scipy.optimize.linear_sum_assignment``; with unequal
arms the larger arm's unmatched participants are left out). A pair's predicted benefit is the mean
of its two predictions; its observed benefit is the treated member's outcome minus the control
member's (binary outcomes: -1, 0 or 1). Benefit is taken as the treated-minus-control effect on
the outcome's scale; the c-for-benefit is the same for the opposite sign convention, as long as
predicted and observed benefit use one convention.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# pairs of the concordance computed per block of rows, to bound memory for large samples
_BLOCK = 2048
# groups of matched pairs over which the E-for-benefit compares observed and predicted benefit
BENEFIT_GROUPS = 5


def harrell_c(x: np.ndarray, y: np.ndarray) -> float:
    """Harrell's C of ``x`` for ``y`` with every ``y`` observed, as ``Hmisc::rcorr.cens(x, y)``:
    over pairs with different ``y``, the share in which the larger ``x`` goes with the larger ``y``,
    a tie in ``x`` counting one half; pairs tied in ``y`` are not usable."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    concordant = ties = usable = 0.0
    for start in range(0, len(x), _BLOCK):
        dx = x[start:start + _BLOCK, None] - x[None, :]
        dy = y[start:start + _BLOCK, None] - y[None, :]
        # each unordered pair counted twice, which cancels in the ratio
        use = dy != 0
        usable += float(use.sum())
        concordant += float((use & (dx * dy > 0)).sum())
        ties += float((use & (dx == 0)).sum())
    return (concordant + 0.5 * ties) / usable if usable else float("nan")


@dataclass(frozen=True)
class MatchedPairs:
    treated: np.ndarray          # index of the treated member of each pair
    control: np.ndarray          # index of the control member
    predicted: np.ndarray        # mean of the pair's two predicted benefits
    observed: np.ndarray         # treated outcome minus control outcome


def match_pairs(benefit: np.ndarray, y: np.ndarray, treat: np.ndarray) -> MatchedPairs:
    """1:1 matching of treated to control participants on predicted benefit (least total |difference|)."""
    from scipy.optimize import linear_sum_assignment
    t = np.flatnonzero(treat == 1)
    c = np.flatnonzero(treat == 0)
    cost = np.abs(benefit[t][:, None] - benefit[c][None, :])
    rows, cols = linear_sum_assignment(cost)
    ti, ci = t[rows], c[cols]
    # pairs in the order of the treated members, so that the result does not depend on the solver's order
    order = np.argsort(ti, kind="stable")
    ti, ci = ti[order], ci[order]
    return MatchedPairs(ti, ci, (benefit[ti] + benefit[ci]) / 2.0, y[ti] - y[ci])


def c_for_benefit(pairs: MatchedPairs) -> float:
    """Harrell's C of predicted for observed pair benefit."""
    return harrell_c(pairs.predicted, pairs.observed)


def calibration_for_benefit(pairs: MatchedPairs) -> tuple[float, float]:
    """(E-for-benefit, calibration-for-benefit slope).

    E: pairs in ``BENEFIT_GROUPS`` equal groups by predicted benefit, the pair-weighted mean of
    |mean observed - mean predicted benefit| over the groups (a grouped form of van Klaveren's
    E-for-benefit, which smooths with loess). Slope: least-squares slope of observed on predicted
    pair benefit (1 for a well calibrated model; NaN when the predictions do not vary).
    """
    p, o = pairs.predicted, pairs.observed
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, min(BENEFIT_GROUPS, len(p))) if len(p) else []
    e = sum(len(g) * abs(float(o[g].mean()) - float(p[g].mean())) for g in groups) / len(p) if len(p) else float("nan")
    spread = p - p.mean() if len(p) else p
    ss = float(spread @ spread)
    slope = float(spread @ (o - o.mean())) / ss if ss > 1e-12 * max(1.0, float(p @ p)) else float("nan")
    return float(e), slope
