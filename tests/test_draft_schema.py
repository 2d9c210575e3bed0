"""`effectmod init` drafts take the `analysis:` section and closed-choice comments from the plan
schema itself (plan/draft/defaults.py), so a new or changed option cannot be missed by init."""
import numpy as np
import pandas as pd
import pytest
import yaml

from effectmod.plan.draft import guess_plan, render_draft
from effectmod.plan.draft.defaults import DRAFT_OVERRIDES, choices_text, default
from effectmod.plan.schema import Analysis, Moderator, Plan


def _frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"participant_id": [f"P{i:03d}" for i in range(n)], "group": ["active", "sham"] * (n // 2),
                          "age": rng.integers(20, 80, n), "pcs": rng.integers(0, 53, n)})
    for week in (0, 18, 52):
        frame[f"pain_{week}"] = rng.integers(0, 11, n).astype(float)
    return frame


def _analysis(text: str) -> dict:
    return yaml.safe_load(text)["analysis"]


def test_every_analysis_field_is_drafted_with_the_schema_default():
    text = render_draft(guess_plan(_frame()))
    drafted = _analysis(text)
    assert list(drafted) == list(Analysis.model_fields)
    for name in Analysis.model_fields:
        expected = DRAFT_OVERRIDES[name][0] if name in DRAFT_OVERRIDES else default(Analysis, name)
        assert drafted[name] == expected, name
    # an override is documented in the draft and really differs from the schema
    for name, (value, why) in DRAFT_OVERRIDES.items():
        assert value != default(Analysis, name)
        line = next(x for x in text.splitlines() if x.startswith(f"  {name}:"))
        assert why in line
    # the closed choices and descriptions come from the schema
    se_line = next(x for x in text.splitlines() if x.startswith("  se:"))
    assert choices_text(Analysis, "se") in se_line and Analysis.model_fields["se"].description in se_line
    assert choices_text(Moderator, "hypothesised_direction") in text


def test_the_draft_validates_against_the_schema():
    plan = Plan.model_validate(yaml.safe_load(render_draft(guess_plan(_frame()))))
    assert plan.analysis.binary_method == "firth_if_separated"
    assert plan.analysis.seed == default(Analysis, "seed")


@pytest.mark.parametrize("field, value", [("seed", 99), ("forest_scale", "per_sd"), ("ci_level", 0.9),
                                          ("multiplicity", "holm")])
def test_changing_a_schema_default_changes_the_draft(monkeypatch, field, value):
    monkeypatch.setattr(Analysis.model_fields[field], "default", value)
    assert _analysis(render_draft(guess_plan(_frame())))[field] == value


def test_a_new_schema_field_appears_in_the_draft(monkeypatch):
    fields = dict(Analysis.model_fields)
    extra = Analysis.model_fields["seed"]
    monkeypatch.setattr(Analysis, "model_fields", {**fields, "new_option": extra})
    assert "new_option" in _analysis(render_draft(guess_plan(_frame())))
