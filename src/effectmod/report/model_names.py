"""What each model kind is called: its name in tables, its effect's name, its interaction's name and
column head (one place, so the tables, sentences, console and notebook agree)."""
from __future__ import annotations

MODEL_NAMES = {"linear": "Linear regression", "logistic": "Logistic regression", "mixed": "Linear mixed model",
               "poisson": "Poisson regression", "negative_binomial": "Negative binomial regression",
               "ordinal": "Proportional-odds regression",
               "cox": "Cox proportional hazards", "rmst": "Restricted mean survival time"}
# models whose interaction is a log ratio, shown exponentiated: a ratio of odds, rate or hazard ratios
RATIO_MODELS = frozenset({"logistic", "poisson", "negative_binomial", "ordinal", "cox"})
COUNT_MODELS = frozenset({"poisson", "negative_binomial"})
# models fitted per outcome type whatever the plan's main model: they belong to the main analysis
TYPE_MODELS = frozenset({"logistic", "poisson", "negative_binomial", "ordinal", "cox", "rmst"})
# the treatment effect's name per model; "mean difference" for the others (linear, mixed)
EFFECT_NAMES = {"logistic": "odds ratio", "ordinal": "odds ratio", "poisson": "rate ratio", "negative_binomial": "rate ratio",
                "cox": "hazard ratio", "rmst": "RMST difference"}
# an rmst row's interaction: the treated-minus-control RMST difference in a level minus that in the
# reference level (per unit of a continuous moderator), in the time column's units, not a β of a model
RMST_INTERACTION = "Difference in RMST differences"
# a ratio's short name in column heads
_RATIO_SHORT = {"odds ratio": "ORs", "rate ratio": "RRs", "hazard ratio": "HRs"}


def effect_name(model: str) -> str:
    """What a treatment effect of this model is: 'rate ratio', 'odds ratio', 'hazard ratio', 'RMST difference'
    or 'mean difference'."""
    return EFFECT_NAMES.get(model, "mean difference")


def interaction_name(model: str) -> str:
    """What an interaction of this model is, in words: a ratio of rate (odds, hazard) ratios or a β-coefficient."""
    if model == "rmst":
        return "difference in RMST differences"
    return f"ratio of {effect_name(model)}s" if model in RATIO_MODELS else "β-coefficient"


def ratio_head(model: str) -> str:
    """The estimate column's name: 'Ratio of RRs' (count), 'Ratio of ORs' (logistic, ordinal), 'Ratio of HRs' (Cox), 'β'."""
    if model == "rmst":
        return RMST_INTERACTION
    return f"Ratio of {_RATIO_SHORT[effect_name(model)]}" if model in RATIO_MODELS else "β"


def rmst_when(plan, outcome: str, timepoint) -> str:
    """An rmst row's timepoint (its horizon) with the outcome's time unit: 'horizon 180 days'
    (the time unit of a time-to-event outcome is outcomes[].time_unit, not data.time_unit)."""
    unit = next((o.time_unit for o in plan.outcomes if o.name == outcome), None)
    return f"horizon {timepoint} {unit}" if unit else f"horizon {timepoint}"
