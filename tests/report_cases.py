"""Trials the report tests render: the demo plan, and a 'rich' plan that uses every report feature
(exclusions, a categorical moderator, a binary outcome, HC3, Holm, bootstrap) and carries
a moderator label that is an HTML script tag."""
from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import effectmod as em
from effectmod.plan import validate_plan
from effectmod.simulation import simulate

SCRIPT_LABEL = "<script>alert(1)</script>"


@functools.lru_cache(maxsize=None)
def demo_results():
    trial = simulate("resolve", n=276, seed=2024)
    return em.analyze(trial.data, validate_plan(trial.plan, origin="demo plan"))


def rich_data():
    data = simulate("resolve", n=140, seed=11).data.copy()
    extra = data.iloc[:12].copy()
    extra["participant_id"] = [f"W{i:03d}" for i in range(12)]
    extra["group"] = ["waitlist"] * 9 + [None] * 3
    data = pd.concat([data, extra], ignore_index=True)
    data["site"] = 5.0
    for t in ("18", "52"):
        data[f"severe_{t}"] = np.where(data[f"pain_{t}"].isna(), np.nan, (data[f"pain_{t}"] >= 7).astype(float))
    data["age_group"] = np.select([data["age"] < 40, data["age"] < 60], ["under 40", "40-59"], "60 and over")
    return data


RICH_PLAN = {
    "title": "Rich <b>case</b> & checks",
    "data": {"id": "participant_id", "treatment": "group", "treated": "sensorimotor", "control": "sham"},
    "outcomes": [
        {"name": "pain", "label": "Pain intensity (NRS 0-10)", "range": [0, 10], "baseline": "pain_0",
         "followups": {"18": "pain_18", "52": "pain_52"}},
        {"name": "severe", "label": "Severe pain (NRS 7 or more)", "type": "binary",
         "followups": {"52": "severe_52"}},
    ],
    "moderators": [
        {"name": "back_perception", "column": "frebaq", "type": "continuous", "label": SCRIPT_LABEL,
         "hypothesised_direction": "greater_benefit_when_higher", "rationale": "Rationale with <i>markup</i> & ampersand."},
        {"name": "psychoactive", "column": "psychoactive_med", "type": "binary", "reference": "no",
         "label": "Psychoactive medication", "hypothesised_direction": "less_benefit_when_higher"},
        {"name": "age_group", "column": "age_group", "type": "categorical", "reference": "under 40",
         "label": "Age group"},
        {"name": "kinesiophobia", "column": "tsk", "type": "continuous", "label": "Kinesiophobia (TSK 17-68)"},
        # one value for everybody: its rows are not estimable and must show their note
        {"name": "site", "column": "site", "type": "continuous", "label": "Site size"},
    ],
    "covariates": ["sex"],
    "analysis": {"se": "HC3", "multiplicity": "holm", "bootstrap": 10, "seed": 7},
}


@functools.lru_cache(maxsize=None)
def rich_results():
    return em.analyze(rich_data(), validate_plan(RICH_PLAN, origin="rich plan"))


_FOLDERS = Path(tempfile.mkdtemp(prefix="effectmod-report-tests-"))
atexit.register(shutil.rmtree, _FOLDERS, True)


@functools.lru_cache(maxsize=None)
def written(case: str) -> Path:
    """The output folder of 'demo' or 'rich', written once per test session (writing draws every figure)."""
    results = {"demo": demo_results, "rich": rich_results}[case]()
    return results.write(_FOLDERS / case)
