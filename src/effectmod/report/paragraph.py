"""The report's words: methods generated from the plan, the direction check of each
pre-specified moderator, and the JAMA-style results paragraph."""
from __future__ import annotations

import pandas as pd

from ..inference.credibility import observed_direction, row_better
from ..records import SEPARATION_KEPT
from .count_methods import count_ordinal_methods
from .display import arm_name, arm_pair, binary_comparison, in_sentence, level_name, short_label
from .labels import label_of, moderator_labels, outcome_labels
from .model_names import rmst_when
from .sentences import jama, level_text, p_text, ratio_with_ci, threshold_text
from .tables import RATIO_MODELS, covariate_texts, interaction_name, main_model_rows, missing, per_text, timepoint_text

DIRECTION_TEXT = {"greater_benefit_when_higher": "greater benefit when higher",
                  "less_benefit_when_higher": "less benefit when higher", "unspecified": "not specified"}


# ---------------------------------------------------------------------------- direction
def direction_agreement(results) -> dict[str, str]:
    """Per moderator, how many main-model estimates point the hypothesised way."""
    plan = results.plan
    rows = main_model_rows(results)
    out = {}
    for m in plan.moderators:
        if m.type == "categorical":
            out[m.name] = "not defined for a categorical moderator"
            continue
        if m.hypothesised_direction == "unspecified":
            out[m.name] = "no direction hypothesised"
            continue
        sub = rows[(rows["moderator"] == m.name) & (rows["term"] == "") & (rows["tier"] != "not-estimable")]
        if sub.empty:
            out[m.name] = "not estimable"
            continue
        agree = [observed_direction(r.estimate, row_better(plan, r.outcome, r.model)) == m.hypothesised_direction
                 for r in sub.itertuples()]
        ev = [a for a, t in zip(agree, sub["tier"]) if t == "evidence"]
        k, n = sum(agree), len(agree)
        word = "yes" if k == n else "no" if k == 0 else "partly"
        text = f"{word}: {k} of {n} estimates"
        if ev:
            text += f" ({sum(ev)} of {len(ev)} with evidence)"
        assumed = sorted({r for r in sub["outcome"] if plan.better_basis(r) == "assumed"})
        if assumed:
            text += f"; direction of benefit assumed for {', '.join(assumed)} (outcomes[].better not set)"
        out[m.name] = text
    return out


def direction_contradictions(results) -> list[str]:
    """One sentence per moderator whose claimed main-model findings point opposite to the plan's
    hypothesised direction (credibility's ``direction_consistent`` is "no"), in plain words."""
    cred = results.sections.get("credibility")
    if cred is None or cred.empty:
        return []
    main = set(main_model_rows(results)["model"])
    sub = cred[cred["model"].isin(main) & (cred["direction_consistent"] == "no")]
    plan, out = results.plan, []
    mods = {m.name: m for m in plan.moderators}
    olab = outcome_labels(plan)
    for name in dict.fromkeys(sub["moderator"]):
        rows = sub[sub["moderator"] == name]
        m = mods[name]
        where = _join([f"{in_sentence(olab.get(r.outcome, r.outcome))} {_when(r.timepoint, plan.data.time_unit)}"
                       for r in rows.itertuples()])
        observed = _benefit_text(results, m, rows["observed_direction"].iloc[0])
        hypothesised = _benefit_text(results, m, m.hypothesised_direction)
        out.append(f"For {in_sentence(label_of(m))} on {where}, the observed direction ({observed}) is opposite to the "
                   f"pre-specified hypothesis ({hypothesised}), which lowers credibility.")
    return out


def _benefit_text(results, m, direction: str) -> str:
    """'more benefit at higher kinesiophobia', or for a binary moderator 'less benefit when
    psychoactive medication use is yes than no'."""
    more = "more" if direction == "greater_benefit_when_higher" else "less"
    short = in_sentence(short_label(m))
    levels = getattr(results.trial.moderators.get(m.name), "levels", None)
    if m.type == "binary" and levels and len(levels) == 2:
        level, ref = (level_name(results.plan, m.name, lv) for lv in (levels[1], levels[0]))
        return f"{more} benefit when {short} is {level} than {ref}"
    return f"{more} benefit at higher {short}"


