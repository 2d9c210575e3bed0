"""Real trials run as a new user would (survival::pbc, veteran, colon; HSAUR3::Lanza): the defects
found there, each pinned against R (tests/reference) or the words a reader needs."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import effectmod as em
from effectmod.cli import main

REF = Path(__file__).parent / "reference"
REL = 1e-7


@pytest.fixture(scope="module")
def pbc_results():
    case = REF / "pbc_cox"
    return em.analyze(case / "data.csv", case / "plan.yaml")


def test_pbc_event_value_censors_every_other_status_as_r(pbc_results):
    """status 0 censored, 1 transplant, 2 death with event_value 2: any other value is censored
    (the plan key's meaning); before, the plan was refused ('an event indicator needs two values')."""
    ref = pd.read_csv(REF / "pbc_cox" / "reference.csv", dtype={"timepoint": str, "term": str}).fillna({"term": ""})
    table = pbc_results.table
    got = {(r.model, r.moderator, "" if not isinstance(r.term, str) else r.term): r for r in table.itertuples()}
    checked = 0
    for r in ref.itertuples():
        if r.model == "rmst" and r.moderator == "edema":
            continue        # the control arm with edema 1 is last seen at 1434 days: undefined at 3652 (CONTRACT 6.3)
        g = got[(r.model, r.moderator, r.term)]
        fields = ("p_value",) if r.term == "joint" else ("estimate", "std_error", "p_value")
        for f in fields:
            want, have = float(getattr(r, f)), float(getattr(g, f))
            assert math.isclose(have, want, rel_tol=REL, abs_tol=1e-12), (r.model, r.moderator, r.term, f, have, want)
        assert int(g.n) == int(r.n) == 312
        checked += 1
    assert checked == 7


def test_three_valued_event_without_event_value_names_the_key(tmp_path, capsys):
    data = pd.read_csv(REF / "pbc_cox" / "data.csv")
    data.to_csv(tmp_path / "pbc.csv", index=False)
    plan = (REF / "pbc_cox" / "plan.yaml").read_text().replace("    event_value: 2\n", "")
    (tmp_path / "plan.yaml").write_text(plan)
    assert main(["validate", str(tmp_path / "pbc.csv"), "--plan", str(tmp_path / "plan.yaml")]) == 2
    err = capsys.readouterr().err
    assert "outcomes[0].event_value naming the event" in err and "found 3: '0', '1', '2'" in err
