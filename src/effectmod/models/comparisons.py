"""A multi-arm model seen as one two-arm model per comparison (for the steps after fitting).

``comparison_models`` gives, for each fitted model, ``("", model)`` when it has two arms and, for
a multi-arm model, one ``(comparison, view)`` per treated arm: the same fit, the design's
comparison view (``multiarm.comparison_views``: ``treat`` and ``treat:<mod>`` name that arm's
columns, rows of the control and that arm) and the comparison's result rows. Conditional effects,
Johnson-Neyman regions and subgroup summaries run on the views unchanged. Views must never be
refitted (their X is not the model's): the bootstrap, permutation and imputation refit the
multi-arm model itself.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from .fit import FittedModel
from .multiarm import comparison_views


def comparison_models(fitted: list[FittedModel]) -> list[tuple[str, FittedModel]]:
    out: list[tuple[str, FittedModel]] = []
    for fm in fitted:
        if not fm.design.arms:
            out.append(("", fm))
            continue
        for comparison, view in comparison_views(fm.design):
            rows = [r for r in fm.rows if r.get("comparison") == comparison]
            out.append((comparison, replace(fm, design=view, rows=rows)))
    return out


def is_multi_arm(fitted: list[FittedModel]) -> bool:
    return any(fm.design.arms for fm in fitted)


def per_comparison(step, fitted: list[FittedModel], *args) -> pd.DataFrame:
    """``step(models, *args)`` (a frame per model list) run on each comparison's views, the frames
    stacked with a ``comparison`` column (after the frame's own columns)."""
    pairs = comparison_models(fitted)
    frames = []
    for comparison in dict.fromkeys(c for c, _ in pairs):
        frame = step([fm for c, fm in pairs if c == comparison], *args)
        frames.append(frame.assign(comparison=comparison))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
