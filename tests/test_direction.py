"""Direction of benefit (outcomes[].better): drafted by init, warned about when unset, stated in
the report, the credibility table and the conditional-effect figure titles."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from effectmod.cli import main
from effectmod.plan.draft import guess_plan
from effectmod.plan.schema import Plan

RESPIRATORY = Path(__file__).parent / "reference" / "respiratory_logistic"


def _respiratory_like(n=40, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"subject": range(1, n + 1), "treatment": ["placebo", "active"] * (n // 2),
                          "age": rng.integers(12, 70, n), "centre": rng.choice([1, 2], n)})
    for t in range(3):
        frame[f"status.{t}"] = rng.choice(["good", "poor"], n)
    return frame


def _plan(better=None, **extra) -> dict:
    # age is hypothesised so that the "observed direction agreed" column is computed
    outcome = {"name": "good_status", "type": "binary", "event": "good", "baseline": "status.0",
               "followups": {"1": "status.1", "2": "status.2"}, **extra}
    if better is not None:
        outcome["better"] = better
    return {"data": {"id": "subject", "treatment": "treatment", "treated": "active", "control": "placebo"},
            "outcomes": [outcome, {"name": "s2", "type": "binary", "event": "good", "followups": {"2": "status.2"}}],
            "moderators": [{"name": "age", "column": "age", "type": "continuous",
                            "hypothesised_direction": "greater_benefit_when_higher"}]}


def test_init_drafts_better_higher_for_a_good_event(tmp_path):
    frame = _respiratory_like()
    (o,) = guess_plan(frame).outcomes
    assert (o.type, o.event, o.better) == ("binary", "good", "higher")
    data = tmp_path / "resp.csv"
    frame.to_csv(data, index=False)
    plan = tmp_path / "draft.yaml"
    assert main(["init", str(data), "--out", str(plan)]) == 0
    text = plan.read_text()
    assert "better: higher   # CONFIRM:" in text
    assert yaml.safe_load(text)["outcomes"][0]["better"] == "higher"
    # the real respiratory file too
    (o,) = guess_plan(pd.read_csv(RESPIRATORY / "data.csv")).outcomes
    assert o.better == "higher"


@pytest.mark.parametrize("column, values, better", [
    ("relapse", ["no", "yes"], "lower"),                  # the event 'yes' of relapse: bad
    ("responder", [0, 1], "higher"),                      # the name says the event is good
    ("outcome", ["improved", "not improved"], "higher"),  # the event value says it
    ("outcome", ["alive", "dead"], "lower"),              # 'dead' guessed as the event: bad
    ("survival", ["alive", "dead"], "lower"),             # the event 'dead' wins over the name
])
def test_init_better_for_binary_outcomes(column, values, better):
    frame = pd.DataFrame({"id": range(12), "arm": ["control", "drug"] * 6,
                          f"{column}_0": values * 6, f"{column}_6": values[::-1] * 6})
    (o,) = guess_plan(frame).outcomes
    assert o.better == better, (o.event, o.better_note)


@pytest.mark.parametrize("stem, better", [("pain", "lower"), ("bdi", "lower"), ("qol", "higher"),
                                          ("physicalFunction", "higher"), ("sf36pcs", "higher")])
def test_init_better_for_continuous_outcomes(stem, better):
    # (a name saying disability or pain keeps lower even beside 'function': see the label test below)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": range(12), "arm": ["control", "drug"] * 6,
                          f"{stem}_0": rng.normal(50, 10, 12), f"{stem}_12": rng.normal(50, 10, 12)})
    (o,) = guess_plan(frame).outcomes
    assert o.better == better


def test_validate_warns_once_per_outcome_without_better(tmp_path, capsys):
    data = tmp_path / "resp.csv"
    _respiratory_like().to_csv(data, index=False)
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(_plan()))
    assert main(["validate", str(data), "--plan", str(plan)]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "better" in ln]
    assert len(lines) == 2
    assert "outcomes[0].better" in lines[0] and "outcomes[1].better" in lines[1]
    assert all(ln.strip().startswith("warning:") for ln in lines)
    raw = _plan(better="higher")
    raw["outcomes"][1]["better"] = "higher"
    plan.write_text(yaml.safe_dump(raw))
    assert main(["validate", str(data), "--plan", str(plan)]) == 0
    assert "better" not in capsys.readouterr().out


def test_plan_states_the_direction_and_its_source():
    plan = Plan.model_validate(_plan(better="higher"))
    assert plan.better_text("good_status") == "higher is better (plan)"
    assert plan.better_text("s2") == "lower is better (assumed: outcomes[].better not set)"
    assert [w.split(":")[0] for w in plan.unset_better()] == ["outcomes[1].better"]


def test_report_methods_and_credibility_state_the_direction(tmp_path):
    import effectmod as em
    from effectmod.inference.credibility import credibility
    from effectmod.report.paragraph import methods_text
    frame = _respiratory_like(n=80)
    # a strong age interaction so that credibility has a claim to rate
    rng = np.random.default_rng(1)
    agree = (frame["treatment"] == "active") == (frame["age"] > 40)
    frame["status.1"] = np.where(agree == (rng.random(len(frame)) < 0.85), "good", "poor")
    unset = em.analyze(frame, Plan.model_validate(_plan()))
    text = " ".join(methods_text(unset))
    assert "Good_status: lower is better (assumed: outcomes[].better not set)" in text.replace("good_status", "Good_status")
    cred = credibility(unset.table, unset.plan)
    assert len(cred) and cred["outcome_better"].str.contains("assumed: outcomes\\[\\].better not set").all()
    from effectmod.report.paragraph import direction_agreement
    agreement = direction_agreement(unset)["age"]
    assert agreement.endswith("direction of benefit assumed for good_status, s2 (outcomes[].better not set)")
    set_ = em.analyze(frame, Plan.model_validate(_plan(better="higher")))
    text = " ".join(methods_text(set_))
    assert "good_status: higher is better (plan)" in text
    cred = credibility(set_.table, set_.plan)
    assert (cred.loc[cred["outcome"] == "good_status", "outcome_better"] == "higher").all()


def test_figure_title_says_when_the_direction_is_assumed():
    from effectmod.report.effect_figures import _takeaway
    title = _takeaway(20, 1.0, 60, -1.0, 0.01, "Age (years)", 0.05, "active", lower_better=False, assumed=False)
    assert title.startswith("Larger benefit of active at lower Age\n")
    assumed = _takeaway(20, 1.0, 60, -1.0, 0.01, "Age (years)", 0.05, "active", lower_better=True, assumed=True)
    assert assumed.startswith("Larger benefit of active at higher Age (assuming lower outcome is better)")


def test_analyze_warns_once_per_outcome_without_better(tmp_path, capsys):
    data = tmp_path / "resp.csv"
    _respiratory_like().to_csv(data, index=False)
    plan = tmp_path / "plan.yaml"
    raw = _plan()
    raw["outcomes"] = raw["outcomes"][:1]
    plan.write_text(yaml.safe_dump(raw))
    assert main(["analyze", str(data), "--plan", str(plan), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    (line,) = [ln for ln in err.splitlines() if "better" in ln]
    assert line.startswith("effectmod: warning: outcomes[0].better: not set for 'good_status'")


def test_init_better_reads_variable_labels():
    from effectmod.plan.draft.kinds import guess_better
    from effectmod.plan.draft.records import Outcome
    for label, better in (("Functional disability index", "lower"), ("Quality of life (EQ-VAS)", "higher"),
                          ("Physical functioning (SF-36)", "higher")):
        o = Outcome("score", "continuous", [], label=label)
        guess_better(o)
        assert o.better == better, label
