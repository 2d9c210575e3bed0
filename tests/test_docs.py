"""The documentation generated from the code is committed up to date."""
from pathlib import Path

from effectmod.plan import schema
from effectmod.plan.reference import plan_reference

DOCS = Path(__file__).parent.parent / "docs"


def test_plan_reference_is_up_to_date():
    committed = (DOCS / "plan-reference.md").read_text(encoding="utf-8")
    assert committed == plan_reference(), (
        "docs/plan-reference.md is out of date with src/effectmod/plan/schema.py; regenerate it with "
        "`python -m effectmod.plan.reference > docs/plan-reference.md` and commit it")


def test_plan_reference_lists_every_key_with_its_description():
    text = plan_reference()
    sections = {"": schema.Plan, "data.": schema.DataSpec, "outcomes[i].": schema.Outcome,
                "outcomes[i].derive.": schema.Derivation, "moderators[i].": schema.Moderator,
                "analysis.": schema.Analysis}
    for prefix, model in sections.items():
        for name, info in model.model_fields.items():
            row = next((ln for ln in text.splitlines() if ln.startswith(f"| `{prefix}{info.alias or name}` |")), None)
            assert row is not None, f"{prefix}{name} missing"
            if info.description:
                assert info.description.replace("|", "\\|") in row
    assert "| `analysis.se` | `classical` \\| `HC3` \\| `CR2` | `classical` |" in text
    assert "| `data.id` | text | required |" in text
