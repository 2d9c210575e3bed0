"""Row layouts of risk_groups.csv and benefit_metrics.csv (CONTRACT §6.4), shared by the risk
modelling of every outcome type."""
from __future__ import annotations

import math

RISK_COLUMNS = ("outcome", "timepoint", "risk_group", "n_treated", "n_control", "mean_predicted_risk", "absolute_effect",
                "absolute_ci_low", "absolute_ci_high", "relative_effect", "relative_ci_low", "relative_ci_high",
                "risk_low", "risk_high", "observed_treated", "observed_control", "interaction_estimate", "p_interaction", "note")
METRIC_COLUMNS = ("outcome", "timepoint", "model", "metric", "estimate", "ci_low", "ci_high", "apparent", "optimism",
                  "replicates", "n", "note")
RISK_METRICS = ("c_statistic", "calibration_slope")


def not_estimable(outcome, t, model, metric, n, note) -> dict:
    return {"outcome": outcome, "timepoint": t, "model": model, "metric": metric, "estimate": math.nan, "ci_low": math.nan,
            "ci_high": math.nan, "apparent": math.nan, "optimism": math.nan, "replicates": 0, "n": n, "note": note}


def metric_row(outcome, t, model, metric, v, n, note="") -> dict:
    return {"outcome": outcome, "timepoint": t, "model": model, "metric": metric, "estimate": v.estimate,
            "ci_low": v.ci_low, "ci_high": v.ci_high, "apparent": v.apparent, "optimism": v.optimism,
            "replicates": v.replicates, "n": n, "note": note}


def risk_row(outcome, t, g, low, high, e, mean_risk, inter) -> dict:
    """One risk group's row: ``e`` a GroupEffect, ``inter`` the RiskInteraction."""
    return {"outcome": outcome, "timepoint": t, "risk_group": str(g + 1), "n_treated": e.n_treated,
            "n_control": e.n_control, "mean_predicted_risk": mean_risk,
            "absolute_effect": e.absolute[0], "absolute_ci_low": e.absolute[1], "absolute_ci_high": e.absolute[2],
            "relative_effect": e.relative[0], "relative_ci_low": e.relative[1], "relative_ci_high": e.relative[2],
            "risk_low": low, "risk_high": high, "observed_treated": e.mean_treated, "observed_control": e.mean_control,
            "interaction_estimate": inter.estimate, "p_interaction": inter.p_value,
            "note": "; ".join(x for x in (e.note, inter.note) if x)}
