"""The methods paragraph's sentences for count and ordinal outcomes (CONTRACT §6.3)."""
from __future__ import annotations


def count_ordinal_methods(models: set[str], count_model: str) -> list[str]:
    """Clauses for the methods paragraph, one per family present among ``models``."""
    out = []
    if "poisson" in models:
        out.append("count outcomes were analysed at each follow-up by Poisson regression (log link) fitted by maximum "
                   "likelihood, with log(exposure) as an offset where an exposure was given and Wald z CIs and P values; "
                   "interactions are reported as ratios of rate ratios. Overdispersion was checked by the Pearson "
                   "chi-square over its degrees of freedom and the likelihood-ratio test against the negative binomial "
                   "model (P from half a chi-square distribution with 1 degree of freedom, the boundary case)")
    if "negative_binomial" in models:
        out.append("count outcomes were analysed at each follow-up by negative binomial (NB2) regression, the dispersion "
                   "estimated by maximum likelihood jointly with the coefficients (as MASS::glm.nb) and standard errors "
                   "treating it as known, with log(exposure) as an offset where an exposure was given and Wald z CIs "
                   "and P values; interactions are reported as ratios of rate ratios")
    if models & {"poisson", "negative_binomial"}:
        out.append("beside each ratio, the treatment effect on the absolute scale is the standardised rate difference "
                   "(marginal standardisation over the model's participants, delta-method CI)")
    if "ordinal" in models:
        out.append("ordinal outcomes were analysed at each follow-up by a proportional-odds cumulative-logit model "
                   "(as ordinal::clm), logit P(Y <= j) = theta_j - eta, so that an odds ratio above 1 means a shift towards "
                   "higher categories; categories unused in a model were dropped, an ordinal baseline entered as its level "
                   "index, and SEs come from the observed information. Interactions are reported as ratios of odds "
                   "ratios; proportional odds for treatment and the interaction was checked by likelihood-ratio tests of "
                   "threshold-specific (nominal) effects")
    return out
