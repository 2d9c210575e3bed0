"""Results: the tidy table and everything needed to write, print and render it."""
from __future__ import annotations

import json
import math
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UsageError

CONTRACT_COLUMNS = ("outcome", "timepoint", "moderator", "term", "model", "estimate", "std_error",
                    "ci_low", "ci_high", "p_value", "p_adjusted", "n", "tier")
DEPENDENCIES = ("numpy", "scipy", "pandas", "statsmodels", "pydantic", "pyyaml", "matplotlib", "jinja2",
                "pyarrow", "pyreadstat", "openpyxl", "rich", "python-docx")


@dataclass
class Results:
    """The outcome of ``effectmod.analyze``.

    ``table`` holds the results.csv rows (CONTRACT §4 columns first, then ``note``, ``df`` and
    any others). The other frames are the conditional effects, Johnson-Neyman boundaries and
    per-model summaries; ``write(dir)`` writes the whole output folder.
    """

    table: pd.DataFrame
    plan: object
    trial: object
    fitted: list
    inputs: dict = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0
    sections: dict = field(default_factory=dict)   # further tidy frames by name (conditional_effects, ...)
    attachments: dict = field(default_factory=dict)  # relative path -> bytes, written into the folder too

    # ------------------------------------------------------------------ views
    @property
    def models(self) -> list[dict]:
        return [f.summary for f in self.fitted]

    @property
    def flow(self):
        return self.trial.flow

    def frame(self, name: str) -> pd.DataFrame:
        return self.sections.get(name, pd.DataFrame())

    def to_dict(self) -> dict:
        """results.json content: no timestamps, so equal inputs give byte-identical files."""
        from . import __version__

        return _clean({
            "effectmod_version": __version__,
            "plan": self.plan.model_dump(mode="json", by_alias=True),
            "ci_level": self.plan.analysis.ci_level,
            "data_flow": self.trial.flow.as_dict(),
            "results": _records(self.table),
            "models": self.models,
            **{name: _records(df) for name, df in self.sections.items() if isinstance(df, pd.DataFrame)},
            **{name: value for name, value in self.sections.items() if not isinstance(value, pd.DataFrame)},
        })

    def manifest(self, finished: float | None = None) -> dict:
        """manifest.json content; ``finished`` (default: when the analysis ended) e.g. the write's end."""
        from . import __version__
        finished = self.finished if finished is None else finished

        versions = {}
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
    def write(self, out: str | Path, force: bool = False, pdf: bool = False) -> Path:
        """Write the output folder whole or not at all (see ``write_folder``)."""
        return write_folder(out, force, lambda folder: self._write_files(folder, pdf=pdf))

    def _write_files(self, folder: Path, pdf: bool = False) -> None:
        from .report.html import render_report
        from .report.outputs import write_extra_outputs

        csv_table(self.table).to_csv(folder / "results.csv", index=False, float_format=None)
        (folder / "results.json").write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
        for name, df in self.sections.items():
            if isinstance(df, pd.DataFrame) and name in CSV_SECTIONS:
                csv_table(df).to_csv(folder / f"{name}.csv", index=False)
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

    # ------------------------------------------------------------------ display
    def _repr_html_(self) -> str:
        from .report.tables import notebook_table
        return notebook_table(self)

    def __repr__(self) -> str:
        counts = self.table["tier"].value_counts().to_dict()
        return (f"<Results: {len(self.table)} rows; "
                + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + ">")


def write_folder(out: str | Path, force: bool, fill) -> Path:
    """Build an output folder with ``fill(folder)`` in a temporary sibling, then rename it into
    place, so that a failure or an interruption never leaves a half-written folder; with
    ``force`` the old folder is replaced only once the new one is complete."""
    out = Path(out)
    check_output_folder(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        fill(tmp)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rmdir(old)
            os.replace(out, old)
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old, out)      # put the user's folder back as it was
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def check_output_folder(out: Path, force: bool) -> None:
    """Refuse to replace a file, or a non-empty folder without ``force`` (checked again at write
    time; the command line checks first so that a user does not wait for an analysis in vain)."""
    try:
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a folder")
        if out.exists() and any(out.iterdir()) and not force:
            raise UsageError(f"--out {out}: folder exists and is not empty; choose another folder or pass --force to replace it")
    except OSError as exc:          # a name too long, a folder that cannot be listed, ...
        raise output_problem(out, exc) from None


def output_problem(out: Path, exc: OSError, what: str = "the output folder", flag: str = "--out") -> UsageError:
    """The message for an OSError met while checking or writing an output path: a full disk, a
    read-only place, a path through a file, a name too long are the user's to fix, not a bug."""
    import errno

    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.ENAMETOOLONG:
        longest = max((len(part) for part in Path(out).parts), default=0)
        reason += (f": a name in it has {longest} characters, and file systems allow 255 bytes per name"
                   if longest > 255 else f": the whole path has {len(str(out))} characters, more than this system allows")
    return UsageError(f"{flag} {out}: cannot write {what} there ({reason}); choose another name or place (nothing was written)")


CSV_SECTIONS = ("conditional_effects", "johnson_neyman", "credibility", "additive_scale", "missingness",
                "missing_patterns", "complete_case")


def csv_table(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers at full precision (repr of float), missing as empty cells."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col].dtype):
            out[col] = [("" if (v is None or math.isnan(v)) else repr(float(v))) for v in out[col]]
    return out


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
