"""`effectmod sap`: the effect-modifier section of a statistical analysis plan, from the plan alone.

Written before any data are seen, it states what SPIRIT 2025 (item 27d) and the SAP guidance of
Gamble et al. (JAMA 2017;318:2337-43) ask of subgroup analyses: each candidate moderator with its
hypothesised direction and rationale, the model (a treatment x moderator interaction), thresholds,
multiplicity, missing data, sensitivity analyses and how results will be interpreted. Moderators
marked ``prespecified: false`` are labelled post hoc, as CONSORT 2025 asks.

``sap_sections`` is a pure function of the plan; ``sap_markdown`` and ``write_sap_docx`` render it.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__
from ..formatting import level_text, threshold_text
from ..plan.labels import label_of
from .display import arm_name, level_name
from .text import printable

SAP_FORMATS = (".md", ".docx")
_FIXED = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)
_MULTIPLICITY = {"holm": "Holm's step-down method (family-wise error rate)",
                 "fdr_bh": "the Benjamini-Hochberg method (false discovery rate)"}


@dataclass(frozen=True)
class Section:
    """One heading with its paragraphs and bullet points, in that order."""

    title: str
    level: int = 2
    paragraphs: tuple[str, ...] = ()
    bullets: tuple[str, ...] = field(default_factory=tuple)


def _n_followups(plan, outcome) -> int | None:
    if outcome.derive is not None:
        source = next(o for o in plan.outcomes if o.name == outcome.derive.from_)
        return _n_followups(plan, source)
    if outcome.type == "time_to_event":
        return 1
    return len(outcome.followups) if outcome.followups is not None else None


def _followups_text(plan, outcome) -> str:
    if outcome.derive is not None:
        source = next(o for o in plan.outcomes if o.name == outcome.derive.from_)
        return f"as for {label_of(source)}"
    if outcome.type == "time_to_event":
        return (f"the whole follow-up (time: column '{outcome.time}', event: column '{outcome.event}')"
                + (f"; horizon {outcome.horizon:g} {outcome.time_unit or ''}".rstrip() if outcome.horizon is not None else ""))
    if outcome.followups is None:
        return f"every assessment time in column '{plan.data.time}' other than the baseline ({outcome.baseline})"
    unit = f" {plan.data.time_unit}" if plan.data.time_unit else ""
    return ", ".join(f"{label}{unit}" for label in outcome.followups)


def _treated_text(plan) -> str:
    """The intervention arm, or a multi-arm trial's intervention arms ('CBT and FT'), by their display names."""
    arms = [arm_name(plan, a) for a in plan.data.treated_arms]
    return arms[0] if len(arms) == 1 else ", ".join(arms[:-1]) + " and " + arms[-1]


def direction_words(plan, m) -> str:
    """The hypothesised direction of a moderator in words, naming the arms."""
    treated, control = _treated_text(plan), arm_name(plan, plan.data.control) if plan.data.control is not None else "control"
    if m.type == "categorical":
        return ("not stated as a direction (the levels of a categorical moderator have no order); "
                "the joint test of the interaction decides")
    if m.hypothesised_direction == "unspecified":
        return "none hypothesised (a finding without a hypothesised direction is less credible)"
    more = m.hypothesised_direction == "greater_benefit_when_higher"
    amount = "greater" if more else "smaller"
    if m.type == "binary":
        ref = f"'{level_name(plan, m.name, m.reference)}'" if m.reference is not None else "the reference level"
        where = f"in participants at the non-reference level than in those at {ref}"
    else:
        where = f"in participants with higher values of {label_of(m)}"
    return f"{amount} benefit of {treated} over {control} {where}"


