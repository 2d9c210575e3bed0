"""Binary outcomes on the additive scale: the results' ``rd_*`` columns and the
``additive_scale`` section.

A logistic interaction is a ratio of odds ratios; whether the *absolute* benefit differs by
moderator is a different question, and the answer can differ in sign or significance.
For every logistic row we report the difference in risk differences by marginal
standardisation over that model's participants (``inference.additive``):

- binary moderator: RD(non-reference level) - RD(reference level);
- categorical moderator: RD(level) - RD(reference), one per level row (the ``joint`` row
  has no additive counterpart and stays empty);
- continuous moderator: the change in the risk difference per unit of the moderator at its
  mean among the model's participants.

Standard errors by the delta method; z intervals and p. For binary and categorical
moderators the section also holds the standardised risks by arm x level (interval on the
logit scale, so it stays inside 0-1) and the risk difference within each level.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special, stats

from ..engines.base import Contrast
from ..engines.logistic import LogisticFit
from ..models.comparisons import comparison_models, is_multi_arm
from .additive import _risk, _set, additive_interaction, standardised_risk_difference

RD_COLUMNS = ("rd_estimate", "rd_std_error", "rd_ci_low", "rd_ci_high", "rd_p_value")
SECTION_COLUMNS = ("outcome", "timepoint", "moderator", "model", "term", "quantity", "level", "arm", "moderator_value",
                   "estimate", "std_error", "ci_low", "ci_high", "p_value", "n")


def additive_scale(table: pd.DataFrame, fitted: list, trial, plan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table with the ``rd_*`` columns appended (filled on logistic level rows), and the
    tidy ``additive_scale`` frame (one ``rd_interaction`` row per filled table row, plus
    ``risk`` and ``risk_difference`` rows for binary and categorical moderators).

    Models without a logistic fit (linear, mixed, not estimable) and separated maximum-likelihood
    fits leave the columns empty.
    ``table`` is not modified.
    """
    return absolute_scale(table, fitted, trial, plan, _logistic_fit, model_additive_rows)


def _logistic_fit(model) -> bool:
    return model.spec.kind == "logistic" and isinstance(model.fit, LogisticFit) and not model.fit.diverged


