"""`effectmod init` and cluster columns: clusters nested in the arms are drafted as data.cluster
(with se: CR2), a multicentre site is only suggested, and nothing else is taken for a cluster."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from effectmod.cli import main
from effectmod.plan.draft import draft_plan, guess_plan

ACHIEVEMENT = Path(__file__).parent / "reference" / "cluster_achievement" / "data.csv"


def _trial(n_clusters=12, size=8, name="school", nested=True, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cluster = np.repeat([f"S{j:02d}" for j in range(n_clusters)], size)
    n = cluster.size
    if nested:
        arm = np.repeat(["control", "intervention"] * (n_clusters // 2), size)
    else:
        arm = np.array(["control", "intervention"] * (n // 2))
    return pd.DataFrame({"id": np.arange(1, n + 1), name: cluster, "group": arm, "age": rng.integers(20, 80, n),
                         "sex": rng.choice(["female", "male"], n), "y_0": rng.normal(size=n), "y_12": rng.normal(size=n)})


@pytest.mark.parametrize("name", ["school", "practice_id", "Site", "centre", "center", "cluster", "ward", "clinic",
                                  "hospital"])
def test_a_cluster_nested_in_the_arms_is_drafted(name):
    draft = guess_plan(_trial(name=name))
    assert draft.cluster == name and not draft.cluster_suggested
    assert "12 clusters of 8-8 participants, each in one arm" in draft.cluster_note
    assert name not in {m.column for m in draft.moderators} | {c for c, _ in draft.covariates}


def test_recognised_by_values_alone_with_enough_clusters():
    draft = guess_plan(_trial(name="unit_code_x", n_clusters=10).rename(columns={"unit_code_x": "grp_code"}))
    assert draft.cluster == "grp_code" and "recognised by its values" in draft.cluster_note
    few = guess_plan(_trial(n_clusters=4).rename(columns={"school": "grp_code"}))
    assert few.cluster is None       # 4 unnamed values nested in the arms: too few to guess from values
    assert guess_plan(_trial(n_clusters=4)).cluster == "school"      # but a cluster-like name is enough


def test_a_multicentre_site_is_only_suggested():
    draft = guess_plan(_trial(n_clusters=8, name="site", nested=False))
    assert draft.cluster == "site" and draft.cluster_suggested
    text = draft_plan_text(_trial(n_clusters=8, name="site", nested=False))
    raw = yaml.safe_load(text)
    assert "cluster" not in raw["data"] and raw["analysis"]["se"] == "classical"
    assert "  # cluster: site   # CONFIRM: 8 clusters of 8-8 participants with participants of several arms" in text
    assert "site" in {m["column"] for m in raw["moderators"]}        # still a candidate moderator, as before


def test_no_cluster_in_an_individually_randomised_trial():
    rng = np.random.default_rng(1)
    n = 60
    frame = pd.DataFrame({"id": range(n), "group": ["a", "control"] * (n // 2), "education": rng.integers(1, 4, n),
                          "dose": np.round(rng.normal(size=n), 3), "y_0": rng.normal(size=n), "y_1": rng.normal(size=n)})
    draft = guess_plan(frame)
    assert draft.cluster is None
    assert "  cluster:" not in draft_plan_text(frame) and "# cluster:" not in draft_plan_text(frame)


def draft_plan_text(frame: pd.DataFrame) -> str:
    from effectmod.plan.draft.render import render_draft
    return render_draft(guess_plan(frame))


def test_achievement_awards_draft_names_the_school_and_validates_its_cluster_keys(tmp_path, capsys):
    text = draft_plan(ACHIEVEMENT)
    raw = yaml.safe_load(text)
    assert raw["data"]["cluster"] == "school_id" and raw["analysis"]["se"] == "CR2"
    assert "39 clusters of 9-248 participants, each in one arm" in text
    # with the TODO outcome filled in, the draft validates (cluster keys and CR2 accepted)
    raw["outcomes"] = [{"name": "awarded", "type": "continuous", "better": "higher", "followups": {"2001": "awarded"}}]
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(raw))
    assert main(["validate", str(ACHIEVEMENT), "--plan", str(plan)]) == 0
    assert "clusters: 39" in capsys.readouterr().out


def test_long_data_cluster_is_found_per_participant():
    wide = _trial()
    rows = [wide.assign(week=w, y=wide["y_0"] + w) for w in (0, 6, 12)]
    long = pd.concat(rows).drop(columns=["y_0", "y_12"]).reset_index(drop=True)
    draft = guess_plan(long)
    assert draft.time == "week" and draft.cluster == "school"
