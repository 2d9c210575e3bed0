"""`effectmod sap`: the effect-modifier section of a statistical analysis plan, written from the
plan alone (no data), and the pre-specified / post hoc label of each moderator."""
from __future__ import annotations

import re

import pytest

import effectmod as em
from effectmod.cli.app import main
from effectmod.plan import validate_plan
from effectmod.report import paragraph
from effectmod.report.html import render_report
from effectmod.report.sap import direction_words, sap_sections
from effectmod.simulation import simulate


@pytest.fixture
def demo_plan(tmp_path):
    assert main(["simulate", "--out", str(tmp_path / "x.csv"), "--n", "40"]) == 0
    (tmp_path / "x.csv").unlink()          # the SAP is written before any data are seen
    # the demo states no hypothesised directions (the published analysis records none): give
    # them here, alternating, so that the SAP's wording of each direction is checked
    import yaml
    path = tmp_path / "x.plan.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for j, m in enumerate(raw["moderators"]):
        m["hypothesised_direction"] = ("less_benefit_when_higher", "greater_benefit_when_higher")[j % 2]
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _post_hoc_plan(raw: dict) -> dict:
    raw = {**raw, "moderators": [dict(m) for m in raw["moderators"]]}
    raw["moderators"][-1]["prespecified"] = False
    return raw


def test_markdown_and_docx_from_the_plan_alone(demo_plan, tmp_path, capsys):
    md, dx = tmp_path / "sap.md", tmp_path / "sap.docx"
    assert main(["sap", str(demo_plan), "--out", str(md)]) == 0
    assert main(["sap", str(demo_plan), "--out", str(dx)]) == 0
    text = md.read_text(encoding="utf-8")
    plan = em.load_plan(demo_plan)
    for m in plan.moderators:
        assert " ".join(m.rationale.split()) in text
        assert f"Hypothesised direction: {direction_words(plan, m)}" in text
        assert ("benefit of sensorimotor over sham" in direction_words(plan, m))
    for heading in ("Thresholds", "Multiplicity", "Missing data", "Statistical model", "Credibility assessment",
                    "Interpretation", "Outcomes", "Trial arms"):
        assert f"\n## {heading}\n" in text
    assert "P < .05 will be reported as evidence" in text and "P < .20 as hypothesis-generating" in text
    assert "32 tests in the main analysis" in text and "No adjustment for multiple testing" in text
    assert "complete cases" in text
    assert "18 weeks, 52 weeks" in text and "lower values are better" in text
    assert "Status: pre-specified" in text and "post hoc (" not in text

    from docx import Document
    doc = Document(str(dx))
    docx_headings = [p.text for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    md_headings = [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]
    assert docx_headings == md_headings
    body = "\n".join(p.text for p in doc.paragraphs)
    assert all(" ".join(m.rationale.split()) in body for m in plan.moderators)


def test_refuses_unknown_formats_and_existing_files(demo_plan, tmp_path, capsys):
    for name in ("sap.txt", "sap.pdf", "sap"):
        assert main(["sap", str(demo_plan), "--out", str(tmp_path / name)]) == 2
        assert "give a file ending in .md (Markdown) or .docx (Word)" in capsys.readouterr().err
        assert not (tmp_path / name).exists()
    out = tmp_path / "sap.md"
    out.write_text("mine", encoding="utf-8")
    assert main(["sap", str(demo_plan), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_text(encoding="utf-8") == "mine"
    assert main(["sap", str(demo_plan), "--out", str(out), "--force"]) == 0
    assert out.read_text(encoding="utf-8").startswith("# Statistical analysis plan")
    assert main(["sap", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "b.md")]) == 2
    assert not list(tmp_path.glob(".*.tmp"))


def test_plan_options_reach_the_sap():
    raw = simulate("resolve", n=40, seed=1).plan
    raw = _post_hoc_plan({**raw, "analysis": {**raw["analysis"], "multiplicity": "holm", "imputations": 20,
                                              "imputation_method": "pmm", "bootstrap": 500, "se": "HC3"},
                          "covariates": ["age"]})
    plan = validate_plan(raw)
    text = "\n".join(" ".join(s.paragraphs + s.bullets + (s.title,)) for s in sap_sections(plan))
    assert "Holm's step-down method" in text
    assert "m = 20 imputations" in text and "predictive mean matching" in text and "Rubin's rules" in text
    assert "500 resamples" in text and "HC3" in text and "covariates age" in text
    last = plan.moderators[-1]
    assert f"### 8. {last.label} (post hoc)" in _markdown(plan)
    assert "7 pre-specified candidate effect modifiers and 1 post hoc" in text
    assert re.search(r"Status: post hoc \(chosen after the data were seen", text)


def _markdown(plan) -> str:
    from effectmod.report.sap import sap_markdown
    return sap_markdown(plan)


def test_prespecified_defaults_to_true_and_is_echoed():
    raw = simulate("resolve", n=40, seed=1).plan
    plan = validate_plan(raw)
    assert all(m.prespecified for m in plan.moderators)
    assert validate_plan(_post_hoc_plan(raw)).model_dump(mode="json")["moderators"][-1]["prespecified"] is False
    with pytest.raises(em.PlanError, match=r"moderators\[7\]\.prespecified"):
        bad = _post_hoc_plan(raw)
        bad["moderators"][-1]["prespecified"] = "perhaps"
        validate_plan(bad)


def test_post_hoc_moderator_is_labelled_in_the_report(no_figures):
    trial = simulate("resolve", n=80, seed=3)
    raw = _post_hoc_plan({**trial.plan, "analysis": {**trial.plan["analysis"], "sensitivity": []}})
    res = em.analyze(trial.data, validate_plan(raw))
    last = res.plan.moderators[-1]
    assert res.to_dict()["plan"]["moderators"][-1]["prespecified"] is False
    html = render_report(res, [])
    assert "<th>Pre-specified</th>" in html
    rows = re.findall(r"<tr><td>(.*?)</tr>", html, flags=re.S)
    row = next(r for r in rows if last.label in r and "post hoc" in r)
    assert "<td>post hoc</td>" in row
    assert sum("<td>yes</td>" in r for r in rows) >= len(res.plan.moderators) - 1
    assert f"{last.label} (post hoc)" in " ".join(paragraph.results_paragraph(res))
    assert "7 pre-specified, 1 post hoc" in html
    from effectmod.inference.credibility import credibility
    cred = credibility(res.table, res.plan)
    post = cred[cred["moderator"] == last.name]
    assert len(post) and len(cred) > len(post)
    assert not cred[cred["moderator"] != last.name]["reasons"].str.contains("post hoc").any()
    assert (post["prespecified"] == "no (post hoc)").all()
    assert post["reasons"].str.contains("post hoc").all()


def test_binary_derived_and_categorical_plans():
    from pathlib import Path
    plan = em.load_plan(Path(__file__).parent / "reference" / "mi_e2e" / "plan.yaml")
    text = _markdown(plan)
    assert "12 linear-model tests and 12 logistic-model tests in the main analysis" in text
    assert "follow-ups as for Beck Depression Inventory II" in text and "the event is a good result" in text
    assert "responder outcome derived from bdi by the rule 'reduction_from_baseline_pct >= 50'" in text
    assert "Type: categorical; reference level 'mild'" in text
    assert "the joint test of the interaction decides" in text
    assert "Binary outcomes: logistic regression" in text
