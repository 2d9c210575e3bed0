"""The analysis pipeline: plan + data -> every model -> inference -> Results."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .counts import checked_seed
from .data.frame_hash import frame_hash_later
from .data.inputs import load_inputs
from .inference.resample import stratified_bootstrap_counts
from .models.fit import FittedModel, fit_model
from .models.spec import model_specs
from .plan.schema import Plan
from .records import BOOTSTRAP_COMPLETE_CASE, Note, keys_of, merge_on_key, render_notes
from .results import Results
from .results_table import notes_column, per_units, results_table


def analyze(data: str | Path | pd.DataFrame, plan: str | Path | dict | Plan, seed: int | None = None,
            progress=None) -> Results:
    """Run the plan on the data and return the Results.

    ``data``: a file path (csv, tsv, parquet, xlsx, sav, dta, sas7bdat) or a DataFrame (not modified).
    ``plan``: a Plan, a path to a YAML plan, or a mapping. ``seed`` overrides the plan's seed.
    ``progress``: optional callable(done, total, what) for long runs.
    """
    started = time.time()
    # a DataFrame's digest is computed in a second thread while the data are prepared (both only read it)
    frame_digest = frame_hash_later(data) if isinstance(data, pd.DataFrame) else None
    plan_obj, frame, trial = load_inputs(data, plan)  # every plan and data problem, in one error
    if seed is not None:
        seed = checked_seed(seed)
        plan_obj = plan_obj.model_copy(update={"analysis": plan_obj.analysis.model_copy(update={"seed": seed})})
    if frame_digest is not None:
        inputs = {"data": {"source": "DataFrame", "sha256": frame_digest()}}
    else:
        inputs = {"data": {"source": Path(data).name, "sha256": _file_hash(Path(data))}}
    if isinstance(plan, (str, Path)):
        inputs["plan"] = {"source": Path(plan).name, "sha256": _file_hash(Path(plan))}

    rng = np.random.default_rng(plan_obj.analysis.seed)
    specs = model_specs(plan_obj, trial)
    fitted: list[FittedModel] = []
    for i, spec in enumerate(specs):
        fitted.append(fit_model(spec, trial, plan_obj))
        if progress:
            progress(i + 1, len(specs), "models")

    complete_case = fitted
    imputation_sections: dict = {}
    if plan_obj.analysis.imputations > 0:
        from .inference.imputation import analyze_imputed
        fitted = analyze_imputed(trial, plan_obj, fitted, rng, progress=progress, sections=imputation_sections)

    table = results_table(fitted, plan_obj)
    from .inference.average import average_effects
    # the treatment effect without a moderator, per outcome and follow-up (complete cases)
    sections = {"average_effects": average_effects(trial, plan_obj)}
    if complete_case is not fitted:
        from .inference.imputation import missing_data_sections
        sections.update(missing_data_sections(trial, plan_obj, complete_case))
        sections.update(imputation_sections)
    if any(f.spec.kind == "cox" for f in fitted):
        from .inference.survival_effects import absolute_risks, survival_flow
        # KM absolute risk by the horizon per arm within each level; events and median follow-up
        sections["absolute_risk"] = absolute_risks(complete_case, trial, plan_obj)
        sections["time_to_event_flow"] = survival_flow(trial)
    if any(f.spec.kind == "logistic" for f in fitted):
        from .inference.binary import additive_scale
        table, sections["additive_scale"] = additive_scale(table, fitted, trial, plan_obj)
    if any(f.spec.kind == "ordinal" for f in fitted):
        from .inference.ordinal_effects import category_probabilities
        sections["category_probabilities"] = category_probabilities(fitted, trial, plan_obj)
        if complete_case is not fitted:
            from .inference.imputed_effects import pooled_category_probabilities
            # each completed dataset's probabilities, pooled by Rubin's rules
            sections["category_probabilities"] = pooled_category_probabilities(sections["category_probabilities"],
                                                                               fitted, trial, plan_obj)
    if any(f.spec.kind in ("poisson", "negative_binomial") for f in fitted):
        from .inference.count_effects import count_absolute_scale
        table, sections["rate_scale"] = count_absolute_scale(table, fitted, trial, plan_obj)
        if complete_case is not fitted:
            from .inference.imputed_effects import pooled_rate_scale
            # each completed dataset's rate differences, pooled by Rubin's rules
            table, sections["rate_scale"] = pooled_rate_scale(table, sections["rate_scale"], fitted, trial, plan_obj)
    if plan_obj.analysis.bootstrap > 0:
        from .inference.bootstrap import bootstrap_frame
        # stratified by arm (multi-arm: by every arm)
        strata = trial.arm.astype(float) if trial.multi_arm and trial.arm is not None else trial.treat
        counts = stratified_bootstrap_counts(strata, plan_obj.analysis.bootstrap, rng)
        # CONTRACT §3: the bootstrap refits complete cases, also beside multiple imputation
        boot = bootstrap_frame(complete_case, plan_obj, counts, progress=progress)
        # by the row key: a row the complete-case run has no bootstrap for keeps empty bounds
        table = merge_on_key(table, boot, ["boot_ci_low", "boot_ci_high", "boot_replicates"],
                             fill={"boot_ci_low": np.nan, "boot_ci_high": np.nan, "boot_replicates": 0})
        if (table["model"] == "rmst").any():
            from .records import BOOTSTRAP_NOT_RMST
            skip = Note(BOOTSTRAP_NOT_RMST, "bootstrap: not run for rmst rows")
            table["note"] = notes_column([(*n, skip) if m == "rmst" and t != "joint" else n
                                           for n, m, t in zip(table["note"], table["model"], table["term"])])
        if complete_case is not fitted:
            said = Note(BOOTSTRAP_COMPLETE_CASE, "bootstrap CI is of the complete-case analysis")
            table["note"] = notes_column([(*n, said) for n in table["note"]])
    if plan_obj.analysis.permutations > 0:
        from .inference.permutation import permutation_frame
        # a child generator: the bootstrap's and imputation's draws stay as they were
        perm = permutation_frame(fitted, plan_obj.analysis.permutations, rng.spawn(1)[0],
                                 imputed=plan_obj.analysis.imputations > 0, progress=progress)
        table = merge_on_key(table, perm, ["p_permutation", "notes"])
        table["note"] = notes_column([(*n, *extra) for n, extra in zip(table["note"], table.pop("notes"))])
    if plan_obj.analysis.cluster_decomposition:
        from .inference.cluster_decomposition import decomposition_frame
        sections["cluster_decomposition"] = decomposition_frame(complete_case, plan_obj)
    from .inference.effects import interpret
    table, interpretation, jn_regions = interpret(table, fitted, trial, plan_obj)
    sections.update(interpretation)
    if plan_obj.predictive is not None:
        from .predictive.run import predictive_sections
        # risk and effect modelling, shrunken subgroups (PATH; CONTRACT §6.4)
        sections.update(predictive_sections(trial, plan_obj, sections))
    table = per_units(table, plan_obj, sections)

    # the notes, structured until here, rendered once into results.csv's note column
    row_notes = dict(zip(keys_of(table), table["note"]))
    table["note"] = [render_notes(n) for n in table["note"]]
    return Results(table=table, plan=plan_obj, trial=trial, fitted=fitted,
                   inputs=inputs, started=started, finished=time.time(), sections=sections, row_notes=row_notes,
                   jn_regions=jn_regions)


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

