"""Time-to-event rows beside the interaction models: the average treatment effect (Cox log
hazard ratio of treatment + covariates, with the Kaplan-Meier risk difference at the horizon),
the absolute risk at the horizon per arm within each moderator level, and the data flow's
events, censored and median follow-up (reverse Kaplan-Meier)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..data.trial import TrialData
from ..models.multiarm import comparison_views
from ..plan.schema import Plan


def _z(level: float) -> float:
    from scipy import stats
    return float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))


def risk_difference_at(time, event, treat, horizon: float, level: float) -> dict:
    """KM absolute risk by the horizon per arm, the difference (treated - control) and its CI
    (Greenwood variances, independent arms). Empty when an arm is last observed before it."""
    from ..engines.survival_km import kaplan_meier, risk_at
    out = {}
    for a, name in ((1, "treated"), (0, "control")):
        sel = treat == a
        if not sel.any():
            return {}
        km = kaplan_meier(time[sel], event[sel])
        if km.last < horizon:
            return {}
        r, se = risk_at(km, horizon)
        out[f"risk_{name}"], out[f"risk_{name}_se"] = r, se
    d = out["risk_treated"] - out["risk_control"]
    se = math.hypot(out["risk_treated_se"], out["risk_control_se"])
    z = _z(level)
    out.update(risk_difference=d, rd_std_error=se, rd_ci_low=d - z * se, rd_ci_high=d + z * se)
    return out


def average_survival_rows(trial: TrialData, outcome: str, plan: Plan) -> list[dict]:
    from ..engines.cox import fit_cox
    from ..engines.errors import EngineError
    from ..models.spec import ModelSpec
    from ..models.survival_design import survival_design
    design = survival_design(ModelSpec("cox", outcome, "", ""), trial)
    assert design.event is not None
    level = plan.analysis.ci_level
    fit, note = None, ""
    try:
        # data.cluster under se: CR2: the grouped robust variance, as the interaction models
        fit = fit_cox(design.X, design.y, design.event, design.names,
                      cluster=design.clusters if plan.analysis.se == "CR2" else None)
    except (EngineError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        note = str(exc) or type(exc).__name__
    horizon = trial.outcomes[outcome].horizon
    rows = []
    # multi-arm: one row per comparison (each treated arm vs the control) from the one model
    for comparison, view in (comparison_views(design) if design.arms else [("", design)]):
        assert view.event is not None
        row: dict = {"outcome": outcome, "timepoint": "", "model": "cox", "estimate": math.nan, "std_error": math.nan,
                     "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan, "n": design.n,
                     "scale": "log hazard ratio", "df": math.inf, "note": note, "risk_difference": math.nan,
                     "rd_ci_low": math.nan, "rd_ci_high": math.nan}
        if design.arms:
            row["comparison"] = comparison
        if fit is not None:
            c = fit.contrast(view.effect_L(np.zeros(0)))
            lo, hi = c.ci(level)
            row.update(estimate=c.estimate, std_error=c.std_error, ci_low=lo, ci_high=hi, p_value=c.p_value)
        if horizon is not None:     # the treated minus control risk (KM per arm)
            rd = risk_difference_at(view.y, view.event, view.X[:, view.index("treat")], horizon, level)
            if rd:
                row.update(risk_difference=rd["risk_difference"], rd_ci_low=rd["rd_ci_low"], rd_ci_high=rd["rd_ci_high"])
                # with the outcome's time_unit: 'by 160 days' (was a bare 'by 160'; survival::rhDNase)
                unit = next((o.time_unit for o in plan.outcomes if o.name == outcome and o.time_unit), None)
                when = f"{horizon:g} {unit}" if unit else f"{horizon:g}"
                row["note"] = "; ".join(x for x in (row["note"], f"risk difference: Kaplan-Meier by {when}") if x)
        rows.append(row)
    return rows


def absolute_risks(fitted, trial: TrialData, plan: Plan) -> pd.DataFrame:
    """Per cox model of a binary/categorical moderator: the KM risk by the horizon per arm within
    each level, the risk difference and its Greenwood CI."""
    rows = []
    for fm in fitted:
        if fm.spec.kind != "cox" or fm.design.event is None:
            continue
        o = trial.outcomes[fm.spec.outcome]
        m = trial.moderators[fm.spec.moderator]
        if o.horizon is None or m.type == "continuous":
            continue
        # multi-arm: per comparison, the treated arm and the control within each level
        for comparison, d in (comparison_views(fm.design) if fm.design.arms else [("", fm.design)]):
            assert d.event is not None
            codes = m.values[d.rows]
            treat = d.X[:, d.index("treat")]
            for k, lv in enumerate(m.levels):
                sel = codes == k
                rd = risk_difference_at(d.y[sel], d.event[sel], treat[sel], float(o.horizon), plan.analysis.ci_level)
                rows.append({"outcome": fm.spec.outcome, "moderator": fm.spec.moderator, "level": lv, "horizon": o.horizon,
                             "n": int(sel.sum()), **({"comparison": comparison} if comparison else {}), **rd})
    return pd.DataFrame(rows)


def survival_flow(trial: TrialData) -> pd.DataFrame:
    """Per time-to-event outcome and arm: participants with time and event, events, censored,
    and the median follow-up by the reverse Kaplan-Meier (censoring as the event)."""
    from ..engines.survival_km import median_followup
    rows = []
    arms = trial.flow.arm_values
    for name, o in trial.outcomes.items():
        if o.type != "time_to_event" or o.status is None:
            continue
        t = next(iter(o.followups.values()))
        seen = ~np.isnan(t) & ~np.isnan(o.status)
        groups = [("all", seen), (arms.get("treated", "treated"), seen & (trial.treat == 1)),
                  (arms.get("control", "control"), seen & (trial.treat == 0))]
        if trial.multi_arm and trial.arm is not None:      # each treated arm on its own row
            groups = [("all", seen), *((label, seen & (trial.arm == k)) for k, label in enumerate(trial.arm_labels, start=1)),
                      (arms.get("control", "control"), seen & (trial.arm == 0))]
        for arm, sel in groups:
            rows.append({"outcome": name, "arm": arm, "n": int(sel.sum()), "events": int(o.status[sel].sum()),
                         "censored": int((o.status[sel] == 0).sum()),
                         "median_followup": median_followup(t[sel], o.status[sel]) if sel.any() else math.nan,
                         "time_unit": o.time_unit or ""})
    return pd.DataFrame(rows)
