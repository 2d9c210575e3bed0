"""Frames that share the caller's columns where that is safe, so that a million-row trial is not
copied column by column when nothing is dropped, and integer ids read as numbers where that is faster.

The caller's DataFrame is never modified: a shared column is only read, and under copy-on-write
(always on from pandas 3) a write to a frame made here copies first. Without copy-on-write
(pandas 2) the frames that outlive the preparation (``TrialData.baseline_frame``) are copies.
"""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd

COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


def rows_in(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows of ``frame`` where ``keep``, numbered from 0 (no column is copied when every row is kept:
    the preparation only reads the columns and adds its own)."""
    if not keep.all():
        return frame.loc[keep].reset_index(drop=True)
    out = frame.copy(deep=False)
    out.index = pd.RangeIndex(len(out))
    return out


def columns_copy(frame: pd.DataFrame, columns: list) -> pd.DataFrame:
    """``frame[columns].copy()``; under copy-on-write the columns are shared until either side writes."""
    if not COPY_ON_WRITE:
        return frame[columns].copy()
    out = pd.DataFrame({c: frame[c] for c in columns}, index=frame.index, copy=False)
    out.attrs = copy.deepcopy(frame.attrs)
    return out


def integer_ids(series: pd.Series) -> np.ndarray | None:
    """The ids as numbers when the column holds numpy integers (never missing; each number's key is
    its decimal text, so numbers repeat exactly where their keys do), else None."""
    dtype = series.dtype
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return series.to_numpy()
    return None
