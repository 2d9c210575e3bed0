"""Multiple imputation in the analysis pipeline: impute, refit every model, pool (Rubin).

Every outcome follow-up, outcome baseline, moderator and covariate of the trial enters one
chained-equations model, run separately within each arm (``effectmod.data.impute``), so that
each variable is imputed from all the others and every treatment interaction is kept. A
responder outcome derived from a continuous one is derived again on each completed dataset
(passive imputation), so that it always agrees with its source. Continuous variables keep to
the outcome's declared range; moderators, covariates and baselines without one keep to their
observed range; whole-number scales stay whole numbers.

Each model of the complete-case run is then refitted on each of the m completed datasets and
pooled by Rubin's rules with Barnard–Rubin degrees of freedom. The complete-data df is

* linear: the residual df n - p (as ``mice::pool`` takes it from ``lm``);
* logistic: infinite (a Wald z model), which gives Rubin's (1987) df;
* mixed: per contrast, the mean over the m fits of that contrast's Satterthwaite df (and for a
  joint test, the mean of the fits' F denominator df): the df a complete-data analysis would
  have used, averaged because it varies a little between completed datasets.

Linear models of one spec share their structure across the m datasets and are fitted at
once, stacked (one batched QR); logistic and mixed models are fitted one dataset at a time.

The steps live by job: the imputation frame and completed datasets in ``imputed_data``, the refits
and pooling in ``imputed_fits`` (Rubin's rules themselves in ``pooling``), range diagnostics and the
other-method sensitivity in ``imputation_ranges``; this module runs them in order and builds the
missing-data report sections. Their names stay importable from here.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..data.impute import ImputationVariable, missing_patterns, missingness_summary
from ..data.trial import TrialData
from ..models.fit import FittedModel
from ..plan.schema import Plan
from ..records import ROW_KEY, key_columns
from .imputation_ranges import OTHER_METHOD, OUTSIDE_SHARE, _sensitivity, _uses, imputation_diagnostics
from .imputed_data import (
    ITERATIONS,
    ImputationFrame,
    completed_datasets,
    completed_frames,
    completed_trials,
    imputation_frame,
)
from .imputed_fits import PooledMixedFit, _fit_all, _pooled_model

__all__ = ["ITERATIONS", "KEY_COLUMNS", "OTHER_METHOD", "OUTSIDE_SHARE", "ImputationFrame", "PooledMixedFit",
           "_fit_all", "_pooled_model", "_sensitivity", "_uses", "analyze_imputed", "complete_case_frame",
           "completed_datasets", "completed_frames", "completed_trials", "imputation_diagnostics",
           "imputation_frame", "missing_data_sections"]


KEY_COLUMNS = ROW_KEY


def analyze_imputed(trial: TrialData, plan: Plan, fitted: list[FittedModel], rng: np.random.Generator,
                    progress=None, sections: dict | None = None) -> list[FittedModel]:
    """Refit the complete-case run's models on m imputed datasets and pool them (Rubin's rules).

    Returns one FittedModel per model of ``fitted`` (same specs, same order) whose ``fit`` is
    the pooled fit and whose rows carry the pooled numbers, ``n`` = everyone randomised to the
    two arms, and ``fmi``, ``riv``. ``sections`` (a dict) receives ``imputation_diagnostics``
    and, when some variable's imputations fell outside its observed range often, the other
    method's pooled rows as ``imputation_sensitivity`` (see ``_sensitivity``).
    """
    raw: dict = {}
    completed = completed_trials(trial, plan, rng, diagnostics=raw)
    out = []
    specs = [f.spec for f in fitted]
    for i, spec in enumerate(specs):
        out.append(_pooled_model(spec, completed, plan, trial.n))
        if progress:
            progress(i + 1, len(specs), "imputed models")
    imp = imputation_frame(trial, plan)
    diag = imputation_diagnostics(imp, plan, raw)
    if sections is not None and not diag.empty:
        sens = _sensitivity(trial, plan, imp, diag, out)
        sections["imputation_diagnostics"] = diag.drop(columns="_key")
        if sens is not None:
            sections["imputation_sensitivity"] = sens
    return out




# ----------------------------------------------------------------------------- report sections
def complete_case_frame(fitted: list[FittedModel]) -> pd.DataFrame:
    """The complete-case rows (sensitivity analysis beside the imputed ones)."""
    every = [r for f in fitted for r in f.rows]
    cols = [*key_columns(every), "estimate", "std_error", "ci_low", "ci_high", "p_value", "n"]
    rows = [{k: r.get(k, math.nan) for k in cols} for r in every]
    return pd.DataFrame(rows, columns=cols)


def missing_data_sections(trial: TrialData, plan: Plan, complete_case: list[FittedModel]) -> dict[str, pd.DataFrame]:
    """``complete_case``, ``missingness`` (by variable, arm and follow-up) and
    ``missing_patterns`` (md.pattern's table, columns named by data column)."""
    imp = imputation_frame(trial, plan)
    allvars = [ImputationVariable(k, "continuous") for k in imp.frame.columns]
    miss = missingness_summary(imp.frame, allvars, trial.arm_code)
    arms = trial.flow.arm_values
    miss.insert(0, "role", [imp.roles[v][0] for v in miss["variable"]])
    miss.insert(1, "name", [imp.roles[v][1] for v in miss["variable"]])
    miss.insert(2, "timepoint", [imp.roles[v][2] or "" for v in miss["variable"]])
    if trial.multi_arm:
        labels = [arms["control"], *trial.arm_labels]          # multi-arm: each arm by its value
        miss["arm"] = [labels[int(a)] for a in miss["arm"]]
    else:
        miss["arm"] = [arms["treated"] if a == 1 else arms["control"] for a in miss["arm"]]
    miss["variable"] = [imp.sources[v] for v in miss["variable"]]
    patterns = missing_patterns(imp.frame, allvars).rename(columns=imp.sources)
    return {"complete_case": complete_case_frame(complete_case), "missingness": miss, "missing_patterns": patterns}
