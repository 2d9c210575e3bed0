"""Display labels for coded arms and levels (data.arm_labels, moderators[].level_labels): checked
in the plan and against the data (exit 2, one line each), shown wherever the report, tables.docx,
Table 1, the figures and the console name an arm or a level, and never in results.csv; drafted by
`effectmod init` from an SPSS file's value labels."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import effectmod as em
from effectmod.cli import main

PLAN = {
    "title": "Exercise trial",
    "data": {"id": "id", "treatment": "treat", "treated": 1, "control": 0},
    "outcomes": [{"name": "pain", "label": "Pain", "type": "continuous", "better": "lower", "baseline": "y0",
                  "followups": {"12": "y"}}],
    "moderators": [{"name": "sex", "column": "sex", "type": "binary", "label": "Sex"},
                   {"name": "site", "column": "site", "type": "categorical", "label": "Site"},
                   {"name": "age", "column": "age", "type": "continuous", "label": "Age"}],
    "analysis": {"exploratory_threshold": 0.5},
}
LABELS = {"arm_labels": {1: "Exercise", 0: "Usual care"},
          "level_labels": {"sex": {1: "male", 2: "female"}, "site": {1: "Leeds", 2: "London", 3: "York"}}}


def _data(n: int = 160, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treat, sex, site = rng.integers(0, 2, n), rng.integers(1, 3, n), rng.integers(1, 4, n)
    y0, age = rng.normal(10, 2, n), rng.normal(50, 10, n)
    # a strong sex x treatment interaction: a key finding names the levels
    y = 0.5 * y0 - treat * (0.5 + 2.0 * (sex == 2)) + 0.01 * age + rng.normal(0, 1.5, n)
    return pd.DataFrame({"id": np.arange(1, n + 1), "treat": treat, "sex": sex, "site": site, "age": age.round(1),
                         "y0": y0.round(2), "y": y.round(2)})


def _labelled(plan: dict | None = None) -> dict:
    plan = copy.deepcopy(plan or PLAN)
    plan["data"]["arm_labels"] = dict(LABELS["arm_labels"])
    for m in plan["moderators"]:
        if m["name"] in LABELS["level_labels"]:
            m["level_labels"] = dict(LABELS["level_labels"][m["name"]])
    return plan


# ---------------------------------------------------------------------------- the plan's checks

def test_valid_labels_and_key_normalisation():
    plan = _labelled()
    plan["data"]["arm_labels"] = {"1": "Exercise", 0.0: "Usual care"}       # 1, "1" and 1.0 are one value
    em.load_plan(plan)


@pytest.mark.parametrize("change, expected", [
    (lambda p: p["data"].update(arm_labels={1: "Exercise", 2: "Usual care"}),
     "data.arm_labels: 2 is not an arm of the analysis; allowed keys: 1 (data.treated), 0 (data.control)"),
    (lambda p: p["data"].update(arm_labels={1: "Exercise", 0: "Exercise"}),
     "data.arm_labels: 1 and 0 have the same label 'Exercise'; labels must differ"),
    (lambda p: p["data"].update(arm_labels={1: " ", 0: "Usual care"}),
     "data.arm_labels: the label of 1 is empty; give a non-empty text"),
    (lambda p: p["data"].update(arm_labels={1: "Exercise", "1.0": "Exercise 2"}),
     "data.arm_labels: 1 and '1.0' are the same value; give it once"),
    (lambda p: p["moderators"][2].update(level_labels={50: "fifty"}),
     "moderators[2]: level_labels: only binary and categorical moderators have levels to label"),
    (lambda p: p["moderators"][0].update(level_labels={1: "male", 2: "Male "}),
     None),   # labels are compared after stripping only: 'male' and 'Male' differ
    (lambda p: p["moderators"][0].update(level_labels={1: "male", 2: "male"}),
     "moderators[0].level_labels: 1 and 2 have the same label 'male'; labels must differ"),
])
def test_plan_errors_name_the_key(change, expected, tmp_path, capsys):
    plan = copy.deepcopy(PLAN)
    change(plan)
    if expected is None:
        em.load_plan(plan)
        return
    _data().to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    assert main(["validate", str(tmp_path / "d.csv"), "--plan", str(tmp_path / "plan.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any(line.endswith(expected) and line.startswith("effectmod: ") for line in err), err
    assert "Traceback" not in "\n".join(err)


@pytest.mark.parametrize("change, expected", [
    (lambda p: p["moderators"][1].update(level_labels={1: "Leeds", 4: "York"}),
     "effectmod: moderators[1].level_labels: 4 is not a level of column 'site'; levels: '1', '2', '3'"),
    # unquoted yes/no in YAML are booleans: the message says so
    (lambda p: p["moderators"][0].update(level_labels={True: "smoker"}),
     "effectmod: moderators[0].level_labels: True is not a level of column 'sex'; levels: '1', '2'. YAML reads unquoted "
     "yes/no/on/off/true/false as a boolean; quote the value in the plan (e.g. \"No\")"),
    # without data.control the control arm is found in the data: a key must be that arm
    (lambda p: (p["data"].pop("control"), p["data"].update(arm_labels={1: "Exercise", 5: "Usual care"})),
     "effectmod: data.arm_labels: 5 is not an arm of column 'treat'; allowed keys: '1' (data.treated), '0' (the control arm)"),
])
def test_data_problems_name_the_key(change, expected, tmp_path, capsys):
    plan = copy.deepcopy(PLAN)
    change(plan)
    _data().to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    assert main(["validate", str(tmp_path / "d.csv"), "--plan", str(tmp_path / "plan.yaml")]) == 2
    assert expected in capsys.readouterr().err.splitlines()


# ---------------------------------------------------------------------------- what the reader sees

@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The same 0/1-coded trial analysed without and with labels, through the command line."""
    import effectmod.report.figures as figures
    root = tmp_path_factory.mktemp("labels")
    _data().to_csv(root / "d.csv", index=False)
    saved = figures.report_figures
    figures.report_figures = lambda results: []      # figures are tested below, from the Results
    try:
        out = {}
        for name, plan in (("plain", PLAN), ("labelled", _labelled())):
            (root / f"{name}.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
            assert main(["analyze", str(root / "d.csv"), "--plan", str(root / f"{name}.yaml"),
                         "--out", str(root / name), "--quiet"]) == 0
            out[name] = root / name
    finally:
        figures.report_figures = saved
    return out


def _docx_text(path: Path) -> str:
    import docx
    d = docx.Document(str(path))
    return "\n".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells])


