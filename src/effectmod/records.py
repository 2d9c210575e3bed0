"""Typed records that travel through the middle of the pipeline (fit -> inference -> Results).

* ``ROW_KEY``: the columns that identify one row of results.csv - one interaction test. Every
  frame an inference step returns per row starts with them, in this order, and is joined to the
  results table by them (``merge_on_key``), never by position. The last, ``comparison``, tells
  a multi-arm trial's comparisons apart; a frame without it is read as comparison "" (two arms).
* ``Note``: a structured note (``code`` for programs, ``text`` for readers). Fitted models and
  the later steps carry tuples of notes; results.csv's ``note`` column is rendered from them
  once, at the end of the analysis (``render_notes``: the texts joined by "; "). Programs ask
  for codes (``has_code``), never search the text.
* ``JNRegion``: one part of a Johnson-Neyman region of significance, as numbers.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

ROW_KEY = ("outcome", "timepoint", "moderator", "term", "model", "comparison")
# a frame (or row) without the ``comparison`` column is of a two-arm analysis: its comparison is ""
_KEY_DEFAULTS = {"comparison": ""}


def key_columns(rows) -> tuple[str, ...]:
    """The key columns a section frame of these result rows carries: ROW_KEY, without
    ``comparison`` in a two-arm analysis (whose section files keep their columns)."""
    multi = any(r.get("comparison", "") for r in rows)
    return ROW_KEY if multi else tuple(k for k in ROW_KEY if k != "comparison")

# ---------------------------------------------------------------------------- note codes
NOT_ESTIMABLE = "not_estimable"                  # the model could not be estimated; the text says why
SEPARATION_KEPT = "separation_kept"              # separated ML logistic fit kept: its estimate diverges
SEPARATION_FIRTH = "separation_firth"            # separated: refitted with Firth (firth_if_separated)
LOGISTIC_ENGINE = "logistic_engine"              # the logistic engine's own notes (separation details, ...)
SPARSE_CELL = "sparse_cell"                      # an arm x level cell with no events or only events
HETEROSCEDASTICITY = "heteroscedasticity"        # classical SEs may be anti-conservative
REML_NOT_CONVERGED = "reml_not_converged"        # REML did not converge
REML_MESSAGE = "reml_message"                    # the mixed engine's message on a converged fit
BOOTSTRAP_COMPLETE_CASE = "bootstrap_complete_case"  # bootstrap CI of the complete cases beside imputation
PERMUTATION_LINEAR_ONLY = "permutation_linear_only"
PERMUTATION_NOT_WITH_IMPUTATION = "permutation_not_with_imputation"
PERMUTATION_JOINT = "permutation_joint"
IMPUTATION_SENSITIVITY = "imputation_sensitivity"  # the other imputation method's result
COUNT_ENGINE = "count_engine"                    # the count engine's notes (zero-event subgroup, theta at infinity)
OVERDISPERSION = "overdispersion"                # Poisson fit with overdispersion: negative binomial recommended
ORDINAL_ENGINE = "ordinal_engine"                # the proportional-odds engine's notes
PROPORTIONAL_ODDS = "proportional_odds"          # the proportional-odds check flags treat or treat:mod
PROPORTIONAL_HAZARDS = "proportional_hazards"    # Cox: the cox.zph test of the treatment and interaction terms
NON_PROPORTIONAL = "non_proportional"            # Cox: that test fails (p < .05); read the rmst rows
BOOTSTRAP_NOT_RMST = "bootstrap_not_rmst"        # rmst rows: no bootstrap CI (their columns stay empty)


@dataclass(frozen=True)
class Note:
    """One note on a row: ``code`` (one of the constants above) and the ``text`` readers see."""

    code: str
    text: str


def render_notes(notes: Iterable[Note] | str | None) -> str:
    """The ``note`` column's text: the notes' texts joined by "; " ("" for none)."""
    if notes is None or isinstance(notes, float):
        return ""
    if isinstance(notes, str):
        return notes
    return "; ".join(n.text for n in notes if n.text)


def as_notes(value) -> tuple[Note, ...]:
    """A row's notes as a tuple (missing -> ())."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, Note):
        return (value,)
    if isinstance(value, list):
        return tuple(value)
    return ()


def has_code(notes: Iterable[Note], code: str) -> bool:
    return any(n.code == code for n in notes)


def row_key(row) -> tuple:
    """The ROW_KEY values of a row (a dict or a named tuple / Series)."""
    if hasattr(row, "get"):
        return tuple(_key_value(row.get(k, _KEY_DEFAULTS.get(k)), k) for k in ROW_KEY)
    return tuple(_key_value(getattr(row, k, _KEY_DEFAULTS.get(k)), k) for k in ROW_KEY)


def _key_value(value, k: str):
    if k in _KEY_DEFAULTS and (value is None or (isinstance(value, float) and value != value)):
        return _KEY_DEFAULTS[k]
    return value


def keys_of(frame: pd.DataFrame) -> list[tuple]:
    if not len(frame):
        return []
    cols = [frame[k] if k in frame else [_KEY_DEFAULTS[k]] * len(frame) for k in ROW_KEY]
    if "comparison" in frame:
        cols[ROW_KEY.index("comparison")] = [_key_value(v, "comparison") for v in frame["comparison"]]
    return list(zip(*cols))


def merge_on_key(table: pd.DataFrame, frame: pd.DataFrame, columns: Iterable[str],
                 fill: dict | None = None) -> pd.DataFrame:
    """``table`` with ``columns`` of ``frame`` joined by ROW_KEY: the table keeps its rows, their
    order and its index. ``frame`` holds each key once. A table row whose key ``frame`` lacks is
    an error, or, with ``fill`` (column -> value), gets the fill values."""
    columns = list(columns)
    right = keys_of(frame)
    position = {k: i for i, k in enumerate(right)}
    if len(position) != len(right):
        raise ValueError("merge_on_key: the frame repeats a row key")
    left = keys_of(table)
    missing = [k for k in left if k not in position]
    if missing and fill is None:
        raise ValueError(f"merge_on_key: {len(missing)} table rows have no match, e.g. {missing[0]}")
    take = [position.get(k, -1) for k in left]
    out = table.copy()
    for c in columns:
        values = frame[c].to_numpy()
        if missing:
            assert fill is not None     # checked above
            column = np.empty(len(take), dtype=object if values.dtype == object else np.result_type(values.dtype, type(fill[c])))
            for i, j in enumerate(take):
                column[i] = values[j] if j >= 0 else fill[c]
        else:
            column = values[np.array(take, dtype=np.intp)] if take else values[:0]
        out[c] = column
    return out


# ---------------------------------------------------------------------------- Johnson-Neyman
@dataclass(frozen=True)
class JNRegion:
    """A part of the moderator's range where the treatment effect's CI excludes 0 (clipped to the
    observed range): from ``lower`` to ``upper``, with the effect's ``sign`` ("effect > 0" or
    "effect < 0")."""

    lower: float
    upper: float
    sign: str
