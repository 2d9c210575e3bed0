"""The streamed analysis: a Parquet file or directory larger than memory, read in two or three passes by batches.

Pass 1 (``read.survey``) collects what data preparation needs; pass 2 codes each batch as
``data.prepare`` does and adds each model's rows (``models.design.single_design``'s columns and
complete-case rule) to its sums (``sums.Moments``); the fits, the interaction rows, p_adjusted and
the tiers then come from the same code as the in-memory analysis. Memory holds one batch and, per
model, a (p+1) x (p+1) matrix.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..models.design import Design
from ..models.spec import ModelSpec
from ..plan.schema import Plan
from ..records import HETEROSCEDASTICITY, NOT_ESTIMABLE, Note
from .check import heteroscedasticity
from .distributed import PartRunner
from .passes import ModelSums, meat_part, merge_meats, merge_sums, sums_part
from .read import BATCH_ROWS, check_columns, check_scope, finish_survey, open_dataset, survey_part
from .sums import fit_from_moments

STREAMED = "streamed"
STREAM_NOTE = Note(STREAMED, "streamed analysis: conditional effects and resampling not run")
HC3_NOTE = Note(STREAMED, "streamed analysis (HC3 from a third pass over the data): conditional effects and resampling not run")


@dataclass(frozen=True)
class StreamDesign(Design):
    """A design known by its columns' names and its participant count only (its rows were streamed)."""
    count: int = 0

    @property
    def n(self) -> int:
        return self.count


def _design(ms: ModelSums) -> StreamDesign:
    return StreamDesign(np.zeros((0, len(ms.names))), np.zeros(0), ms.names, np.zeros(0, dtype=int), ms.mod_names,
                        ms.terms, dict(ms.excluded), timepoints=(ms.timepoint,), mod_centre=ms.centre, count=ms.moments.n)


