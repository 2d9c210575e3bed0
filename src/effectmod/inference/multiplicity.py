"""Adjusted p over the family of interaction tests (CONTRACT §3 'multiplicity')."""
from __future__ import annotations

import numpy as np
import pandas as pd


def family_mask(table: pd.DataFrame) -> np.ndarray:
    """Rows that are one test each: continuous/binary moderators' rows and categorical `joint` rows."""
    term = table["term"].fillna("")
    # multi-arm: the `all arms` joint rows are no family's member (CONTRACT §6.2)
    own = _comparison(table) != "all arms"
    categorical_level = table["moderator"].map(
        table.loc[(term == "joint") & own].groupby("moderator").size()).notna() & (term != "joint")
    return (~categorical_level & own).to_numpy() & table["p_value"].notna().to_numpy()


def _comparison(table: pd.DataFrame) -> pd.Series:
    if "comparison" not in table:
        return pd.Series("", index=table.index, dtype=object)
    return table["comparison"].fillna("").astype(str)


def adjust(table: pd.DataFrame, method: str) -> pd.Series:
    """p_adjusted per row: filled on family rows, separately for each `model` value."""
    out = pd.Series(np.nan, index=table.index, dtype=float)
    if method == "none":
        return out
    mask = pd.Series(family_mask(table), index=table.index)
    # a family per model value and (multi-arm) per comparison
    keyed = table.assign(_comparison=_comparison(table))
    for _, idx in keyed.loc[mask].groupby(["model", "_comparison"]).groups.items():
        p = table.loc[idx, "p_value"].to_numpy(dtype=float)
        out.loc[idx] = holm(p) if method == "holm" else multipletests(p, method=method)[1]
    return out


def multipletests(*args, **kwargs):
    # statsmodels takes seconds to import; only runs that adjust p values pay for it
    from statsmodels.stats.multitest import multipletests
    return multipletests(*args, **kwargs)


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p: ``multipletests(p, method="holm")[1]`` of statsmodels, the same
    operations in the same order (sort, times k..1, running maximum, capped at 1) without the
    ``gc.collect()`` statsmodels runs on every Holm call (about 0.1 s in a session holding a
    large trial, and the credibility step adjusts by Holm in every analysis)."""
    p = np.asarray(p)
    order = np.argsort(p)
    corrected = np.maximum.accumulate(np.take(p, order) * np.arange(len(p), 0, -1))
    corrected[corrected > 1] = 1
    out = np.empty_like(corrected)
    out[order] = corrected
    return out
