"""`effectmod init` and numeric rating scales: short whole-number scales from 0 or 1 with a rating
name (mRS 0-6, PGIC 1-7, a 0-4 symptom score, a 1-5 Likert item) are drafted as ordinal with a
CONFIRM note, and the draft analyses; true scores stay continuous."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import effectmod as em
from effectmod.cli import main
from effectmod.plan.draft import guess_plan


def _trial(columns: dict, n: int = 60, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"pid": [f"P{i:02d}" for i in range(n)], "group": ["Cont", "CBT"] * (n // 2),
                          "age": rng.integers(20, 80, n)})
    for name, make in columns.items():
        frame[name] = make(rng, n)
    return frame


def _ints(lo, hi):
    return lambda r, n: r.integers(lo, hi + 1, n)


def _init(frame: pd.DataFrame, tmp_path: Path, capsys):
    data, plan = tmp_path / "trial.csv", tmp_path / "draft.yaml"
    frame.to_csv(data, index=False)
    assert main(["init", str(data), "--out", str(plan), "--force"]) == 0
    capsys.readouterr()
    return yaml.safe_load(plan.read_text()), plan.read_text(), data, plan


@pytest.mark.parametrize("columns, lo, hi", [
    ({"rankin_0": _ints(0, 6), "rankin_90": _ints(0, 6)}, 0, 6),
    ({"mrs_bl": _ints(0, 5), "mrs_w12": _ints(0, 5)}, 0, 5),
    ({"pgic_4": _ints(1, 7), "pgic_12": _ints(1, 7)}, 1, 7),
    ({"symptom_score_0": _ints(0, 4), "symptom_score_6": _ints(0, 4)}, 0, 4),
    ({"likert_pre": _ints(1, 5), "likert_post": _ints(1, 5)}, 1, 5),
    ({"mrs": _ints(0, 6)}, 0, 6),                      # a single column named as an outcome-only rating
])
def test_numeric_rating_scales_are_drafted_as_ordinal(columns, lo, hi, tmp_path, capsys):
    raw, text, data, plan = _init(_trial(columns), tmp_path, capsys)
    (o,) = [o for o in raw["outcomes"] if o["type"] == "ordinal"]
    assert o["levels"] == list(range(lo, hi + 1))                  # numbers, lowest first
    assert f"ordinal outcome: whole numbers {lo}-{hi}" in text and "CONFIRM, or set type: continuous" in text
    assert main(["validate", str(data), "--plan", str(plan)]) == 0
    res = em.analyze(data, plan).table
    assert set(res["model"]) == {"ordinal"} and np.isfinite(res["estimate"]).any()


@pytest.mark.parametrize("columns", [
    {"pain_0": _ints(0, 10), "pain_6": _ints(0, 10)},                       # an NRS 0-10: continuous
    {"pain_score_0": _ints(0, 10), "pain_score_6": _ints(0, 10)},           # 11 values: a score
    {"rating_0": lambda r, n: r.integers(0, 101, n), "rating_6": lambda r, n: r.integers(0, 101, n)},  # a VAS
    {"severity_0": lambda r, n: np.round(r.uniform(1, 5, n), 1), "severity_6": lambda r, n: np.round(r.uniform(1, 5, n), 1)},
    {"bdi_0": _ints(1, 5), "bdi_6": _ints(1, 5)},                           # no rating word in the name
    {"score_0": _ints(2, 6), "score_6": _ints(2, 6)},                       # not from 0 or 1
])
def test_true_scores_stay_continuous(columns):
    draft = guess_plan(_trial(columns))
    assert [o.type for o in draft.outcomes] == ["continuous"]


def test_a_baseline_severity_rating_is_not_taken_for_the_outcome():
    draft = guess_plan(_trial({"severity": _ints(1, 4), "pain_0": _ints(0, 10), "pain_6": _ints(0, 10)}))
    assert [o.name for o in draft.outcomes] == ["pain"] and "severity" in {m.column for m in draft.moderators}
