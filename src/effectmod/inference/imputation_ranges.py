"""Range diagnostics of multiple imputation, and the sensitivity analysis they trigger: where a
variable's imputed values fall outside its observed range often, the other imputation method's
pooled rows beside each row that uses it."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..data.trial import TrialData
from ..models.fit import (
    FittedModel,
)
from ..models.spec import ModelSpec
from ..plan.schema import Plan
from ..records import IMPUTATION_SENSITIVITY, ROW_KEY, Note, as_notes, key_columns
from .imputed_data import ImputationFrame, completed_trials
from .imputed_fits import _pooled_model

KEY_COLUMNS = ROW_KEY

# ----------------------------------------------------------------------------- range diagnostics
# Above this share of a variable's imputed values outside its observed range (norm: the draws
# before truncation; pmm: the predicted means), the other method's pooled estimate is reported
# beside each row that uses the variable: the methods then rest on different assumptions about
# the values nobody observed (normal extrapolation vs the observed values' shape), and can differ.
OUTSIDE_SHARE = 0.05
OTHER_METHOD = {"norm": "pmm", "pmm": "norm"}


def imputation_diagnostics(imp: ImputationFrame, plan: Plan, raw: dict) -> pd.DataFrame:
    """Per imputed continuous variable: imputed values (over the m imputations), how many fell
    below / above the observed range before truncation, and the range they were truncated to."""
    method = plan.analysis.imputation_method
    bounds = {v.name: v for v in imp.variables}
    rows = []
    for key, d in raw.items():
        role, name, t = imp.roles[key]
        v = bounds[key]
        outside = d["below"] + d["above"]
        rows.append({"variable": imp.sources[key], "role": role, "name": name, "timepoint": t or "",
                     "method": method, "basis": "draw before truncation" if method == "norm" else "predicted mean",
                     "imputed": d["imputed"], "below_observed": d["below"], "above_observed": d["above"],
                     "pct_outside": 100.0 * outside / d["imputed"] if d["imputed"] else math.nan,
                     "observed_min": d["observed_min"], "observed_max": d["observed_max"],
                     "truncated_low": math.nan if v.lower is None else float(v.lower),
                     "truncated_high": math.nan if v.upper is None else float(v.upper),
                     "rounded": bool(v.integer) and method == "norm",
                     "_key": key})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["sensitivity"] = frame["pct_outside"] > 100.0 * OUTSIDE_SHARE
    return frame


def _uses(spec: ModelSpec, role: tuple, plan: Plan) -> bool:
    """Does the model of ``spec`` contain the imputed variable with this role?"""
    kind, name, t = role
    sources = {name} | {o.name for o in plan.outcomes if o.derive is not None and o.derive.from_ == name}
    if kind == "outcome":
        return spec.outcome in sources and (spec.kind == "mixed" or spec.timepoint == t)
    if kind == "baseline":
        return spec.outcome in sources
    if kind == "moderator":
        return spec.moderator == name
    return True        # a covariate enters every model


def _per(plan: Plan, moderator: str) -> tuple[float, str]:
    """(k, ' per k units') of a continuous moderator with moderators[].per; (1, '') otherwise."""
    m = next((m for m in plan.moderators if m.name == moderator), None)
    if m is None or m.type != "continuous" or m.per is None or m.per == 1:
        return 1.0, ""
    return m.per, f" per {m.per:g} {m.units or 'units'}"


def _sensitivity(trial: TrialData, plan: Plan, imp: ImputationFrame, diag: pd.DataFrame,
                 pooled: list[FittedModel]) -> pd.DataFrame | None:
    """The other imputation method's pooled rows for every model that uses a flagged variable.

    Imputed from a fresh generator seeded with the plan's seed: the numbers are those a run with
    the other ``imputation_method`` reports. The main rows gain a note naming them."""
    from ..formatting import jama, number, p_text

    flagged = diag[diag["sensitivity"]]
    if flagged.empty:
        return None
    roles = {r["_key"]: imp.roles[r["_key"]] for r in flagged.to_dict("records")}
    hits = [i for i, f in enumerate(pooled) if any(_uses(f.spec, role, plan) for role in roles.values())]
    if not hits:
        return None
    other = OTHER_METHOD[plan.analysis.imputation_method]
    completed = completed_trials(trial, plan, np.random.default_rng(plan.analysis.seed), method=other)
    a = plan.analysis
    rows = []
    for i in hits:
        main = pooled[i]
        alt = _pooled_model(main.spec, completed, plan, trial.n, method=other)
        because = [f"{imp.sources[k]} {number(diag.loc[diag['_key'] == k, 'pct_outside'].iloc[0], 0)}%"
                   for k, role in roles.items() if _uses(main.spec, role, plan)]
        for r, s in zip(main.rows, alt.rows):
            rows.append({**{k: r[k] for k in key_columns(main.rows)}, "method": other, "estimate": s["estimate"],
                         "ci_low": s["ci_low"], "ci_high": s["ci_high"], "p_value": s["p_value"],
                         f"estimate_{a.imputation_method}": r["estimate"], "outside_observed_range": "; ".join(because)})
            if r["term"] == "joint" or math.isnan(s.get("p_value", math.nan)):
                said = p_text(s["p_value"], a.evidence_threshold) if not math.isnan(s["p_value"]) else "no estimate"
            else:
                label = "log odds ratio" if main.spec.kind == "logistic" else "β"
                # per k units of the moderator as the row itself (moderators[].per; the pipeline
                # scales the row and this section after all inference, but this text is final here)
                k, per = _per(plan, main.spec.moderator)
                said = jama(k * s["estimate"], k * s["ci_low"], k * s["ci_high"], s["p_value"], label=label + per,
                            ci_level=a.ci_level, evidence_threshold=a.evidence_threshold)
            text = (f"{other} imputation gives {said} ({a.imputation_method} imputations outside the observed range: "
                    + ", ".join(because) + ")")
            r["note"] = (*as_notes(r.get("note")), Note(IMPUTATION_SENSITIVITY, text))
    return pd.DataFrame(rows)