def _moderator(plan, i: int, m) -> Section:
    kind = m.type
    if m.type != "continuous":
        kind += (f"; reference level '{m.reference}'" if m.reference is not None else
                 "; reference level: the first level in numeric order (or code-point order of the text)")
    if m.type == "binary":
        kind += "; coded 1 for the non-reference level"
    if m.level_labels:      # the levels' display labels (moderators[].level_labels)
        kind += "; levels: " + ", ".join(f"{k} = {level_name(plan, m.name, k)}" for k in m.level_labels)
    bullets = [f"Status: {'pre-specified' if m.prespecified else 'post hoc (chosen after the data were seen; labelled post hoc in every report)'}",
               f"Variable: column '{m.column}', measured at baseline",
               f"Type: {kind}"]
    if m.units:
        bullets.append(f"Units: {m.units}")
    bullets.append(f"Hypothesised direction: {direction_words(plan, m)}")
    bullets.append(f"Rationale: {m.rationale.strip() or 'not given'}")
    bullets.append(f"Prior evidence from other studies: {m.prior_evidence or 'not stated'}")
    if m.at:
        bullets.append("Treatment effect also reported at moderator values: " + ", ".join(f"{v:g}" for v in m.at))
    title = f"{i}. {label_of(m)}" + ("" if m.prespecified else " (post hoc)")
    return Section(title, level=3, bullets=tuple(bullets))


def _tests(plan) -> str | None:
    """The size of each family of the main analysis (one per model type), in words."""
    sizes: dict[str, int] = {}
    for o in plan.outcomes:
        k = _n_followups(plan, o)
        if k is None:
            return None
        kind = "logistic" if o.type == "binary" else ("cox" if o.type == "time_to_event" else plan.analysis.model)
        if o.type in ("count", "ordinal"):
            kind = plan.analysis.count_model if o.type == "count" else "ordinal"
        sizes[kind] = sizes.get(kind, 0) + k * len(plan.moderators)
    if plan.data.multi_arm and len(sizes) == 1:
        # multi-arm: each comparison with the control is its own family (as the report adjusts them)
        n, k = next(iter(sizes.values())), len(plan.data.treated_arms)
        return (f"{n} test{'' if n == 1 else 's'} per comparison in the main analysis, for each of the {k} comparisons "
                f"with {arm_name(plan, plan.data.control)}, each comparison a family; the all-arms joint tests are not adjusted")
    if len(sizes) == 1:
        n = next(iter(sizes.values()))
        return f"{n} test{'' if n == 1 else 's'} in the main analysis"
    return " and ".join(f"{n} {kind}-model tests" for kind, n in sizes.items()) + " in the main analysis, each a family"