def absolute_scale(table: pd.DataFrame, fitted: list, trial, plan, wanted, rows_of) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table with the ``rd_*`` columns filled on the rows of the models ``wanted`` accepts (the
    other rows keep their values; the columns are created empty when missing), and the section
    frame of their ``rows_of(model, moderator type, levels, ci level)`` rows. Shared by the risk
    difference of logistic models and the rate difference of count models."""
    values: dict[tuple, tuple] = {}
    section: list[dict] = []
    # multi-arm: each comparison's view of the model (standardised over its two arms' participants)
    for comparison, model in comparison_models(fitted):
        if not wanted(model):
            continue
        moderator = trial.moderators[model.spec.moderator]
        for row in rows_of(model, moderator.type, moderator.levels, plan.analysis.ci_level):
            if comparison:
                row["comparison"] = comparison
            section.append(row)
            if row["quantity"] == "rd_interaction":
                values[(row["outcome"], row["timepoint"], row["moderator"], row["model"], row["term"], comparison)] = (
                    row["estimate"], row["std_error"], row["ci_low"], row["ci_high"], row["p_value"])
    return fill_rd_columns(table, values), pd.DataFrame(section, columns=list(SECTION_COLUMNS) + (["comparison"] if is_multi_arm(fitted) else []))


def fill_rd_columns(table: pd.DataFrame, values: dict[tuple, tuple]) -> pd.DataFrame:
    """The table with the ``rd_*`` columns set on the rows keyed in ``values`` ((outcome, timepoint,
    moderator, model, term, comparison) -> the five numbers); other rows keep theirs, and the
    columns are created empty when missing."""
    out = table.copy()
    for col in RD_COLUMNS:
        if col not in out:
            out[col] = np.nan
    comparisons = out["comparison"].fillna("") if "comparison" in out else [""] * len(out)
    keys = list(zip(out["outcome"], out["timepoint"], out["moderator"], out["model"], out["term"].fillna(""), comparisons))
    for j, col in enumerate(RD_COLUMNS):
        column = out[col].to_numpy(dtype=float).copy()
        for i, k in enumerate(keys):
            if k in values:
                column[i] = values[k][j]
        out[col] = column
    return out


def model_additive_rows(model, kind: str, levels: tuple[str, ...], ci_level: float) -> list[dict]:
    """The ``additive_scale`` rows of one fitted logistic model; ``kind`` is the moderator's
    type and ``levels`` its level names by code (reference first)."""
    d, fit, spec = model.design, model.fit, model.spec
    X = d.X
    t_col = d.index("treat")
    m_cols = [d.index(nm) for nm in d.mod_names]
    i_cols = [d.index(f"treat:{nm}") for nm in d.mod_names]
    base = {"outcome": spec.outcome, "timepoint": spec.timepoint, "moderator": spec.moderator,
            "model": spec.kind, "n": d.n}
    rows = []
    # the design holds the moderator centred: report the standardisation point in raw units
    at = float(np.mean(X[:, m_cols[0]])) + (d.mod_centre[0] if d.mod_centre else 0.0) if kind == "continuous" else math.nan
    for j, term in enumerate(d.terms):
        c = additive_interaction(fit, X, t_col, m_cols, i_cols, kind, level=j)
        contrasted = levels[1] if kind == "binary" and len(levels) > 1 else term
        rows.append({**base, "term": term, "quantity": "rd_interaction", "level": contrasted, "arm": "", "moderator_value": at,
                     **contrast_numbers(c, ci_level)})
    if kind == "continuous":
        return rows
    for j, lv in enumerate(levels):
        values = [1.0 if k == j - 1 else 0.0 for k in range(len(m_cols))]
        risks = {}
        for t, arm in ((1.0, "treated"), (0.0, "control")):
            risks[arm] = _risk(_set(X, t_col, t, m_cols, i_cols, values), fit.coef)
            rows.append({**base, "term": "", "quantity": "risk", "level": lv, "arm": arm, "moderator_value": math.nan,
                         **_risk_numbers(*risks[arm], fit.vcov, ci_level)})
        c = standardised_risk_difference(fit, X, t_col, m_cols, i_cols, values)
        rows.append({**base, "term": "", "quantity": "risk_difference", "level": lv, "arm": "", "moderator_value": math.nan,
                     **contrast_numbers(c, ci_level)})
    return rows


def contrast_numbers(c: Contrast, ci_level: float) -> dict:
    """A contrast's estimate, SE, CI and P as row entries (CI and P empty when its SE is not positive)."""
    if not (np.isfinite(c.estimate) and np.isfinite(c.std_error) and c.std_error > 0):
        return {"estimate": c.estimate, "std_error": c.std_error, "ci_low": math.nan, "ci_high": math.nan,
                "p_value": math.nan}
    lo, hi = c.ci(ci_level)
    return {"estimate": c.estimate, "std_error": c.std_error, "ci_low": lo, "ci_high": hi, "p_value": c.p_value}


def _risk_numbers(risk: float, grad: np.ndarray, vcov: np.ndarray, ci_level: float) -> dict:
    se = math.sqrt(max(float(grad @ vcov @ grad), 0.0))
    out = {"estimate": risk, "std_error": se, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan}
    if 0.0 < risk < 1.0 and np.isfinite(se):
        # delta method on the logit scale, back-transformed: the interval stays inside (0, 1)
        z = stats.norm.ppf(1.0 - (1.0 - ci_level) / 2.0)
        half = z * se / (risk * (1.0 - risk))
        out["ci_low"], out["ci_high"] = (float(special.expit(special.logit(risk) - half)),
                                         float(special.expit(special.logit(risk) + half)))
    return out
