"""``effectmod init`` on SPSS (.sav) and Stata (.dta) files: the value labels of the columns that
stay coded become the draft's ``data.arm_labels`` and ``moderators[].level_labels``.

The reader (data/load.py) already shows a column whose every observed value has a label as its
labels' text; a column labelled on some values only (sites 1-2 named, 3 not) stays coded, and its
labels are drafted here for the values that occur. Labels on values that do not occur (-99
'refused') and on continuous moderators are left out: the plan would refuse them.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..display_labels import display_key
from .records import Draft


def file_metadata(path: Path):
    """pyreadstat's metadata of an SPSS or Stata file; None for other files or when it cannot be read
    (labels are a convenience: a file read_data could read is drafted without them)."""
    suffix = path.suffix.lower()
    if suffix not in (".sav", ".zsav", ".dta"):
        return None
    import pyreadstat
    reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
    try:
        return reader(str(path), metadataonly=True)[1]
    except Exception:
        return None


def value_labels(path: Path) -> dict[str, dict[str, str]]:
    """column -> {value key -> label} from an SPSS or Stata file's metadata; empty for other files."""
    meta = file_metadata(path)
    if meta is None:
        return {}
    out: dict[str, dict[str, str]] = {}
    for col, mapping in (meta.variable_value_labels or {}).items():
        keyed = {k: str(v).strip() for value, v in (mapping or {}).items()
                 if (k := display_key(value)) is not None and str(v).strip()}
        if keyed and len(set(keyed.values())) == len(keyed):     # labels the plan accepts: non-empty, distinct
            out[str(col)] = keyed
    return out


def _observed(frame: pd.DataFrame, col: str, labels: dict[str, str]) -> dict[str, str]:
    """The labels of the values that occur in a column the reader left coded (numbers)."""
    if col not in frame.columns or not pd.api.types.is_numeric_dtype(frame[col].dtype):
        return {}
    seen = {display_key(v) for v in pd.unique(frame[col].dropna())}
    return {k: v for k, v in labels.items() if k in seen}


def attach_value_labels(draft: Draft, frame: pd.DataFrame, labels: dict[str, dict[str, str]]) -> None:
    """Draft ``arm_labels`` (for the guessed arms) and each binary or categorical moderator's
    ``level_labels`` from the file's value labels."""
    if not labels:
        return
    if draft.arm in labels:
        arms = {display_key(a) for a in [draft.treated, draft.control, *draft.treated_arms] if a is not None}
        draft.arm_labels = {k: v for k, v in _observed(frame, draft.arm, labels[draft.arm]).items() if k in arms}
    for m in draft.moderators:
        if m.type != "continuous" and m.column in labels:
            m.level_labels = _observed(frame, m.column, labels[m.column])