def _model_section(plan) -> Section:
    a = plan.analysis
    treated = _treated_text(plan)
    control = arm_name(plan, plan.data.control) if plan.data.control is not None else "the other arm"
    paras = [f"Treatment is coded 1 for {treated} and 0 for {control}. Each moderator is analysed in its own model "
             "containing treatment, the moderator and their product; the estimate of interest is the treatment × "
             "moderator interaction (continuous moderators in their raw units, binary moderators coded 1 for the "
             "non-reference level, categorical moderators as one interaction per non-reference level with a joint "
             "Wald test of all of them)."]
    if plan.data.multi_arm:
        paras = [f"Each intervention arm ({treated}) has its own indicator, coded 1 for that arm and 0 otherwise ({control} "
                 "is 0 on every indicator). Each moderator is analysed in its own model containing the arm indicators, the "
                 "moderator and every arm × moderator product; the estimate of interest is each arm's interaction with the "
                 f"moderator, its comparison with {control} (continuous moderators in their raw units, binary moderators "
                 "coded 1 for the non-reference level, categorical moderators as one interaction per non-reference level "
                 "with a joint Wald test of all of them), and an 'all arms' joint Wald test tests that every arm × "
                 "moderator interaction is 0."]
    fits = []
    kinds = {o.type for o in plan.outcomes}
    for model in a.model_types:
        role = "Main analysis" if model == a.model else "Sensitivity analysis"
        if model == "linear" and "continuous" in kinds and a.se == "CR2":
            fits.append(f"{role}: for each continuous outcome and each follow-up, ordinary least squares regression with "
                        f"the CR2 cluster-robust variance over the clusters of '{plan.data.cluster}' and t-based CIs and P "
                        "values on Satterthwaite degrees of freedom (joint tests: the HTZ Wald test).")
        elif model == "linear" and "continuous" in kinds:
            se = "HC3 heteroscedasticity-consistent" if a.se == "HC3" else "model-based (classical)"
            fits.append(f"{role}: for each continuous outcome and each follow-up, ordinary least squares regression "
                        f"with {se} standard errors and t-based CIs and P values on the residual degrees of freedom.")
        if model == "mixed" and plan.data.cluster is not None:
            fits.append(f"{role}: for each continuous outcome, one linear mixed model over all follow-ups, fitted by "
                        "REML with random intercepts per cluster and per participant and follow-up as a categorical factor "
                        "interacting with treatment and moderator; Satterthwaite degrees of freedom.")
        elif model == "mixed":
            fits.append(f"{role}: for each continuous outcome, one linear mixed model over all follow-ups, fitted by "
                        "REML with a random intercept per participant and follow-up as a categorical factor interacting "
                        "with treatment and moderator; the interaction is estimated at each follow-up, with "
                        "Satterthwaite degrees of freedom.")
    if "binary" in kinds:
        method = {"ml": "maximum likelihood", "firth": "Firth's penalised likelihood",
                  "firth_if_separated": "maximum likelihood, or Firth's penalised likelihood where separation is found"}
        fits.append(f"Binary outcomes: logistic regression at each follow-up fitted by {method[a.binary_method]}; the "
                    "interaction is reported on the log-odds scale and as a ratio of odds ratios, with Wald CIs and P values.")
        if plan.data.cluster is not None and a.se == "CR2":
            fits[-1] += " With clusters, their variance is the CR0 cluster sandwich (no small-sample factor)."
    if "time_to_event" in kinds:
        fits.append("Time-to-event outcomes: Cox proportional-hazards regression over the whole follow-up (Efron's method "
                    "for ties); the interaction is reported on the log-hazard scale and as a ratio of hazard ratios, with "
                    "Wald CIs and P values; proportional hazards are checked by the scaled Schoenfeld residual test. With a "
                    "horizon, the restricted mean survival time to the horizon is compared as well (Kaplan-Meier per arm within "
                    "each moderator level; pseudo-observations for continuous moderators).")
    paras += fits
    adjust = []
    if a.adjust_for_baseline and any(o.baseline is not None or o.derive is not None for o in plan.outcomes):
        adjust.append("the outcome's baseline value (entered once when the moderator is that baseline)")
    if plan.covariates:
        adjust.append("the covariates " + ", ".join(plan.covariate_columns()))
    paras.append(("Every model is adjusted for " + " and ".join(adjust) + ".") if adjust
                 else "Models have no adjustment beyond treatment, moderator and their interaction.")
    return Section("Statistical model", paragraphs=tuple(paras))


def _sensitivity(plan) -> Section:
    a = plan.analysis
    bullets = [f"{m.capitalize()} models beside the main {a.model} model; their results are reported as a sensitivity "
               "analysis and do not replace the main analysis." for m in a.sensitivity]
    if a.bootstrap:
        bullets.append(f"Percentile bootstrap {level_text(a.ci_level)} CIs of each interaction from {a.bootstrap:,} "
                       "resamples of participants within arms.")
    if a.permutations:
        bullets.append(f"Freedman-Lane permutation P values of each linear-model interaction from {a.permutations:,} "
                       "permutations, reported beside the model-based P.")
    if a.cluster_decomposition and plan.data.cluster is not None:
        bullets.append("Within- and between-cluster interactions: each moderator is split into its cluster-mean-centred value "
                       "and its cluster mean, each with its own treatment interaction (Begg and Parides 2003); the "
                       "within-cluster interaction compares participants of the same cluster and is free of cluster-level "
                       "confounding. A moderator constant within clusters has only the between-cluster comparison, which "
                       "is the main interaction.")
    if a.imputations:
        bullets.append("Where many imputed values fall outside a variable's observed range, estimates are also pooled "
                       "from the other imputation method for continuous variables.")
    if not bullets:
        bullets.append("None planned.")
    seed = f" Random steps use the seed {a.seed}." if a.bootstrap or a.permutations or a.imputations else ""
    return Section("Sensitivity and supplementary analyses", bullets=tuple(bullets),
                   paragraphs=(seed.strip(),) if seed else ())