# ---------------------------------------------------------------------------- methods
def methods_text(results) -> list[str]:
    """Paragraphs describing the analysis actually run, from the plan and the fitted models."""
    plan, a = results.plan, results.plan.analysis
    models = set(results.table["model"])
    lvl = level_text(a.ci_level)
    paras = []
    treated, control = arm_pair(results)        # display names (data.arm_labels), else the data's values
    if results.trial.multi_arm:
        treated = ", ".join(arm_name(plan, a) for a in results.trial.arm_labels)
    fits = []
    if "linear" in models and a.se == "CR2":
        from .clusters import linear_methods
        fits.append(linear_methods(results))
    elif "linear" in models:
        se = ("HC3 heteroscedasticity-consistent standard errors" if a.se == "HC3" else "model-based (classical) standard errors")
        fits.append("continuous outcomes were analysed at each follow-up by ordinary least squares linear regression "
                    f"with {se}, {lvl} CIs and two-sided P values from the t distribution on the residual degrees of freedom")
    if "mixed" in models:
        fits.append(("as a sensitivity analysis, " if "mixed" in a.sensitivity else "")
                    + "continuous outcomes were analysed over all follow-ups by a linear mixed model fitted by restricted "
                    "maximum likelihood (REML) with a random intercept per participant and follow-up as a categorical factor "
                    "interacting with treatment and moderator; CIs and P values use Satterthwaite degrees of freedom")
    if "logistic" in models:
        method = {"ml": "maximum likelihood", "firth": "Firth's penalised likelihood",
                  "firth_if_separated": "maximum likelihood (Firth's penalised likelihood where separation was found)"}
        fits.append(f"binary outcomes were analysed by logistic regression fitted by {method.get(a.binary_method, a.binary_method)}, "
                    "with Wald z CIs and P values; interactions are reported as ratios of odds ratios (the exponentiated "
                    "interaction on the log-odds scale, which the tables also give)")
    if "cox" in models:
        fits.append("time-to-event outcomes were analysed by Cox proportional-hazards regression (Efron's method for tied "
                    "times) with Wald z CIs and P values; interactions are reported as ratios of hazard ratios (the exponentiated "
                    "interaction on the log-hazard scale); proportional hazards were checked for the treatment and interaction "
                    "terms by the scaled Schoenfeld residual test (Kaplan-Meier time transform)")
    if "rmst" in models:
        fits.append("the restricted mean survival time (RMST) to the horizon was compared as a model-free companion: per arm "
                    "within each level of a binary or categorical moderator from the Kaplan-Meier curve (the interaction is "
                    "the difference in RMST differences), and for continuous moderators by a linear model of "
                    "infinitesimal-jackknife pseudo-observations with a robust (HC0) variance")
    if results.trial.multi_arm:
        # multi-arm (CONTRACT §6.3): one indicator per treated arm, every arm in each model
        paras.append(f"The trial had {len(results.trial.arm_labels) + 1} arms; each treated arm ({treated}) was compared with "
                     f"{control}. Each model contained every arm (one indicator per treated arm, {control} 0 on all), the "
                     "moderator and every arm × moderator product, so each comparison's interaction is its own arm × moderator "
                     "coefficient; an 'all arms' joint Wald test (F for linear and mixed models, chi-square for logistic, count, ordinal "
                     "and Cox models) tested that every arm × moderator coefficient is 0"
                     + (" (the RMST comparisons have no all-arms test)" if "rmst" in set(results.table["model"]) else "")
                     + (". Multiple-testing adjustment was applied within each comparison; the all-arms tests were not adjusted."
                        if a.multiplicity != "none" else "."))
    fits.extend(count_ordinal_methods(models, a.count_model))
    coding = "" if results.trial.multi_arm else f"Treatment was coded 1 for {treated} and 0 for {control}. "
    paras.append(f"{coding}Each pre-specified moderator was tested in its own model "
                 "containing treatment, the moderator and their product; the reported estimate is the treatment × moderator "
                 "interaction (continuous moderators in raw units, binary moderators coded 1 for the non-reference level, "
                 "categorical moderators as one interaction per non-reference level plus a joint Wald test). "
                 + _per_sentence(plan) + _sentence("; ".join(fits)))
    adj = []
    if a.adjust_for_baseline and any(o.baseline is not None for o in plan.outcomes):
        adj.append("the outcome's baseline value (entered once when the moderator is that baseline)")
    if plan.covariates:
        adj.append("the covariates " + ", ".join(covariate_texts(results)))
    paras.append(("Models were adjusted for " + " and ".join(adj) + ". ") if adj else "Models had no adjustment beyond treatment and moderator. ")
    if plan.data.cluster is not None:
        from .clusters import cluster_paragraph
        paras[-1] += cluster_paragraph(results) + " "
    tiers = (f"Interactions with P < {threshold_text(a.evidence_threshold)} are reported as evidence of effect modification "
             f"and those with P < {threshold_text(a.exploratory_threshold)} as hypothesis-generating; tiers use the unadjusted P.")
    mult = {"holm": "Holm's method", "fdr_bh": "the Benjamini-Hochberg false discovery rate"}
    if a.multiplicity != "none":
        tiers += (f" P values adjusted by {mult[a.multiplicity]} over all interaction tests of each model type are "
                  "reported beside the unadjusted P.")
    else:
        tiers += " No adjustment for multiple testing was made."
    paras[-1] += tiers
    from ..inference.heteroscedasticity import methods_sentence
    if hetero := methods_sentence(results.models):
        paras[-1] += " " + hetero
    extra = []
    if a.bootstrap:
        extra.append(f"Percentile bootstrap {lvl} CIs were computed from {a.bootstrap} resamples of participants within arms.")
    if a.imputations:
        imputed_by = {"pmm": "Continuous variables were imputed by predictive mean matching: an observed value drawn from "
                             "the 5 nearest donors, so that ranges and whole-number scales hold.",
                      "norm": "Continuous variables were imputed by Bayesian linear regression draws; a draw outside the "
                              "outcome's declared range was redrawn (for baselines without a declared range, moderators and "
                              "covariates: outside their observed range; follow-ups without a declared range were not "
                              "truncated; the few draws still outside after 50 redraws were set to the bound), and draws "
                              "on whole-number scales were rounded."}.get(a.imputation_method, "")
        extra.append(f"Missing data were multiply imputed ({a.imputations} imputations by chained equations within "
                     "each arm) and estimates pooled by Rubin's rules.")
        extra.append(imputed_by)
        extra.append(_imputation_range_sentence(results))
    else:
        extra.append("Each model used the participants with the outcome, moderator, baseline and covariates observed (complete cases).")
    if a.permutations:
        extra.append(_permutation_sentence(results, a.permutations))
    paras.append(" ".join(filter(None, extra)))
    stated = "; ".join(f"{label_of(o)}: {plan.better_text(o.name)}" for o in plan.outcomes)
    kinds = {plan.better_direction(o.name) for o in plan.outcomes}
    rule = []
    if "lower" in kinds:
        rule.append("where a higher value is worse, a positive interaction means less benefit of treatment when the "
                    "moderator is higher")
    if "higher" in kinds:
        rule.append("where a higher value is better, a positive interaction means more benefit when the moderator is higher")
    paras.append(f"Direction of benefit (treatment coded 1; outcomes[].better in the plan): {stated}. "
                 + _sentence("; ".join(rule)))
    return paras


