"""The average treatment effect of each outcome and follow-up: the main model without a moderator.

Linear: OLS of y_t on treatment + baseline + covariates with the plan's SE type (t CI on the
residual df). Logistic (binary outcomes): the log odds ratio of treatment (Wald z); odds ratios
are exp() of it; beside it the standardised risk difference (risk_difference, rd_ci_low,
rd_ci_high: every analysed participant treated vs every one in control, delta-method CI).
Mixed: the treatment contrast at each follow-up of y ~ time*treat + baseline + covariates +
(1 | id), Satterthwaite df. Complete cases, also when the plan imputes. The designs are
``models.design``'s with no moderator, fitted by the same engines as every interaction model.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ..data.trial import TrialData
from ..errors import ConvergenceWarning
from ..models.design import Design, attach_clusters, mixed_design
from ..models.multiarm import comparison_views
from ..plan.schema import Plan
from ..records import render_notes
from .additive import standardised_risk_difference

COLUMNS = ("outcome", "timepoint", "model", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n",
           "scale", "df", "note", "risk_difference", "rd_ci_low", "rd_ci_high")
SCALES = {"linear": "mean difference", "mixed": "mean difference", "logistic": "log odds ratio",
          "poisson": "log rate ratio", "negative_binomial": "log rate ratio", "ordinal": "log odds ratio"}


def average_effects(trial: TrialData, plan: Plan) -> pd.DataFrame:
    """One row per outcome x follow-up of the plan's main model (logistic for binary outcomes)."""
    from ..engines.errors import EngineError
    from ..models.design_lazy import materialised
    from ..models.fit import NotEstimable, run_engine
    from ..models.spec import ModelSpec

    main = plan.analysis.model
    adjust = plan.analysis.adjust_for_baseline
    rows = []
    for o in plan.outcomes:
        data = trial.outcomes.get(o.name)
        if data is None:
            continue
        if data.type == "time_to_event":
            from .survival_effects import average_survival_rows
            rows.extend(average_survival_rows(trial, o.name, plan))
            continue
        kind = "mixed" if main == "mixed" and data.type != "binary" else ("logistic" if data.type == "binary" else "linear")
        if data.type in ("count", "ordinal"):     # one model per follow-up of the outcome's own family
            kind = plan.analysis.count_model if data.type == "count" else "ordinal"
        designs: list[tuple[str | None, Design]]
        if kind == "mixed":
            designs = [(None, mixed_design(trial, o.name, None, adjust))]
        else:
            from ..models.design_lazy import single_design as gathered_or_stacked
            designs = [(t, gathered_or_stacked(trial, o.name, None, t, adjust)) for t in data.followups]
        designs = [(t, attach_clusters(d, trial)) for t, d in designs]     # data.cluster: cluster-robust too
        for timepoint, design in designs:
            spec = ModelSpec(kind, o.name, "", timepoint)
            # beside multiple imputation the average effect stays a complete-case estimate
            fit, note = None, ("complete cases" if plan.analysis.imputations > 0 else "")
            try:
                # a design that gathers X on demand (very many rows) gathers it once for the
                # checks and the fit, not once per read
                with materialised(design):
                    if design.X.shape[0] <= design.X.shape[1]:
                        raise NotEstimable(f"{design.n} participants for {design.X.shape[1]} coefficients")
                    # an engine's finding (e.g. REML stopped short) goes into the row's note; the
                    # interaction models already warn about the same data
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        fit, _, notes = run_engine(spec, design, plan)
                note = "; ".join(x for x in (note, render_notes(notes)) if x)
            except (NotEstimable, EngineError, ValueError, ArithmeticError) as exc:
                note = str(exc) or type(exc).__name__
            # multi-arm: one row per comparison, from the one model with every arm
            targets = comparison_views(design) if design.arms else [("", design)]
            for t in design.timepoints:
                for comparison, view in targets:
                    row = {"outcome": o.name, "timepoint": t, "model": kind, "estimate": math.nan, "std_error": math.nan,
                           "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan, "n": design.n,
                           "scale": SCALES[kind], "df": math.nan, "note": note,
                           "risk_difference": math.nan, "rd_ci_low": math.nan, "rd_ci_high": math.nan,
                           "comparison": comparison}
                    if fit is not None:
                        c = fit.contrast(view.effect_L(np.zeros(0), t if kind == "mixed" else None))
                        lo, hi = c.ci(plan.analysis.ci_level)
                        row.update(estimate=c.estimate, std_error=c.std_error, ci_low=lo, ci_high=hi,
                                   p_value=c.p_value, df=c.df)
                        if kind == "logistic":
                            # marginal standardisation over the analysed participants (delta-method CI)
                            rd = standardised_risk_difference(fit, view.X, view.index("treat"), [], [], [])
                            row.update(zip(("risk_difference", "rd_ci_low", "rd_ci_high"),
                                           (rd.estimate, *rd.ci(plan.analysis.ci_level))))
                    rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS) + (["comparison"] if trial.multi_arm else []))
