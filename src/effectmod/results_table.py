"""The results table: every fitted model's rows in the contract's columns, with the adjusted P,
the tier and the notes column, and the interaction rescaled per k units (``moderators[].per``).
Built once here for the in-memory analysis (``analysis.analyze``) and the streamed one
(``stream.run``)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .inference.multiplicity import adjust
from .inference.tiers import tier
from .models.fit import FittedModel
from .plan.schema import Plan
from .records import as_notes
from .results import CONTRACT_COLUMNS


def results_table(fitted: list[FittedModel], plan: Plan) -> pd.DataFrame:
    rows = [r for f in fitted for r in f.rows]
    table = pd.DataFrame(rows)
    a = plan.analysis
    table["p_adjusted"] = adjust(table, a.multiplicity)
    table["tier"] = [tier(p, a.evidence_threshold, a.exploratory_threshold)
                     for p in table["p_value"].astype(float)]
    if "note" not in table:
        table["note"] = notes_column([()] * len(table))
    table["note"] = notes_column([as_notes(n) for n in table["note"]])
    table["n"] = table["n"].astype(int)
    # CONTRACT §6.2: `comparison` right after the contract's columns ("" in a two-arm trial)
    if "comparison" not in table:
        table["comparison"] = ""
    extra = [c for c in table.columns if c not in CONTRACT_COLUMNS and c != "comparison"]
    return table[list(CONTRACT_COLUMNS) + ["comparison"] + extra]


# the interaction's numbers that moderators[].per rescales (CONTRACT §6.1); P, the per-SD columns,
# conditional effects and Johnson-Neyman regions (in the moderator's own units) stay as they are
PER_SCALED = ("estimate", "std_error", "ci_low", "ci_high", "boot_ci_low", "boot_ci_high")


def per_units(table: pd.DataFrame, plan: Plan, sections: dict) -> pd.DataFrame:
    """The interaction per k units of each continuous moderator with ``per: k``, applied once after
    all inference (pooled imputed rows and bootstrap bounds included), and k in a ``per`` column.

    The column exists only when some moderator sets ``per`` (a plan without it writes the same
    files as before); it holds k on continuous moderators' rows (1 where unset) and is empty on
    binary and categorical ones, whose interaction compares levels.
    """
    per = {m.name: m.per for m in plan.moderators if m.type == "continuous" and m.per is not None}
    if not per:
        return table
    k = table["moderator"].map(lambda name: per.get(name, 1.0)).to_numpy(dtype=float)
    out = table.copy()
    for col in PER_SCALED:
        if col in out:
            out[col] = out[col].astype(float).to_numpy() * k
    continuous = {m.name for m in plan.moderators if m.type == "continuous"}
    out["per"] = np.where(out["moderator"].isin(continuous), k, np.nan)
    # the sections that repeat the interaction: the claims rated for credibility, and the estimates
    # pooled from the other imputation method
    scaled = {"credibility": ("estimate",),
              "imputation_sensitivity": ("estimate", "ci_low", "ci_high", f"estimate_{plan.analysis.imputation_method}")}
    for name, cols in scaled.items():
        frame = sections.get(name)
        if frame is None or frame.empty or "moderator" not in frame:
            continue
        frame = frame.copy()
        factor = frame["moderator"].map(lambda m: per.get(m, 1.0)).to_numpy(dtype=float)
        for col in cols:
            if col in frame:
                frame[col] = frame[col].astype(float).to_numpy() * factor
        sections[name] = frame
    return out


def notes_column(notes: list[tuple]) -> np.ndarray:
    """A column of note tuples (one object per row, never unpacked into a 2-D array)."""
    out = np.empty(len(notes), dtype=object)
    for i, n in enumerate(notes):
        out[i] = n
    return out