def _imputation_range_sentence(results) -> str:
    """How many imputed values fell outside the observed range, and the sensitivity rows."""
    diag = results.sections.get("imputation_diagnostics")
    if diag is None or diag.empty:
        return ""
    a = results.plan.analysis
    basis = "norm draws before truncation" if a.imputation_method == "norm" else "predicted means of the imputed values"
    parts = [f"{r.variable} {r.below_observed + r.above_observed} of {r.imputed} ({r.pct_outside:.0f}%)"
             for r in diag.itertuples() if r.below_observed + r.above_observed]
    text = (f"Imputed values outside the variable's observed range ({basis}): "
            + ("; ".join(parts) if parts else "none") + ".")
    flagged = diag[diag["sensitivity"]]
    if not flagged.empty:
        from ..inference.imputation import OTHER_METHOD, OUTSIDE_SHARE
        text += (f" Where more than {OUTSIDE_SHARE:.0%} of a variable's imputed values fell outside ({', '.join(flagged['variable'])}), "
                 "the imputation model extrapolates, so each row of a model using that variable also reports the estimate "
                 f"pooled from {OTHER_METHOD[a.imputation_method]} imputation (row notes and the imputation sensitivity table).")
    return text


def _per_sentence(plan) -> str:
    """Which continuous moderators' interactions are reported per k units (moderators[].per)."""
    parts = [f"{in_sentence(label_of(m))} {per}" for m in plan.moderators if (per := per_text(m))]
    if not parts:
        return ""
    return (f"Interactions of continuous moderators are reported per unit, except {_join(parts)} "
            "(estimate and CI multiplied accordingly; P unchanged). ")


