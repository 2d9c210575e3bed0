"""Count (Poisson, negative binomial) and ordinal (proportional odds) fits of one design, with
their checks: overdispersion of a Poisson fit, and proportional odds for the treatment and the
interaction terms (CONTRACT §6.3). Called from ``models.fit.run_engine``; the rows come from the
shared ``interaction_rows``.

Overdispersion (Poisson fits): the Pearson chi-square over its residual df, and the likelihood-
ratio test of the negative binomial against the Poisson model (theta^-1 = 0 is on the boundary:
p from half a chi-square(1)). It is flagged when the LR p is below ``OVERDISPERSION_P`` and the
Pearson ratio above ``OVERDISPERSION_RATIO``: then the Poisson SEs are too small and the note
recommends ``count_model: negative_binomial``.

Proportional odds (ordinal fits): the likelihood-ratio test of threshold-specific effects
(``ordinal::nominal_test``) of ``treat`` and of each ``treat:mod`` column, flagged below
``PO_P``.
"""
from __future__ import annotations

import math
from typing import Any

from ..formatting import number, p_text
from ..plan.schema import Plan
from ..records import COUNT_ENGINE, ORDINAL_ENGINE, OVERDISPERSION, PROPORTIONAL_ODDS, Note
from .design import Design
from .spec import ModelSpec

OVERDISPERSION_P = 0.05
# a Pearson chi-square/df below this inflates SEs by under 10% (sqrt 1.2): not worth a note
OVERDISPERSION_RATIO = 1.2
PO_P = 0.05


def run_count_or_ordinal(spec: ModelSpec, design: Design, plan: Plan) -> tuple[Any, dict[str, Any], tuple[Note, ...]]:
    """The engine's fit alone (what the bootstrap refits): (fit, summary, notes)."""
    # data.cluster: the CR0 sandwich under se: CR2 (the default); se: classical/HC3 with
    # allow_classical_with_clusters asks for the model-based variance, as for logistic models
    clusters = getattr(design, "clusters", None) if plan.analysis.se == "CR2" else None
    if spec.kind == "ordinal":
        return _ordinal(design, clusters)
    return _count(spec, design, plan, clusters)


def model_checks(spec: ModelSpec, design: Design, fit, summary: dict, notes: tuple[Note, ...]) -> tuple[Note, ...]:
    """The checks of a fitted count or ordinal model, once per analysed model (not per bootstrap
    replicate): overdispersion of a Poisson fit, proportional odds of an ordinal fit."""
    if spec.kind == "poisson":
        return (*notes, *_overdispersion(design, fit, summary))
    if spec.kind == "ordinal":
        return (*notes, *_proportional_odds(design, summary))
    return notes


def _count(spec, design, plan, clusters):
    from ..engines.negbin import fit_negbin
    from ..engines.poisson import fit_poisson
    engine = fit_negbin if spec.kind == "negative_binomial" else fit_poisson
    fit = engine(design.X, design.y, design.names, offset=design.offset, cluster=clusters)
    notes = [Note(COUNT_ENGINE, n) for n in fit.notes]
    summary: dict[str, Any] = {"family": fit.family, "converged": fit.converged, "loglik": fit.loglik,
                               "deviance": fit.deviance, "pearson_chi2": fit.pearson_chi2, "df_resid": fit.df_resid,
                               "dispersion_ratio": fit.dispersion_ratio, "zero_counts": int((design.y == 0).sum()),
                               "offset": design.offset is not None, "diverged": fit.diverged}
    if spec.kind == "negative_binomial":
        summary.update(theta=fit.theta, theta_se=fit.theta_se)
    return fit, summary, tuple(notes)


def _overdispersion(design, fit, summary) -> list[Note]:
    from ..engines.errors import EngineError
    from ..engines.negbin import fit_negbin
    from ..engines.poisson import overdispersion_lr
    try:
        nb = fit_negbin(design.X, design.y, design.names, offset=design.offset)
        lr, p = overdispersion_lr(fit.loglik, nb.loglik)
    except EngineError:
        lr, p = math.nan, math.nan
    flagged = bool(p < OVERDISPERSION_P and fit.dispersion_ratio > OVERDISPERSION_RATIO)
    summary.update(overdispersion_lr=lr, overdispersion_p=p, overdispersion_flagged=flagged)
    if not flagged:
        return []
    return [Note(OVERDISPERSION, (
        f"overdispersion: Pearson chi-square/df = {number(fit.dispersion_ratio)}, negative binomial vs Poisson "
        f"LR test {p_text(p)}; the Poisson SEs are too small: use analysis.count_model: negative_binomial"))]


def _ordinal(design: Design, clusters):
    from ..engines.ordinal import fit_ordinal
    fit = fit_ordinal(design.X, design.y, design.names, cluster=clusters)
    notes = tuple(Note(ORDINAL_ENGINE, n) for n in fit.notes)
    summary: dict[str, Any] = {"categories_used": len(fit.categories), "thresholds": [float(t) for t in fit.thresholds],
                               "loglik": fit.loglik, "converged": fit.converged, "separation": fit.separation}
    return fit, summary, notes


def _proportional_odds(design: Design, summary: dict) -> list[Note]:
    from ..engines.errors import EngineError
    from ..engines.ordinal import proportional_odds_lr
    # the treatment and treatment x moderator columns (every arm's, in a multi-arm design)
    checked = [nm for nm in design.names if nm.startswith("treat")]
    po = {}
    for col in checked:
        try:
            lr, df, p = proportional_odds_lr(design.X, design.y, design.names, [col])
        except EngineError:
            lr, df, p = math.nan, 0, math.nan
        po[col] = {"statistic": lr, "df": df, "p_value": p}
    summary["proportional_odds"] = po
    bad = [col for col in checked if po[col]["p_value"] < PO_P]
    if not bad:
        return []
    shown = ", ".join(f"{col} ({p_text(po[col]['p_value'])})" for col in bad)
    return [Note(PROPORTIONAL_ODDS, f"proportional odds questionable (nominal-effects LR test) for {shown}")]
