"""Results: the tidy table and everything needed to write, print and render it."""
from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .records import ROW_KEY, JNRegion, Note
from .writing import check_output_folder, write_csv, write_folder  # noqa: F401 (the writer's old home)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .data.trial import TrialData
    from .models.fit import FittedModel
    from .plan.schema import Plan

CONTRACT_COLUMNS = ("outcome", "timepoint", "moderator", "term", "model", "estimate", "std_error",
                    "ci_low", "ci_high", "p_value", "p_adjusted", "n", "tier")
DEPENDENCIES = ("numpy", "scipy", "pandas", "statsmodels", "pydantic", "pyyaml", "matplotlib", "jinja2",
                "pyarrow", "pyreadstat", "openpyxl", "rich", "python-docx")


@dataclass(frozen=True)
class Results:
    """The outcome of ``effectmod.analyze``.

    ``table`` holds the results.csv rows (CONTRACT §4 columns first, then ``note``, ``df`` and
    any others). The other frames are the conditional effects, Johnson-Neyman boundaries and
    per-model summaries; ``write(dir)`` writes the whole output folder.

    A record: its fields cannot be reassigned. A variant is a new record,
    ``dataclasses.replace(results, attachments=...)``.
    """

    table: pd.DataFrame
    plan: Plan
    trial: TrialData
    fitted: list[FittedModel]
    inputs: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0
    # further tidy frames by name (conditional_effects, ...), and a few plain values for results.json
    sections: dict[str, Any] = field(default_factory=dict)
    attachments: dict[str, bytes] = field(default_factory=dict)  # relative path -> bytes, written into the folder too
    # each table row's structured notes (records.Note: code and text) by its ROW_KEY; the table's
    # ``note`` column is their rendered text. Programs ask ``has_note`` instead of reading the text.
    row_notes: dict[tuple, tuple[Note, ...]] = field(default_factory=dict)
    # the Johnson-Neyman significant parts as numbers (tuples of records.JNRegion) by the
    # johnson_neyman row's ROW_KEY (its term is ""); the section's text columns say the same
    jn_regions: dict[tuple, tuple[JNRegion, ...]] = field(default_factory=dict)

    # ------------------------------------------------------------------ views
    @property
    def models(self) -> list[dict]:
        return [f.summary for f in self.fitted]

    @property
    def flow(self):
        return self.trial.flow

    def frame(self, name: str) -> pd.DataFrame:
        return self.sections.get(name, pd.DataFrame())

    def has_note(self, frame: pd.DataFrame, code: str) -> np.ndarray:
        """Which rows of ``frame`` (rows of ``table``, or any frame with the ROW_KEY columns)
        carry a note with this code (``records``' constants, e.g. SEPARATION_KEPT)."""
        from .records import has_code, keys_of
        if not all(k in frame.columns for k in ROW_KEY if k != "comparison"):
            return np.zeros(len(frame), dtype=bool)
        return np.array([has_code(self.row_notes.get(k, ()), code) for k in keys_of(frame)], dtype=bool)

    def to_dict(self) -> dict:
        """results.json content: no timestamps, so equal inputs give byte-identical files."""
        from ._version import __version__

        return _clean({
            "effectmod_version": __version__,
            # a plan without the optional predictive section is written as before it existed
            "plan": self.plan.model_dump(mode="json", by_alias=True,
                                         exclude={"predictive"} if self.plan.predictive is None else None),
            "ci_level": self.plan.analysis.ci_level,
            "data_flow": self.trial.flow.as_dict(),
            "results": _records(self.table),
            "models": self.models,
            **{name: _records(df) for name, df in self.sections.items() if isinstance(df, pd.DataFrame)},
            **{name: value for name, value in self.sections.items() if not isinstance(value, pd.DataFrame)},
        })

    def manifest(self, finished: float | None = None) -> dict:
        """manifest.json content; ``finished`` (default: when the analysis ended) e.g. the write's end."""
        from ._version import __version__
        finished = self.finished if finished is None else finished

        versions: dict[str, str | None] = {}
        for dist in DEPENDENCIES:
            try:
                versions[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                versions[dist] = None
        return {
            "effectmod_version": __version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "dependencies": versions,
            "inputs": self.inputs,
            "seed": self.plan.analysis.seed,
            "started": _iso(self.started),
            "finished": _iso(finished),
            "elapsed_seconds": round(finished - self.started, 3),
        }

    # ------------------------------------------------------------------ output
    def write(self, out: str | Path, force: bool = False, pdf: bool = False, inputs=()) -> Path:
        """Write the output folder whole or not at all (see ``write_folder``). ``force`` replaces
        an earlier effectmod output folder (one with manifest.json), never one that holds any of
        the files in ``inputs`` (e.g. the data and plan paths)."""
        return write_folder(out, force, lambda folder: self._write_files(folder, pdf=pdf), inputs=inputs)

    def _write_files(self, folder: Path, pdf: bool = False) -> None:
        from .report.html import render_report
        from .report.outputs import write_extra_outputs
        from .report.text import utf8
        write_csv(self.table, folder / "results.csv")
        (folder / "results.json").write_text(utf8(json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)) + "\n",
                                             encoding="utf-8")
        for name, df in self.sections.items():
            if isinstance(df, pd.DataFrame) and name in CSV_SECTIONS:
                write_csv(df, folder / f"{name}.csv")
        figures = write_extra_outputs(self, folder)
        for rel, blob in self.attachments.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        (folder / "report.html").write_text(render_report(self, figures), encoding="utf-8")
        if pdf:
            from .report.pdf import html_to_pdf
            html_to_pdf(folder / "report.html", folder / "report.pdf")
        manifest = self.manifest(finished=time.time())
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    # ------------------------------------------------------------------ display (report/notebook.py)
    def _repr_html_(self) -> str:
        """Jupyter's table: the report's tier colours, adjusted P when set, moderator units."""
        from .report.notebook import notebook_html
        return notebook_html(self)

    def summary(self) -> str:
        """A plain-text summary (like statsmodels'): models, n, one line per interaction row, notes."""
        from .report.notebook import summary_text
        return summary_text(self)

    def to_markdown(self) -> str:
        """The main results as a Markdown table (needs no optional package)."""
        from .report.notebook import markdown_table
        return markdown_table(self)

    def plot_forest(self, model: str | None = None, comparison: str | None = None) -> Figure:
        """The report's forest plot as a matplotlib Figure (multi-arm: of one ``comparison``)."""
        from .report.notebook import plot_forest
        return plot_forest(self, model, comparison)

    def plot_subgroups(self, moderator: str | None = None, comparison: str | None = None) -> Figure:
        """The report's subgroup plot of a binary or categorical moderator as a matplotlib Figure
        (multi-arm: of one ``comparison``)."""
        from .report.notebook import plot_subgroups
        return plot_subgroups(self, moderator, comparison)

    def plot_effect(self, moderator: str, outcome: str, timepoint, comparison: str | None = None) -> Figure:
        """The conditional treatment effect across a continuous moderator as a matplotlib Figure
        (multi-arm: of one ``comparison``)."""
        from .report.notebook import plot_effect
        return plot_effect(self, moderator, outcome, timepoint, comparison)

    def __repr__(self) -> str:
        counts = self.table["tier"].value_counts().to_dict()
        return (f"<Results: {len(self.table)} rows; "
                + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + ">")


CSV_SECTIONS = ("average_effects", "conditional_effects", "johnson_neyman", "credibility", "additive_scale", "missingness",
                "missing_patterns", "complete_case", "cluster_decomposition",
                "risk_groups", "benefit_metrics", "shrunken_subgroups",
                "absolute_risk", "time_to_event_flow")


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: _scalar(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _scalar(v):
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) or math.isinf(v) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_clean(v) for v in obj.tolist()]
    return _scalar(obj)


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