def _sentence(text: str) -> str:
    return (text[0].upper() + text[1:] + ".") if text else ""


# ---------------------------------------------------------------------------- results paragraph
def results_paragraph(results) -> list[str]:
    """JAMA-style sentences naming the moderators with evidence and those hypothesis-generating."""
    a = results.plan.analysis
    olab, mlab = outcome_labels(results.plan), moderator_labels(results.plan)
    mlab.update({m.name: f"{mlab[m.name]} (post hoc)" for m in results.plan.moderators if not m.prespecified})
    rows = main_model_rows(results)
    rows = rows[(rows["term"] == "") | (rows["term"] == "joint")]
    lvl = a.ci_level
    per = {m.name: per_text(m) for m in results.plan.moderators}
    # a binary moderator's comparison ('male vs female'), as Table 2 names its row
    compared = {name: binary_comparison(results, name) for name in results.trial.moderators}

    def phrase(r) -> str:
        when = (f"at the {rmst_when(results.plan, r.outcome, r.timepoint)}" if getattr(r, "model", "") == "rmst"
                else _when(r.timepoint, results.plan.data.time_unit))
        where = f"{in_sentence(olab.get(r.outcome, r.outcome))} {when}"
        if r.term == "joint":
            return f"{where} (joint test {p_text(r.p_value, a.evidence_threshold)})"
        shown = compared.get(r.moderator, "")
        return f"{where} ({shown + ': ' if shown else ''}{result_text(r, lvl, a.evidence_threshold, per.get(r.moderator, ''))})"

    def sentences(tier: str, verb: str) -> list[str]:
        out = []
        sub = rows[rows["tier"] == tier]
        for mod in dict.fromkeys(sub["moderator"]):
            parts = [phrase(r) for r in sub[sub["moderator"] == mod].itertuples()]
            label = mlab.get(mod, mod)
            # a sentence starts with a capital, even for a label written in lower case ('age_group'),
            # but a first word with capitals of its own stays as written ('eGFR', 'pH')
            first = label.split(" ", 1)[0]
            label = label[:1].upper() + label[1:] if first == first.lower() else label
            out.append(f"{label} {verb} {_join(parts)}.")
        return out

    evidence = sentences("evidence", "modified the effect on")
    hypo = sentences("hypothesis-generating", "showed a possible, hypothesis-generating modification of the effect on")
    paras = []
    n_tests = len(rows[rows["tier"] != "not-estimable"])
    if evidence:
        paras.append(" ".join(evidence))
    else:
        kind = "" if any(not m.prespecified for m in results.plan.moderators) else "pre-specified "
        if n_tests == 1:    # survival::rhDNase: one moderator, one model ('None of the 1 ... tests')
            paras.append(f"The {kind}interaction test showed no evidence of effect modification "
                         f"(P ≥ {threshold_text(a.evidence_threshold)}).")
        else:
            paras.append(f"None of the {n_tests} {kind}interaction tests showed evidence of effect modification "
                         f"(all P ≥ {threshold_text(a.evidence_threshold)}).")
    if hypo:
        paras.append(" ".join(hypo))
    if contradicted := direction_contradictions(results):
        paras.append(" ".join(contradicted))
    # rows of separated maximum-likelihood fits: kept, but their P (near 1) is no evidence of no effect
    diverging = pd.Series(results.has_note(rows, SEPARATION_KEPT), index=rows.index)
    # moderators tested everywhere without a claim; those never estimable are counted below instead
    tiers_of = rows[~diverging].groupby("moderator", sort=False)["tier"].agg(set)
    quiet = [in_sentence(mlab.get(m, m)) for m, t in tiers_of.items()
             if "none" in t and not t & {"evidence", "hypothesis-generating"}]
    if quiet:
        paras.append(f"There was no evidence that {_join(quiet)} modified the treatment effect on any outcome "
                     f"(all P ≥ {threshold_text(a.exploratory_threshold)}).")
    ne = rows[rows["tier"] == "not-estimable"]
    if len(ne):
        paras.append(f"{len(ne)} interaction{'s' if len(ne) > 1 else ''} could not be estimated (see the results table).")
    if diverging.any():
        k = int(diverging.sum())
        paras.append(f"{k} interaction{'s' if k > 1 else ''} came from logistic fits with separation, whose estimates "
                     "and P values are unreliable (odds ratios printed as >999 or <0.001; see the notes in the results "
                     "table; binary_method: firth_if_separated refits them).")
    for model in a.sensitivity:
        sens = results.table[(results.table["model"] == model) & ((results.table["term"] == "") | (results.table["term"] == "joint"))]
        if sens.empty:
            continue
        main_ev = rows[rows["tier"] == "evidence"]
        key = {(r.outcome, r.timepoint, r.moderator, r.term): r for r in sens.itertuples()}
        kept = sum(1 for r in main_ev.itertuples()
                   if (s := key.get((r.outcome, r.timepoint, r.moderator, r.term))) is not None
                   and not missing(s.p_value) and s.p_value < a.evidence_threshold)
        matched = sum(1 for r in main_ev.itertuples() if (r.outcome, r.timepoint, r.moderator, r.term) in key)
        if matched:
            # 'all 3 findings', 'the finding', not '3 of these 3 findings' / '1 of these 1 findings'
            which = ("the finding with evidence " + ("kept" if kept else "did not keep") if matched == 1 else
                     f"all {matched} findings with evidence kept" if kept == matched else
                     f"{kept} of these {matched} findings with evidence kept")
            paras.append(f"In the {model}-model sensitivity analysis, {which} P < {threshold_text(a.evidence_threshold)}.")
    return paras