def sap_sections(plan) -> list[Section]:
    """The SAP's effect-modifier section as headings, paragraphs and bullets (no data needed)."""
    a = plan.analysis
    control = arm_name(plan, plan.data.control) if plan.data.control is not None else "the control arm (the other arm in the data)"
    post_hoc = [m for m in plan.moderators if not m.prespecified]
    intro = ("This section of the statistical analysis plan specifies the analyses of treatment effect modification "
             "(subgroup analyses), following SPIRIT 2025 item 27d and the guidance of Gamble et al. (JAMA 2017) on the "
             "content of statistical analysis plans. It was generated from the analysis plan by effectmod "
             f"{__version__} and needs no trial data.")
    trial = (f"Trial: {plan.title}.",) if plan.title.strip() else ()
    out = [Section("Statistical analysis plan: treatment effect modifiers", level=1, paragraphs=(*trial, intro)),
           Section("Trial arms", paragraphs=(
               f"Intervention: {_treated_text(plan)} (column '{plan.data.treatment}'). Comparator: {control}."
               + (f" Each intervention arm is compared with {control} in one model with every arm; an 'all arms' joint "
                  "test of every arm × moderator interaction is reported beside each comparison's."
                  if plan.data.multi_arm else ""),))]
    outcomes = []
    for o in plan.outcomes:
        if o.type in ("binary", "time_to_event"):
            better = "the event is a " + ("good" if plan.better_direction(o.name) == "higher" else "bad") + " result for participants"
        else:
            better = f"{plan.better_direction(o.name)} values are better for participants"
        if plan.better_basis(o.name) == "assumed":
            better += " (assumed: outcomes[].better is not set in the plan)"
        text = (f"{label_of(o)} ({o.type}): " + ("" if o.type == "time_to_event" else "follow-ups ")
                + f"{_followups_text(plan, o)}; {better}")
        if o.derive is not None:
            text += f"; responder outcome derived from {o.derive.from_} by the rule '{o.derive.rule}'"
        elif o.type == "binary" and o.event is not None:
            text += f"; event: {o.event}"
        if o.range is not None:
            text += f"; possible range {o.range[0]:g} to {o.range[1]:g}"
        outcomes.append(text)
    out.append(Section("Outcomes", bullets=tuple(outcomes)))
    count = f"{len(plan.moderators) - len(post_hoc)} pre-specified candidate effect modifiers"
    if post_hoc:
        count += f" and {len(post_hoc)} post hoc ({', '.join(label_of(m) for m in post_hoc)}), which are labelled post hoc wherever reported"
    out.append(Section("Candidate effect modifiers", paragraphs=(
        f"{count[0].upper() + count[1:]} will be analysed, each with the direction hypothesised in advance and its rationale.",)))
    out += [_moderator(plan, i, m) for i, m in enumerate(plan.moderators, start=1)]
    out.append(_model_section(plan))
    tests = _tests(plan)
    n = f" ({tests})" if tests is not None else ""
    out.append(Section("Thresholds", paragraphs=(
        f"Confidence intervals are {level_text(a.ci_level)} intervals. An interaction with P < "
        f"{threshold_text(a.evidence_threshold)} will be reported as evidence of effect modification, and one with "
        f"P < {threshold_text(a.exploratory_threshold)} as hypothesis-generating; these tiers use the unadjusted P.",)))
    mult = (f"P values will be adjusted by {_MULTIPLICITY[a.multiplicity]} and reported beside the unadjusted P."
            if a.multiplicity != "none" else
            "No adjustment for multiple testing is planned; the number of tests will be reported and taken into account "
            "when the results are interpreted.")
    out.append(Section("Multiplicity", paragraphs=(
        f"A family of tests is one model type's interaction tests, one per outcome × follow-up × moderator{n}: the "
        f"interaction of a continuous or binary moderator, the joint test of a categorical one. {mult}",)))
    if a.imputations:
        method = {"norm": "Bayesian linear regression draws (truncated to declared ranges, rounded on whole-number scales)",
                  "pmm": "predictive mean matching"}[a.imputation_method]
        missing = (f"Missing outcomes, baselines, moderators and covariates will be multiply imputed by chained equations "
                   f"within each arm (m = {a.imputations} imputations; continuous variables by {method}); estimates "
                   "will be pooled by Rubin's rules.")
    else:
        missing = ("Each model will use the participants with the outcome, the moderator, the baseline value and the "
                   "covariates observed (complete cases); the number analysed in each model will be reported.")
    out.append(Section("Missing data", paragraphs=(missing,)))
    out.append(_sensitivity(plan))
    if getattr(plan, "predictive", None) is not None:
        from .predictive_sap import predictive_sap
        title, paragraphs, bullets = predictive_sap(plan)
        out.append(Section(title, paragraphs=paragraphs, bullets=bullets))
    out.append(Section("Credibility assessment", paragraphs=(
        "The credibility of each moderator with evidence or hypothesis-generating results will be assessed with the "
        "core questions of ICEMAN (Schandelmaier et al., CMAJ 2020): pre-specification, a hypothesised direction and "
        "whether the observed direction agrees, a small number of effects tested, a test of interaction, continuous "
        "moderators analysed as continuous, consistency across related outcomes and follow-ups, chance (Holm-adjusted "
        "P over the family) and prior evidence. Post hoc moderators are rated lower.",)))
    out.append(Section("Interpretation", paragraphs=(
        "Effect modification will be judged from the tests of interaction, not from separate treatment-effect P values "
        "within subgroups. Every analysis listed here will be reported whatever its result, with the analyses labelled "
        "pre-specified or post hoc, and findings will be presented as hypotheses for confirmation in other trials "
        "unless their credibility is high.",)))
    return out