def test_results_files_keep_the_data_values(written):
    for name in ("results.csv", "conditional_effects.csv", "average_effects.csv"):
        assert (written["plain"] / name).read_bytes() == (written["labelled"] / name).read_bytes(), name
    rows = pd.read_csv(written["labelled"] / "results.csv")
    assert set(rows.loc[rows["moderator"] == "site", "term"].astype(str)) == {"2", "3", "joint"}


def test_report_and_tables_show_the_labels(written):
    plain = (written["plain"] / "report.html").read_text()
    html = (written["labelled"] / "report.html").read_text()
    assert "Treatment was coded 1 for 1 and 0 for 0." in plain
    assert "Treatment was coded 1 for Exercise and 0 for Usual care." in html
    assert "Exercise (treated) vs Usual care (control)" in html
    assert "randomised to the two analysed arms: Exercise " in html
    assert "London vs Leeds" in html and "York vs Leeds" in html and "2 vs 1" not in html
    # the key finding of the sex interaction: one wording, the labels in it
    assert "Sex, female vs male: the female subgroup benefited more than the male subgroup on pain at follow-up 12" in html
    assert " in the male subgroup vs " in html
    docx_text = _docx_text(written["labelled"] / "tables.docx")
    for text in ("Exercise (n = ", "Usual care (n = ", "female", "London vs Leeds", "Sex, female vs male"):
        assert text in docx_text, text
    assert "1 minus 0" not in html + docx_text
    table1 = pd.read_csv(written["labelled"] / "table1.csv")
    assert list(table1.columns)[1:] == [c.replace("1 (", "Exercise (").replace("0 (", "Usual care (")
                                        for c in pd.read_csv(written["plain"] / "table1.csv").columns[1:]]
    assert {"    male", "    female", "    Leeds", "    London", "    York"} <= set(table1["Characteristic"])