def result_text(r, ci_level: float, threshold: float, per: str = "") -> str:
    """One interaction as JAMA prints it: the β-coefficient, or for a logistic row the ratio of
    odds ratios (exp of the interaction and of its CI bounds), never the log odds ratio under an
    odds-ratio label; ``per`` ('per 10 years') names the moderator step the estimate is for."""
    label = interaction_name(r.model)
    if per:
        label += f" {per}"
    if r.model not in RATIO_MODELS:
        return jama(r.estimate, r.ci_low, r.ci_high, r.p_value, label=label, ci_level=ci_level, evidence_threshold=threshold)
    est, ci = ratio_with_ci(r.estimate, r.ci_low, r.ci_high)
    return f"{label} = {est} [{level_text(ci_level)} CI, {ci}]; {p_text(r.p_value, threshold)}"


def _when(timepoint, unit) -> str:
    """'at 52 weeks'; 'over follow-up' for a Cox model (its timepoint is empty)."""
    return "over follow-up" if timepoint == "" else f"at {timepoint_text(timepoint, unit)}"


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    if len(parts) == 2:
        return f"{parts[0]} and {parts[1]}"
    return ", ".join(parts[:-1]) + f", and {parts[-1]}"


def _permutation_sentence(results, permutations: int) -> str:
    """What the Freedman-Lane permutations covered: linear models only; when the plan has other model
    types, the sentence names them as having no permutation P (and says so when no model got one)."""
    t = results.table
    linear = "linear" in set(t["model"])
    others = sorted({m for m in t["model"] if m != "linear"})
    short = {"logistic": "logistic", "mixed": "mixed", "poisson": "Poisson", "negative_binomial": "negative binomial",
             "ordinal": "proportional-odds", "cox": "Cox", "rmst": "RMST"}
    names = ", ".join(short.get(m, m) for m in others)
    if not linear:
        return (f"Permutations were requested ({permutations}), but the Freedman-Lane permutation test covers linear "
                f"models only; the {names} models have no permutation P, and their P values are model-based.")
    text = (f"Permutation P values of the linear-model interactions used {permutations} Freedman-Lane "
            "permutations; they are reported beside the model-based P, and tiers use the model-based P.")
    return text + (f" The permutation test covers linear models only: the {names} models have no permutation P."
                   if others else "")
