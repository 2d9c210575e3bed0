"""The statistical analysis plan's words for the predictive (PATH) analyses of a plan."""
from __future__ import annotations

from ..formatting import level_text

FAMILY_SAP = ("Time-to-event outcomes: a Cox prognostic model, predicted risk 1 - S(horizon | x) with the Breslow baseline "
              "hazard, and per group the Kaplan-Meier restricted mean survival time difference to the horizon and the Cox hazard "
              "ratio; count outcomes: a Poisson prognostic model (log exposure as offset), and per group the rate difference and "
              "the rate ratio.")


def predictive_sap(plan) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(heading, paragraphs, bullets) of the SAP section on predictive heterogeneity."""
    pred = plan.predictive
    status = ("These analyses are pre-specified." if pred.prespecified else
              "These analyses are exploratory and will be reported as such.")
    bullets = []
    if pred.risk_predictors:
        groups = (f"{pred.risk_groups} equal-sized groups" if isinstance(pred.risk_groups, int)
                  else "groups cut at " + ", ".join(f"{c:g}" for c in pred.risk_groups))
        bullets.append("Risk modelling: a prognostic model of each outcome (OLS for continuous, logistic for binary outcomes) "
                       f"on {', '.join(pred.risk_predictors)}, fitted on both arms without treatment; participants split "
                       f"into {groups} of predicted risk, with the absolute treatment effect in each group"
                       + (" (and, for binary outcomes, the relative effect)" if any(o.type != "continuous" for o in plan.outcomes)
                          else "") + ", "
                       "and a test of treatment × predicted risk in the whole sample.")
    families = sorted({o.type for o in plan.outcomes if o.type in ("time_to_event", "count")})
    if pred.risk_predictors and families:
        bullets.append(FAMILY_SAP)
    if pred.effect_predictors and families:
        bullets.append("No effect model will be fitted for time-to-event or count outcomes: the c-for-benefit and calibration "
                       "for benefit are not defined for censored follow-up or counts over unequal exposure.")
    if pred.effect_predictors:
        bullets.append(f"Effect modelling: one {pred.penalty}-penalised model of the treatment interactions with "
                       f"{', '.join(pred.effect_predictors)} (penalty chosen by {pred.folds}-fold cross-validation), "
                       "judged by the c-for-benefit, E-for-benefit and calibration-for-benefit slope; the model will be "
                       "reported as not discriminating benefit when the interval of the c-for-benefit includes 0.5.")
    if pred.shrinkage:
        bullets.append("Subgroup effects of binary and categorical moderators will be shown beside the same effects shrunk "
                       "towards their common effect (normal-normal empirical Bayes).")
    boot = (f"Discrimination and calibration will be corrected for optimism with {pred.bootstrap:,} bootstrap resamples, with "
            f"approximate {level_text(plan.analysis.ci_level)} intervals." if pred.bootstrap else
            "Discrimination and calibration will be reported as apparent values.")
    return ("Predictive heterogeneity (PATH)",
            ("Beside the one-moderator-at-a-time analyses, treatment effect heterogeneity will be examined as the PATH "
             f"Statement (Kent et al., Ann Intern Med 2020) recommends. {status}", boot), tuple(bullets))
