"""Risk modelling (PATH): a prognostic model of the outcome fitted on both arms without treatment,
the participants grouped by predicted risk, and the treatment effect within each group.

Per group, the effects are those of a GLM of the outcome on treatment alone:

* continuous outcomes: the mean difference (OLS ``y ~ treat``, classical SE, t on n - 2 df);
  no relative effect;
* binary outcomes: the risk difference p1 - p0 with the unpooled binomial standard error
  sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0), which is the linear probability model ``y ~ treat``
  with the HC0 sandwich (Wald z interval); and the odds ratio of the logistic ``y ~ treat``
  (Wald z interval, exponentiated). A group where an arm has no events (or only events) has no
  finite odds ratio: it is left empty with a note.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..engines.errors import EngineError
from ..engines.logistic import fit_logistic
from ..engines.ols import fit_ols


@dataclass(frozen=True)
class Prognostic:
    coef: np.ndarray            # intercept first
    kind: str                   # continuous | binary

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        return self.coef[0] + X @ self.coef[1:]

    def risk(self, X: np.ndarray) -> np.ndarray:
        """Predicted outcome: the mean (continuous) or the probability of the event (binary)."""
        lp = self.linear_predictor(X)
        return lp if self.kind == "continuous" else 1.0 / (1.0 + np.exp(-lp))


def fit_prognostic(X: np.ndarray, y: np.ndarray, kind: str) -> Prognostic:
    """OLS (continuous) or maximum-likelihood logistic (binary) regression of y on X, treatment left out."""
    D = np.column_stack([np.ones(len(y)), X])
    if kind == "continuous":
        return Prognostic(np.asarray(fit_ols(D, y).coef, float), kind)
    fit = fit_logistic(D, y, allow_unconverged=True)
    return Prognostic(np.asarray(fit.coef, float), kind)


def risk_groups(risk: np.ndarray, groups: int | list[float]) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Group index (0 = lowest risk) of each participant and each group's (low, high) bounds.

    A number k: k groups cut at the k-quantiles of predicted risk (numpy's default, R type 7); a
    group takes the values above its lower cut and up to its upper cut. A list: those cut-points.
    """
    if isinstance(groups, int):
        cuts = list(np.quantile(risk, np.arange(1, groups) / groups))
    else:
        cuts = [float(c) for c in groups]
    index = np.searchsorted(np.asarray(cuts, float), risk, side="left")
    bounds = list(zip([-math.inf] + cuts, cuts + [math.inf]))
    return index, bounds


@dataclass(frozen=True)
class GroupEffect:
    n_treated: int
    n_control: int
    mean_treated: float
    mean_control: float
    absolute: tuple[float, float, float]        # estimate, CI low, CI high
    relative: tuple[float, float, float]        # OR (binary) or NaN
    note: str = ""


NAN3 = (math.nan, math.nan, math.nan)


def group_effect(y: np.ndarray, treat: np.ndarray, kind: str, level: float) -> GroupEffect:
    """Absolute and relative effect of treatment in one group (see the module's docstring)."""
    t, c = y[treat == 1], y[treat == 0]
    n1, n0 = len(t), len(c)
    m1 = float(t.mean()) if n1 else math.nan
    m0 = float(c.mean()) if n0 else math.nan
    if n1 < 1 or n0 < 1 or n1 + n0 < 3:
        return GroupEffect(n1, n0, m1, m0, NAN3, NAN3, "too few participants in an arm to compare the arms")
    if kind == "continuous":
        D = np.column_stack([np.ones(n1 + n0), treat])
        try:
            c_ = fit_ols(D, y).contrast(np.array([0.0, 1.0]))
        except EngineError as exc:
            return GroupEffect(n1, n0, m1, m0, NAN3, NAN3, f"mean difference not estimable ({type(exc).__name__})")
        lo, hi = c_.ci(level)
        return GroupEffect(n1, n0, m1, m0, (c_.estimate, lo, hi), NAN3)
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    rd = m1 - m0
    se = math.sqrt(m1 * (1 - m1) / n1 + m0 * (1 - m0) / n0)
    absolute = (rd, rd - z * se, rd + z * se)
    if min(t.sum(), c.sum()) == 0 or max(t.sum() - n1, c.sum() - n0) == 0:
        return GroupEffect(n1, n0, m1, m0, absolute, NAN3, "no finite odds ratio: an arm has no events or only events")
    # the odds ratio of y ~ treat: the ratio of the arms' odds (the logistic MLE of a 2x2 table)
    log_or = math.log(m1 / (1 - m1)) - math.log(m0 / (1 - m0))
    se_or = math.sqrt(1 / t.sum() + 1 / (n1 - t.sum()) + 1 / c.sum() + 1 / (n0 - c.sum()))
    relative = (math.exp(log_or), math.exp(log_or - z * se_or), math.exp(log_or + z * se_or))
    return GroupEffect(n1, n0, m1, m0, absolute, relative)


@dataclass(frozen=True)
class RiskInteraction:
    estimate: float             # treat x linear predictor coefficient
    std_error: float
    p_value: float
    coef: np.ndarray            # (intercept, treat, lp, treat:lp), for the benefit curve
    note: str = ""


def risk_interaction(lp: np.ndarray, y: np.ndarray, treat: np.ndarray, kind: str) -> RiskInteraction:
    """Test of treatment x linear predictor in the full sample: y ~ treat + lp + treat:lp
    (OLS, t test; logistic, Wald z test)."""
    D = np.column_stack([np.ones(len(y)), treat, lp, treat * lp])
    L = np.array([0.0, 0.0, 0.0, 1.0])
    try:
        fit = fit_ols(D, y) if kind == "continuous" else fit_logistic(D, y)
    except EngineError as exc:
        return RiskInteraction(math.nan, math.nan, math.nan, np.full(4, math.nan), f"interaction not estimable ({type(exc).__name__})")
    c = fit.contrast(L)
    return RiskInteraction(c.estimate, c.std_error, c.p_value, np.asarray(fit.coef, float))


def benefit_curve(inter: RiskInteraction, lp: np.ndarray, kind: str) -> np.ndarray:
    """Absolute treatment effect along the linear predictor from the interaction model: the
    mean difference, or the difference of the two arms' fitted risks."""
    b0, b1, b2, b3 = inter.coef
    if kind == "continuous":
        return b1 + b3 * lp
    return 1 / (1 + np.exp(-(b0 + b1 + (b2 + b3) * lp))) - 1 / (1 + np.exp(-(b0 + b2 * lp)))