def sap_markdown(plan) -> str:
    lines: list[str] = []
    for s in sap_sections(plan):
        lines += [f"{'#' * s.level} {printable(s.title)}", ""]
        for p in s.paragraphs:
            lines += [printable(p), ""]
        if s.bullets:
            lines += [f"- {printable(b)}" for b in s.bullets] + [""]
    return "\n".join(lines)


def write_sap_docx(plan, path: Path) -> None:
    from docx import Document
    doc = Document()
    props = doc.core_properties
    props.title = printable(plan.title or "Statistical analysis plan: treatment effect modifiers")
    props.author = props.last_modified_by = "effectmod"
    props.created = props.modified = _FIXED
    props.revision = 1
    for s in sap_sections(plan):
        doc.add_heading(printable(s.title), level=s.level - 1 if s.level > 1 else 0)
        for p in s.paragraphs:
            doc.add_paragraph(printable(p))
        for b in s.bullets:
            doc.add_paragraph(printable(b), style="List Bullet")
    doc.save(str(path))


def write_sap(plan, path: Path, force: bool = False) -> Path:
    """Write the SAP section to ``path`` (.md or .docx) atomically."""
    from ..writing import write_output_file
    what = "the analysis plan section"
    if path.suffix.lower() == ".docx":
        return write_output_file(path, lambda tmp: write_sap_docx(plan, tmp), force, what)
    text = sap_markdown(plan)
    return write_output_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force, what)
