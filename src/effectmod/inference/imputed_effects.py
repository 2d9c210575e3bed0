"""The standardised scales of count and ordinal models under multiple imputation: the rate
differences (``rate_scale`` section and the ``rd_*`` columns) and the category probabilities
(``category_probabilities``), computed in each completed dataset from that dataset's own fit and
design, as the complete-case analysis computes them, and pooled by Rubin's rules.

For each quantity Q with estimates q_i and delta-method variances u_i over the m datasets:
Qbar = mean q_i, Ubar = mean u_i, B = var(q_i) (denominator m - 1), T = Ubar + (1 + 1/m) B, and
the Barnard-Rubin df with an infinite complete-data df (Rubin 1987, as for the pooled Wald z rows;
``pooling.barnard_rubin_df``); t intervals and P on that df (z when B = 0). A standardised rate keeps
the complete-case interval's form (on the log scale, back-transformed), a probability its clipping
to [0, 1]. Moderator values at percentiles (continuous moderators) are the mean of the datasets'
percentiles; ``n`` is the number analysed in each completed dataset.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats

from .additive import _set
from .binary import SECTION_COLUMNS, fill_rd_columns
from .count_effects import COUNT_KINDS, model_rate_rows
from .imputed_fits import PooledImputedFit
from .ordinal_effects import COLUMNS as PROBABILITY_COLUMNS
from .ordinal_effects import _with_se, design_points
from .pooling import barnard_rubin_df


def rubin(estimates, std_errors, ci_level: float) -> dict:
    """Rubin's rules for one scalar: estimate, std_error, ci_low, ci_high, p_value and df."""
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(std_errors, dtype=float) ** 2
    m = q.size
    nan = {"estimate": math.nan, "std_error": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan,
           "df": math.nan}
    if m < 2 or not (np.isfinite(q).all() and np.isfinite(u).all()):
        return nan
    qbar, ubar, b = float(q.mean()), float(u.mean()), float(q.var(ddof=1))
    t = ubar + (1.0 + 1.0 / m) * b
    se = math.sqrt(t)
    df = barnard_rubin_df(m, b, t, math.inf) if b > 0 else math.inf
    if not se > 0:
        return {**nan, "estimate": qbar, "std_error": se, "df": df}
    dist = stats.norm if math.isinf(df) else stats.t(df)
    half = float(dist.ppf(1.0 - (1.0 - ci_level) / 2.0)) * se
    return {"estimate": qbar, "std_error": se, "ci_low": qbar - half, "ci_high": qbar + half,
            "p_value": float(2.0 * dist.sf(abs(qbar) / se)), "df": df}


def _datasets(model):
    """(design, fit) of each completed dataset of a pooled count or ordinal model; None when one of
    the fits diverged or the design is a multi-arm one (not standardised, as in the complete cases)."""
    fit = model.fit
    if not isinstance(fit, PooledImputedFit) or not fit.fits:
        return None
    if any(getattr(f, "diverged", False) for f in fit.fits) or any("treat" not in d.names for d in fit.designs):
        return None
    return list(zip(fit.designs, fit.fits))


def pooled_rate_scale(table: pd.DataFrame, section: pd.DataFrame, fitted: list, trial, plan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table with the ``rd_*`` columns of pooled count rows filled, and the ``rate_scale``
    section with the pooled rows appended (the complete-case function leaves pooled fits out)."""
    level = plan.analysis.ci_level
    values: dict[tuple, tuple] = {}
    rows: list[dict] = []
    for model in fitted:
        sets = _datasets(model) if model.spec.kind in COUNT_KINDS else None
        if sets is None:
            continue
        m = trial.moderators[model.spec.moderator]
        each = [model_rate_rows(SimpleNamespace(design=d, fit=f, spec=model.spec), m.type, m.levels, level) for d, f in sets]
        for k, first in enumerate(each[0]):
            pooled = rubin([e[k]["estimate"] for e in each], [e[k]["std_error"] for e in each], level)
            df = pooled.pop("df")
            row = {**first, **pooled, "moderator_value": float(np.mean([e[k]["moderator_value"] for e in each]))}
            if first["quantity"] == "rate" and row["estimate"] > 0 and row["std_error"] > 0:
                # as the complete cases: the interval on the log scale, back-transformed
                q = float((stats.norm if math.isinf(df) else stats.t(df)).ppf(1.0 - (1.0 - level) / 2.0))
                half = q * row["std_error"] / row["estimate"]
                row.update(ci_low=row["estimate"] * math.exp(-half), ci_high=row["estimate"] * math.exp(half), p_value=math.nan)
            rows.append(row)
            if row["quantity"] == "rd_interaction":
                values[(row["outcome"], row["timepoint"], row["moderator"], row["model"], row["term"], "")] = tuple(
                    row[c] for c in ("estimate", "std_error", "ci_low", "ci_high", "p_value"))
    if not rows:
        return table, section
    out = fill_rd_columns(table, values)
    added = pd.DataFrame(rows, columns=list(SECTION_COLUMNS))
    return out, (added if section.empty else pd.concat([section, added], ignore_index=True))


def pooled_category_probabilities(section: pd.DataFrame, fitted: list, trial, plan) -> pd.DataFrame:
    """The ``category_probabilities`` section with the pooled ordinal models' rows appended."""
    level = plan.analysis.ci_level
    rows: list[dict] = []
    for model in fitted:
        sets = _datasets(model) if model.spec.kind == "ordinal" else None
        if sets is None or len({tuple(f.categories) for _, f in sets}) != 1:
            continue
        spec = model.spec
        mod, o = trial.moderators[spec.moderator], trial.outcomes[spec.outcome]
        names = [o.levels[c] if c < len(o.levels) else str(c) for c in sets[0][1].categories]
        per: list[list[tuple]] = []                 # per dataset: (level, value, arm, probabilities, SEs)
        for d, f in sets:
            t_col, m_cols, i_cols, points = design_points(d, mod)
            per.append([(lv, value, arm, *_with_se(f, _set(d.X, t_col, t, m_cols, i_cols, values)))
                        for lv, value, values in points for t, arm in ((1.0, "treated"), (0.0, "control"))])
        for k, (lv, _, arm, _, _) in enumerate(per[0]):
            value = float(np.mean([p[k][1] for p in per]))
            for c, cat in enumerate(names):
                pooled = rubin([p[k][3][c] for p in per], [p[k][4][c] for p in per], level)
                rows.append({"outcome": spec.outcome, "timepoint": spec.timepoint, "moderator": spec.moderator,
                             "model": spec.kind, "level": lv, "moderator_value": value, "arm": arm, "category": cat,
                             "probability": pooled["estimate"], "std_error": pooled["std_error"],
                             "ci_low": max(pooled["ci_low"], 0.0), "ci_high": min(pooled["ci_high"], 1.0),
                             "n": sets[0][0].n})
    if not rows:
        return section
    added = pd.DataFrame(rows, columns=list(PROBABILITY_COLUMNS))
    return added if section.empty else pd.concat([section, added], ignore_index=True)
