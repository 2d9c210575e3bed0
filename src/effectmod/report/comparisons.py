"""A multi-arm trial's results seen one comparison at a time, for the figures and tables drawn
per comparison (each "<arm> vs <control>" looks like a two-arm analysis to them)."""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from ..models.comparisons import comparison_models


def slug(arm: str) -> str:
    """An arm label as a file-name part ('Lev+5FU' -> 'Lev_5FU')."""
    return re.sub(r"[^A-Za-z0-9]+", "_", str(arm)).strip("_") or "arm"


def comparison_results(results) -> list[tuple[str, str, object]]:
    """(comparison, file-name part, Results view) per treated arm of a multi-arm trial: the
    comparison's rows (no `all arms` rows), its views of the fitted models and section rows, and a
    trial whose `treat` marks that arm (1), the control (0) and no one else among the others."""
    trial = results.trial
    if not trial.multi_arm or trial.arm is None:
        return []
    pairs = comparison_models(results.fitted)
    control = trial.flow.arm_values["control"]
    out = []
    for k, arm in enumerate(trial.arm_labels, start=1):
        comparison = f"{arm} vs {control}"
        table = results.table.loc[results.table["comparison"] == comparison].reset_index(drop=True)
        sections = {name: (frame.loc[frame["comparison"] == comparison].reset_index(drop=True)
                           if isinstance(frame, pd.DataFrame) and "comparison" in frame else frame)
                    for name, frame in results.sections.items()}
        in_pair = (trial.arm == 0) | (trial.arm == k)
        flow = replace(trial.flow, arms={"treated": int((trial.arm == k).sum()), "control": int((trial.arm == 0).sum())},
                       arm_values={"treated": arm, "control": control}, treated_arms={})
        sub_trial = replace(trial, treat=np.where(in_pair, (trial.arm == k).astype(float), np.nan), flow=flow,
                            arm=None, arm_labels=())
        view = replace(results, table=table, trial=sub_trial, fitted=[fm for c, fm in pairs if c == comparison],
                       sections=sections, jn_regions={})
        out.append((comparison, slug(arm), view))
    return out
