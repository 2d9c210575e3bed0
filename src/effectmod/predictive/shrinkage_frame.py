"""shrunken_subgroups.csv: the main model's treatment effect in each level of each binary and
categorical moderator (the subgroup forest plot's numbers, from the conditional effects) beside
the same effects shrunk towards their common mean (``shrinkage``)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..plan.schema import Plan
from .shrinkage import shrink

# the log hazard ratio (Cox, fitted within each level: shrinkage_survival) and the log rate ratio
# (the count outcome's main model) per level; RMST rows (model rmst) are not shrunk
FAMILY_MODELS = ("cox", "poisson", "negative_binomial")
COLUMNS = ("outcome", "timepoint", "moderator", "level", "estimate", "ci_low", "ci_high", "shrunken_estimate",
           "shrunken_ci_low", "shrunken_ci_high", "std_error", "shrunken_std_error", "tau2", "common_effect", "scale", "model")


def shrunken_subgroups(effects: pd.DataFrame | None, trial, plan: Plan) -> pd.DataFrame:
    """One row per level; a moderator whose levels lack a finite estimate or SE is left out."""
    rows: list[dict] = []
    if any(o.type == "time_to_event" for o in plan.outcomes):
        # time-to-event outcomes: a Cox fit within each level (shrinkage_survival), not the main model's rows
        from .shrinkage_survival import survival_level_effects
        kept = effects[effects["model"] != "cox"] if effects is not None else None
        effects = pd.concat([kept, survival_level_effects(trial, plan)], ignore_index=True) if kept is not None and len(kept) \
            else survival_level_effects(trial, plan)
    if effects is None or effects.empty:
        return pd.DataFrame(rows, columns=list(COLUMNS))
    z = float(stats.norm.ppf(1 - (1 - plan.analysis.ci_level) / 2))
    levelled = [m.name for m in plan.moderators if m.type in ("binary", "categorical")]
    # the main analysis (logistic for binary outcomes), on the model's own scale (not the risk-difference rows)
    main = effects[effects["moderator"].isin(levelled) & (effects["scale"] != "risk difference")
                   & effects["model"].isin([plan.analysis.model, "logistic", *FAMILY_MODELS])]
    for (outcome, t, mod, model), g in main.groupby(["outcome", "timepoint", "moderator", "model"], sort=False):
        y = g["effect"].to_numpy(float)
        s = g["std_error"].to_numpy(float)
        if len(y) < 2 or not (np.isfinite(y).all() and np.isfinite(s).all() and (s > 0).all()):
            continue
        post = shrink(y, s)
        for i, (_, r) in enumerate(g.iterrows()):
            rows.append({"outcome": outcome, "timepoint": t, "moderator": mod, "level": str(r["moderator_value"]),
                         "estimate": y[i], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                         "shrunken_estimate": post.estimate[i], "shrunken_ci_low": post.estimate[i] - z * post.std_error[i],
                         "shrunken_ci_high": post.estimate[i] + z * post.std_error[i], "std_error": s[i],
                         "shrunken_std_error": post.std_error[i], "tau2": post.tau2, "common_effect": post.mean,
                         "scale": r["scale"], "model": model})
    return pd.DataFrame(rows, columns=list(COLUMNS))