def test_console_and_figures_show_the_labels():
    from effectmod.report.effect_figures import subgroup_figure
    from effectmod.report.subgroup_forest import subgroup_forest_figures
    res = em.analyze(_data(), em.load_plan(_labelled()))
    texts = []
    for _, caption, fig in subgroup_forest_figures(res) + [subgroup_figure(res, "site", {"linear"})]:
        texts.append(caption)
        for ax in fig.axes:
            texts += [t.get_text() for t in ax.texts] + [t.get_text() for t in ax.get_yticklabels()]
            texts.append(ax.get_xlabel())
    shown = "\n".join(texts)
    for text in ("Exercise", "Usual care", "female", "male", "Leeds", "London", "York", "Exercise minus Usual care"):
        assert text in shown, text
    assert "1 minus 0" not in shown
    import io

    from rich.console import Console

    from effectmod.cli.console import print_summary
    console = Console(file=io.StringIO(), width=120)
    print_summary(console, res)
    printed = console.file.getvalue()
    assert "London vs Leeds" in printed and "2 vs 1" not in printed


# ---------------------------------------------------------------------------- effectmod init

def test_init_drafts_labels_from_spss_value_labels(tmp_path, capsys):
    pyreadstat = pytest.importorskip("pyreadstat")
    frame = _data().rename(columns={"site": "grade"})
    frame["grade"] = frame["id"] % 4 + 1         # four levels, three of them labelled
    # treat: labelled on one arm (and a code that does not occur); grade: three of its levels. Both
    # columns stay coded when read, so their labels are drafted. sex: every value labelled, so the
    # reader shows its labels already and the plan needs none.
    pyreadstat.write_sav(frame, str(tmp_path / "trial.sav"), variable_value_labels={
        "treat": {1: "Exercise", 7: "withdrawn"}, "grade": {1: "well", 2: "moderate", 3: "poor", -99: "refused"},
        "sex": {1: "male", 2: "female"}, "age": {99: "unknown"}})
    assert main(["init", str(tmp_path / "trial.sav"), "--out", str(tmp_path / "plan.yaml")]) == 0
    text = (tmp_path / "plan.yaml").read_text()
    assert 'arm_labels: {"1": "Exercise"}' in text
    assert 'level_labels: {"1": "well", "2": "moderate", "3": "poor"}' in text
    plan = yaml.safe_load(text)
    sex = next(m for m in plan["moderators"] if m["column"] == "sex")
    assert "level_labels" not in sex and sex["reference"] in ("female", "male")
    assert not any("level_labels" in m for m in plan["moderators"] if m["type"] == "continuous")
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "trial.sav"), "--plan", str(tmp_path / "plan.yaml")]) == 0
    assert "(Exercise: " in capsys.readouterr().out


def test_sap_names_arms_and_levels_by_their_labels():
    from effectmod.report.sap import sap_markdown
    text = sap_markdown(em.load_plan(_labelled()))
    assert "Treatment is coded 1 for Exercise and 0 for Usual care." in text
    assert "Intervention: Exercise (column 'treat'). Comparator: Usual care." in text
    assert "levels: 1 = male, 2 = female" in text and "levels: 1 = Leeds, 2 = London, 3 = York" in text
    assert "coded 1 for 1 and 0 for 0" in sap_markdown(em.load_plan(PLAN))


def test_direction_sentences_name_binary_levels_by_their_labels():
    """The credibility text's hypothesised and observed directions of a binary moderator
    ('more benefit when sex is female than male'), as Table 2 and the key findings name the levels."""
    from effectmod.report.paragraph import _benefit_text
    plan = _labelled()
    plan["moderators"][0]["hypothesised_direction"] = "greater_benefit_when_higher"
    res = em.analyze(_data(), em.load_plan(plan))
    sex = next(m for m in res.plan.moderators if m.name == "sex")
    assert _benefit_text(res, sex, "greater_benefit_when_higher") == "more benefit when sex is female than male"
    assert _benefit_text(res, sex, "less_benefit_when_higher") == "less benefit when sex is female than male"