def analyze_stream(data: str | Path, plan: Plan, batch_rows: int = BATCH_ROWS, client=None, skip_check: bool = False) -> dict:
    """The streamed analysis of ``data`` (a Parquet file or directory): {'table', 'average_effects', 'flow'}.
    With a ``dask.distributed`` ``client`` each pass reads the files on the cluster's workers (a
    file each) and the parts' sums are merged here. With classical SEs a third pass runs the
    heteroscedasticity check (as in memory) unless ``skip_check``."""
    from ..engines.ols import GRAM_CONDITION_LIMIT, OLSFit
    from ..inference.average import COLUMNS, SCALES
    from ..models.fit import FittedModel, empty_rows, interaction_rows
    from ..records import render_notes
    from ..results_table import per_units, results_table
    started = time.time()
    check_scope(plan)
    dataset = open_dataset(data)
    check_columns(dataset, plan)
    parts = PartRunner(dataset, client)
    s = finish_survey(parts.merged(survey_part, plan=plan, batch_rows=batch_rows), plan)
    participants, sums = merge_sums(parts.each(sums_part, plan=plan, s=s, batch_rows=batch_rows))
    fitted, average = [], []
    level = plan.analysis.ci_level
    se = plan.analysis.se
    fits = [fit_from_moments(ms.moments, GRAM_CONDITION_LIMIT) for ms in sums]
    check_pass = se == "HC3" or not skip_check
    # pass 3: the HC3 meat (se: HC3) or the heteroscedasticity check of classical SEs
    third = merge_meats(parts.each(meat_part, plan=plan, s=s, fits=fits, batch_rows=batch_rows)) if check_pass else []
    if se == "HC3":
        fits = [f if isinstance(f, str) else replace(f, vcov=f.hc3(acc[0])) for f, acc in zip(fits, third)]
    for ms, res in zip(sums, fits):
        design = _design(ms)
        fit = None if isinstance(res, str) else OLSFit(res.coef, res.vcov, ms.names, ms.moments.n, res.df_resid,
                                                       res.sigma2, res.r_squared, se)
        if ms.moderator is None:
            row = {"outcome": ms.outcome, "timepoint": ms.timepoint, "model": "linear", "estimate": math.nan,
                   "std_error": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan,
                   "n": ms.moments.n, "scale": SCALES["linear"], "df": math.nan, "note": res if isinstance(res, str) else "",
                   "risk_difference": math.nan, "rd_ci_low": math.nan, "rd_ci_high": math.nan}
            if fit is not None:
                con = fit.contrast(design.effect_L(np.zeros(0)))
                lo, hi = con.ci(level)
                row.update(estimate=con.estimate, std_error=con.std_error, ci_low=lo, ci_high=hi, p_value=con.p_value, df=con.df)
            average.append(row)
            continue
        spec = ModelSpec("linear", ms.outcome, ms.moderator, ms.timepoint)
        notes: tuple[Note, ...] = (HC3_NOTE if se == "HC3" else STREAM_NOTE,)
        if fit is None:
            notes = (Note(NOT_ESTIMABLE, str(res)),)
            rows = empty_rows(spec, design, notes)
        else:
            if se == "classical" and third:
                check = heteroscedasticity(ms, design, res, third[sums.index(ms)])
                notes = (*notes, Note(HETEROSCEDASTICITY, check.note())) if check.flagged else notes
            rows = interaction_rows(spec, design, fit, plan)
            for r in rows:
                r["note"] = notes
        fitted.append(FittedModel(spec, design, fit, rows, {"n": design.n, "excluded": dict(ms.excluded)}, notes))
    table = _per_sd(results_table(fitted, plan), sums, plan)
    table = per_units(table, plan, {})
    table["note"] = [render_notes(n) for n in table["note"]]
    flow = {"rows_in_file": s.rows, "participant_id_missing": s.no_id, "participants_in_arms": participants,
            "arms": s.arms, "treatment_missing_or_other_arm": s.rows - s.no_id - participants,
            "arm_values": {"treated": s.treated_key, "control": s.control_key},
            "files": len(dataset.files), "batch_rows": batch_rows, "seconds": round(time.time() - started, 3),
            "models": [{"outcome": ms.outcome, "moderator": ms.moderator or "", "timepoint": ms.timepoint,
                        "n": ms.moments.n, "excluded": dict(ms.excluded)} for ms in sums]}
    return {"table": table, "average_effects": pd.DataFrame(average, columns=list(COLUMNS)), "flow": flow}


def _per_sd(table: pd.DataFrame, sums: list[ModelSums], plan: Plan) -> pd.DataFrame:
    """``inference.effects.add_standardised`` from the sums: the SD (n - 1) of a continuous moderator
    over its model's analysed participants is that of its design column (a shift does not change it)."""
    from ..inference.effects import with_per_sd
    continuous = {m.name for m in plan.moderators if m.type == "continuous"}
    sds = {}
    for ms in sums:
        if ms.moderator in continuous and "mod" in ms.names:
            j, n = ms.names.index("mod"), ms.moments.n
            sds[("linear", ms.outcome, ms.timepoint, ms.moderator)] = (
                math.sqrt(ms.moments.comoment[j, j] / (n - 1)) if n > 1 else math.nan)
    return with_per_sd(table, sds)


def write_stream(result: dict, out: Path, force: bool = False, inputs=()) -> Path:
    """results.csv, average_effects.csv, stream.json (the data flow) and manifest.json, the folder
    written whole or not at all (``writing.write_folder``; --force replaces an earlier output folder)."""
    import json

    from .._version import __version__
    from ..writing import write_csv, write_folder

    def fill(folder: Path) -> None:
        write_csv(result["table"], folder / "results.csv")
        write_csv(result["average_effects"], folder / "average_effects.csv")
        (folder / "stream.json").write_text(json.dumps(result["flow"], indent=2, default=str) + "\n", encoding="utf-8")
        manifest = {"effectmod": __version__, "streamed": True, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "files": ["results.csv", "average_effects.csv", "stream.json"], "inputs": result.get("inputs", {})}
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return write_folder(out, force, fill, inputs=inputs)
