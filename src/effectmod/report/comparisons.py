"""A multi-arm trial's results seen one comparison at a time, for the figures and tables drawn
per comparison (each "<arm> vs <control>" looks like a two-arm analysis to them)."""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from ..models.comparisons import comparison_models
from .display import comparison_name


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


def flattened(results):
    """A multi-arm trial's results as the report's tables and text read them: each moderator
    once per comparison and once for its `all arms` test, each as a moderator of its own
    (name ``<name> [<comparison>]``, label ``<label> (<comparison>)``), with that comparison's
    rows, views of the models and section rows. Two-arm results are returned as they are."""
    trial = results.trial
    if not trial.multi_arm:
        return results
    from ..models.multiarm import ALL_ARMS
    from ..plan.labels import label_of
    from ..records import keys_of
    control = trial.flow.arm_values["control"]
    comparisons = [f"{a} vs {control}" for a in trial.arm_labels] + [ALL_ARMS]
    names: dict[tuple[str, str], str] = {}
    moderators, coded = [], {}
    for m in results.plan.moderators:
        for c in comparisons:
            name = names[(m.name, c)] = f"{m.name} [{c}]"
            shown = comparison_name(results.plan, trial, c)
            label = f"{label_of(m)} ({shown}, joint test)" if c == ALL_ARMS else f"{label_of(m)} ({shown})"
            moderators.append(m.model_copy(update={"name": name, "label": label}))
            if m.name in trial.moderators:
                coded[name] = replace(trial.moderators[m.name], name=name, label=label)
    plan = results.plan.model_copy(update={"moderators": moderators})

    def renamed(frame: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame) or "comparison" not in frame or "moderator" not in frame:
            return frame
        out = frame.copy()
        out["moderator"] = [names.get((m, c), m) for m, c in zip(out["moderator"], out["comparison"].fillna(""))]
        return out

    table = renamed(results.table)
    fitted = []
    for fm in results.fitted:
        if not fm.design.arms:
            fitted.append(fm)
            continue
        for c, view in [(c, v) for c, v in comparison_models([fm])]:
            fitted.append(replace(view, spec=replace(fm.spec, moderator=names[(fm.spec.moderator, c)])))
        every = [r for r in fm.rows if r.get("comparison") == ALL_ARMS]
        fitted.append(replace(fm, spec=replace(fm.spec, moderator=names[(fm.spec.moderator, ALL_ARMS)]), rows=every, fit=None,
                              design=comparison_models([fm])[0][1].design))
    notes = dict(zip(keys_of(table), (results.row_notes.get(k, ()) for k in keys_of(results.table))))
    return replace(results, table=table, plan=plan, fitted=fitted, row_notes=notes, jn_regions={},
                   trial=replace(trial, moderators=coded),
                   sections={n: renamed(f) for n, f in results.sections.items()})
