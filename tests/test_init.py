"""`effectmod init`: the guesses, the YAML text, and the draft validating against its own data."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from effectmod.cli import main
from effectmod.plan.draft import draft_plan, guess_plan

REFERENCE = Path(__file__).parent / "reference"
BTHEB = REFERENCE / "btheb_linear" / "data.csv"


def _demo(n=80, seed=7) -> pd.DataFrame:
    """A trial shaped like the demo data (the simulator itself is slower: it computes its truth)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "participant_id": [f"R{i:03d}" for i in range(1, n + 1)], "group": ["sensorimotor", "sham"] * (n // 2),
        "age": rng.integers(20, 80, n), "sex": rng.choice(["female", "male"], n),
        "psychoactive_med": rng.choice(["no", "yes"], n), "bbq": rng.integers(9, 46, n), "pcs": rng.integers(0, 53, n)})
    for stem, top in (("pain", 10), ("rmdq", 24)):
        for week in (0, 18, 52):
            values = rng.integers(0, top + 1, n).astype(float)
            if week:
                values[rng.random(n) < 0.1] = np.nan
            frame[f"{stem}_{week}"] = values
    return frame


def _validates(data: Path, plan: Path, capsys) -> str:
    code = main(["validate", str(data), "--plan", str(plan)])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def _draft_file(data: Path, tmp_path: Path) -> Path:
    plan = tmp_path / "draft.yaml"
    assert main(["init", str(data), "--out", str(plan)]) == 0
    return plan


def _long(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for week in (0, 18, 52):
        part = frame[["participant_id", "group", "age", "sex", "pcs"]].copy()
        part["week"] = week
        part["pain"] = frame[f"pain_{week}"]
        part["rmdq"] = frame[f"rmdq_{week}"]
        rows.append(part)
    return pd.concat(rows).sort_values(["participant_id", "week"]).reset_index(drop=True)


# ----------------------------------------------------------------------------- guesses
def test_follow_up_names_are_grouped_by_stem_and_ordered_by_time():
    rng = np.random.default_rng(1)
    n = 30
    cols = ["pain_w52", "pain_bl", "pain_w18", "bdi.pre", "bdi.6m", "bdi.2m", "rmdq_0", "rmdq_52", "rmdq_18",
            "mood_baseline", "mood_m6", "mood_m12", "qol_t1", "qol_t2", "qol_t3"]
    frame = pd.DataFrame({c: rng.integers(0, 20, n) for c in cols})
    frame.insert(0, "arm", ["control", "active"] * (n // 2))
    frame.insert(0, "record_id", range(n))
    draft = guess_plan(frame)
    got = {o.name: (o.baseline, o.followups) for o in draft.outcomes}
    assert got == {
        "pain": ("pain_bl", {"18": "pain_w18", "52": "pain_w52"}),
        "bdi": ("bdi.pre", {"2": "bdi.2m", "6": "bdi.6m"}),
        "rmdq": ("rmdq_0", {"18": "rmdq_18", "52": "rmdq_52"}),
        "mood": ("mood_baseline", {"6": "mood_m6", "12": "mood_m12"}),
        "qol": ("qol_t1", {"2": "qol_t2", "3": "qol_t3"}),   # t1 as the first assessment, marked to confirm
    }
    assert draft.id == "record_id"
    assert (draft.arm, draft.treated, draft.control) == ("arm", "active", "control")
    # baselines of outcomes are moderator candidates; follow-ups never are
    assert [m.column for m in draft.moderators] == ["pain_bl", "bdi.pre", "rmdq_0", "mood_baseline", "qol_t1"]


@pytest.mark.parametrize("levels, treated, control", [
    (["Placebo", "Drug A"], "Drug A", "Placebo"),
    (["usual care", "CBT"], "CBT", "usual care"),
    (["waitlist", "app"], "app", "waitlist"),
    (["0", "1"], "1", "0"),
    (["B", "A"], "B", "A"),          # nothing recognisable: sorted order, marked to swap if needed
])
def test_arm_values(levels, treated, control):
    frame = pd.DataFrame({"id": range(8), "randomised_to": levels * 4, "x": np.arange(8.0)})
    draft = guess_plan(frame)
    assert (draft.arm, draft.treated, draft.control) == ("randomised_to", treated, control)


def test_moderator_types_and_references():
    rng = np.random.default_rng(2)
    n = 40
    frame = pd.DataFrame({
        "id": [f"P{i:03d}" for i in range(n)], "group": ["sham", "active"] * (n // 2),
        "age": rng.integers(20, 80, n), "smoker": ["Yes", "No"] * (n // 2),
        # both arms at every site (a site nested in the arms is drafted as data.cluster instead)
        "site": ["Leeds", "Leeds", "York", "York", "Hull", "Hull", "Bath", "Bath"] * (n // 8), "education": [1, 2, 3] * 13 + [1],
        "notes": [f"free text {i}" for i in range(n)], "constant": 1,
        "y_0": rng.normal(size=n), "y_6": rng.normal(size=n)})
    draft = guess_plan(frame)
    mods = {m.column: (m.type, m.levels[0] if m.type != "continuous" else None) for m in draft.moderators}
    assert mods == {"age": ("continuous", None), "smoker": ("binary", "No"), "site": ("categorical", "Bath"),
                    "education": ("categorical", "1"), "y_0": ("continuous", None)}
    assert dict(draft.skipped) == {"notes": "a different text on almost every row", "constant": "has one value only"}
    (y,) = draft.outcomes
    lo, hi = y.range
    assert lo == np.floor(frame[["y_0", "y_6"]].min().min()) and hi == np.ceil(frame[["y_0", "y_6"]].max().max())


def test_binary_outcome_and_event():
    frame = pd.DataFrame({"subject": range(12), "treatment": ["placebo", "active"] * 6,
                          "status.0": ["poor", "good"] * 6, "status.1": ["good", "good", "poor"] * 4})
    (o,) = guess_plan(frame).outcomes
    assert (o.type, o.event, o.range, o.baseline) == ("binary", "good", None, "status.0")


def test_long_format_is_recognised(tmp_path, capsys):
    frame = _long(_demo())
    draft = guess_plan(frame)
    assert (draft.time, draft.id, draft.arm) == ("week", "participant_id", "group")
    assert [(o.name, o.column, o.baseline) for o in draft.outcomes] == [("pain", "pain", "0"), ("rmdq", "rmdq", "0")]
    assert [m.column for m in draft.moderators] == ["age", "sex", "pcs"]
    data = tmp_path / "long.csv"
    frame.to_csv(data, index=False)
    text = _validates(data, _draft_file(data, tmp_path), capsys)
    assert "plan and data agree" in text


# ----------------------------------------------------------------------------- round trips
def test_demo_data_draft_validates(tmp_path, capsys):
    data = tmp_path / "trial.csv"
    assert main(["simulate", "--out", str(data), "--n", "60"]) == 0
    plan = _draft_file(data, tmp_path)
    _validates(data, plan, capsys)
    raw = yaml.safe_load(plan.read_text())
    assert raw["data"]["treated"] == "sensorimotor" and raw["data"]["control"] == "sham"
    assert [o["name"] for o in raw["outcomes"]] == ["pain", "rmdq"]
    assert raw["outcomes"][0]["followups"] == {"18": "pain_18", "52": "pain_52"}


def test_btheb_draft_validates(tmp_path, capsys):
    plan = _draft_file(BTHEB, tmp_path)
    _validates(BTHEB, plan, capsys)
    raw = yaml.safe_load(plan.read_text())
    assert raw["outcomes"][0]["baseline"] == "bdi.pre"
    assert raw["outcomes"][0]["followups"] == {"2": "bdi.2m", "4": "bdi.4m", "6": "bdi.6m", "8": "bdi.8m"}
    assert {m["column"]: m.get("reference") for m in raw["moderators"]} == {"drug": "No", "length": "<6m", "bdi.pre": None}


def test_xlsx_draft_validates(tmp_path, capsys):
    data = tmp_path / "trial.xlsx"
    _demo().to_excel(data, index=False, sheet_name="trial data")
    plan = _draft_file(data, tmp_path)
    _validates(data, plan, capsys)
    assert yaml.safe_load(plan.read_text())["data"]["sheet"] == "trial data"


def test_labels_yaml_would_misread_are_quoted(tmp_path, capsys):
    n = 20
    frame = pd.DataFrame({"id": range(n), "treated": ["yes", "no"] * (n // 2), "on_drug": ["No", "Yes"] * (n // 2),
                          "grade": ["1", "2"] * (n // 2), "y_0": np.arange(n) % 7, "y_1": np.arange(n) % 5})
    data = tmp_path / "yesno.csv"
    frame.to_csv(data, index=False)
    text = draft_plan(data)
    assert 'treated: "yes"' in text and 'control: "no"' in text
    raw = yaml.safe_load(text)
    assert raw["data"]["treated"] == "yes" and raw["data"]["control"] == "no"
    refs = {m["column"]: m["reference"] for m in raw["moderators"] if "reference" in m}
    assert refs == {"on_drug": "No", "grade": "1"}
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    _validates(data, plan, capsys)


def test_missing_code_tokens_become_missing_codes(tmp_path, capsys):
    frame = _demo(40)
    frame["bbq"] = frame["bbq"].astype(object)
    frame.loc[[3, 9], "bbq"] = "."
    data = tmp_path / "dots.csv"
    frame.to_csv(data, index=False)
    plan = _draft_file(data, tmp_path)
    assert yaml.safe_load(plan.read_text())["data"]["missing_codes"] == ["."]
    _validates(data, plan, capsys)


def test_every_guess_is_marked():
    text = draft_plan(BTHEB)
    for key in ("id:", "treatment:", "treated:", "control:", "type:", "range:", "baseline:", "followups:", "reference:"):
        lines = [ln for ln in text.splitlines() if ln.strip().startswith(key)]
        assert lines and all("# CONFIRM:" in ln for ln in lines), key
    assert text.count('rationale: ""   # TODO') == 3
    assert text.count("hypothesised_direction: unspecified   # TODO") == 3


# ----------------------------------------------------------------------------- command line
def test_out_and_force(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    assert main(["init", str(BTHEB), "--out", str(plan)]) == 0
    assert "wrote" in capsys.readouterr().out
    plan.write_text("edited by hand\n")
    assert main(["init", str(BTHEB), "--out", str(plan)]) == 2
    assert "--force" in capsys.readouterr().err
    assert plan.read_text() == "edited by hand\n"
    assert main(["init", str(BTHEB), "--out", str(plan), "--force"]) == 0
    assert plan.read_text() == draft_plan(BTHEB)
    capsys.readouterr()
    assert main(["init", str(BTHEB)]) == 0
    assert capsys.readouterr().out == draft_plan(BTHEB)
    assert [p.name for p in tmp_path.iterdir()] == ["plan.yaml"]   # no temporary file left behind


def test_nothing_recognisable_gives_todos_that_parse(tmp_path, capsys):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.integers(0, 3, 30), "b": rng.integers(0, 3, 30), "c": ["x"] * 30})
    data = tmp_path / "odd.csv"
    frame.to_csv(data, index=False)
    text = draft_plan(data)
    raw = yaml.safe_load(text)
    assert raw["data"]["id"] == "TODO_id_column" and raw["data"]["treatment"] == "TODO_arm_column"
    assert raw["outcomes"][0]["name"] == "TODO_outcome"
    assert "TODO" in text
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    assert main(["validate", str(data), "--plan", str(plan)]) == 2
    assert "TODO_id_column" in capsys.readouterr().err   # the error names the placeholder to fill in


def test_text_time_labels_names_with_spaces_and_dates(tmp_path, capsys):
    frame = _demo(40)
    rows = []
    for week, label in ((18, "week 18"), (0, "baseline"), (52, "week 52")):
        part = frame[["participant_id", "group", "pcs"]].copy()
        part["visit"], part["pain"] = label, frame[f"pain_{week}"]
        rows.append(part)
    long = pd.concat(rows, ignore_index=True)
    draft = guess_plan(long)
    assert draft.time == "visit" and draft.outcomes[0].baseline == "baseline"
    wide = frame.rename(columns={"pain_0": "Pain 0", "pain_18": "Pain 18", "pain_52": "Pain 52"})
    wide["randomised_on"] = pd.date_range("2021-01-04", periods=len(wide))
    draft = guess_plan(wide)
    assert ("Pain", "Pain 0", {"18": "Pain 18", "52": "Pain 52"}) in [(o.name, o.baseline, o.followups) for o in draft.outcomes]
    assert ("randomised_on", "holds dates") in draft.skipped
    data = tmp_path / "spaces.parquet"
    wide.to_parquet(data)
    raw = yaml.safe_load(draft_plan(data))
    assert raw["outcomes"][0]["baseline"] == "Pain 0"
    plan = _draft_file(data, tmp_path)
    _validates(data, plan, capsys)


@pytest.mark.parametrize("suffix", [".dta", ".sav"])
def test_stata_and_spss_drafts_validate(suffix, tmp_path, capsys):
    pyreadstat = pytest.importorskip("pyreadstat")
    data = tmp_path / f"trial{suffix}"
    frame = _demo(40)
    if suffix == ".dta":
        frame.to_stata(data, write_index=False)
    else:
        pyreadstat.write_sav(frame, str(data))
    _validates(data, _draft_file(data, tmp_path), capsys)


# ----------------------------------------------------------------------------- real-world column names
def _trial(columns: dict, n: int = 24, arms=("Cont", "CBT"), seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"pid": [f"P{i:02d}" for i in range(n)], "group": list(arms) * (n // 2),
                          "age": rng.integers(20, 80, n)})
    for name, make in columns.items():
        frame[name] = make(rng, n) if callable(make) else rng.integers(0, 40, n).astype(float)
    return frame


def _init_csv(frame: pd.DataFrame, tmp_path: Path, capsys, name="trial.csv"):
    """init on the frame written as a file; (draft dict, draft text, init's stderr)."""
    data = tmp_path / name
    if name.endswith(".csv"):
        frame.to_csv(data, index=False)
    plan = tmp_path / "draft.yaml"
    capsys.readouterr()
    assert main(["init", str(data), "--out", str(plan), "--force"]) == 0
    err = capsys.readouterr().err
    text = plan.read_text()
    return yaml.safe_load(text), text, err, data, plan


@pytest.mark.parametrize("columns, baseline, followups", [
    (["BDI Baseline", "BDI 2 months", "BDI 6 months"], "BDI Baseline", {"2": "BDI 2 months", "6": "BDI 6 months"}),
    (["baseline_bdi", "m2_bdi", "m6_bdi"], "baseline_bdi", {"2": "m2_bdi", "6": "m6_bdi"}),
    (["w0_pain", "w18_pain", "w52_pain"], "w0_pain", {"18": "w18_pain", "52": "w52_pain"}),
    (["bdiPre", "bdi2m", "bdi6m"], "bdiPre", {"2": "bdi2m", "6": "bdi6m"}),
    (["Prewt", "Postwt"], "Prewt", {"post": "Postwt"}),
    (["pre_wt", "post_wt"], "pre_wt", {"post": "post_wt"}),
])
def test_outcome_series_written_in_other_ways(columns, baseline, followups, tmp_path, capsys):
    raw, _, _, data, plan = _init_csv(_trial({c: None for c in columns}), tmp_path, capsys)
    (o,) = raw["outcomes"]
    assert (o["baseline"], o["followups"]) == (baseline, followups)
    # the baseline is a moderator candidate; the follow-ups never are
    assert {m["column"] for m in raw["moderators"]} == {"age", baseline}
    _validates(data, plan, capsys)


def test_item_numbers_and_baseline_words_are_not_times():
    binary = lambda r, n: r.integers(0, 2, n)   # noqa: E731
    cols = {"phq1": None, "phq2": None, "phq3": None, "age_65": binary, "eq5d": None, "post_menopausal": binary,
            "Posture": None, "postcode": None}
    draft = guess_plan(_trial(cols))
    assert draft.outcomes == []
    assert {m.column for m in draft.moderators} == {"age", *cols}


@pytest.mark.parametrize("control", ["Cont", "Ctrl", "control", "CONTROL", "usual care", "Usual Care", "TAU", "tau",
                                     "placebo", "Sham", "waitlist", "Wait list", "wait-list", "WL"])
def test_control_arm_names(control, tmp_path, capsys):
    # the intervention sorts after the control in some cases and before it in others
    for treated in ("App", "ZZ therapy"):
        raw, *_ = _init_csv(_trial({"pain_0": None, "pain_6": None}, arms=(treated, control)), tmp_path, capsys)
        assert (raw["data"]["treated"], raw["data"]["control"]) == (treated, control)


def test_post_baseline_columns_are_never_moderators(tmp_path, capsys):
    later = ["bdi_6m", "pain_w18", "qol_post", "mood 2 months", "m12_fatigue", "sleep3m"]
    raw, text, *_ = _init_csv(_trial({c: None for c in later} | {"bmi": None}), tmp_path, capsys)
    assert raw["outcomes"][0]["name"] == "TODO_outcome"      # no series: nothing drafted
    assert raw["outcomes"][0]["better"] == "lower"           # a placeholder drafts better: too
    assert {m["column"] for m in raw["moderators"]} == {"age", "bmi"}
    for c in later:
        assert f"#   {c}: its name says it was measured after baseline" in text


def test_spss_variable_labels_become_labels(tmp_path, capsys):
    pyreadstat = pytest.importorskip("pyreadstat")
    frame = _trial({"bdi_0": None, "bdi_2m": None, "bdi_6m": None, "sleep": None})
    labels = {"pid": "Participant", "group": "Randomised group", "age": "Age at randomisation (years)",
              "bdi_0": "BDI-II total, baseline", "bdi_2m": "BDI-II total, 2 months", "bdi_6m": "BDI-II total, 6 months",
              "sleep": "Sleep quality (PSQI 0-21)"}
    data = tmp_path / "trial.sav"
    pyreadstat.write_sav(frame, str(data), column_labels=labels)
    raw, text, _, data, plan = _init_csv(frame, tmp_path, capsys, name="trial.sav")
    assert raw["outcomes"][0]["label"] == "BDI-II total"
    mods = {m["column"]: m["label"] for m in raw["moderators"]}
    assert mods["age"] == "Age at randomisation (years)" and mods["sleep"] == "Sleep quality (PSQI 0-21)"
    assert mods["bdi_0"] == "BDI-II total, baseline"
    assert "# CONFIRM: from the file's variable labels" in text
    _validates(data, plan, capsys)


def _exponential(r, n):
    return np.round(r.exponential(300, n), 1)


def _indicator(r, n):
    return r.integers(0, 2, n)


@pytest.mark.parametrize("time, event", [("os_time", "os_status"), ("time", "status"), ("days", "died"),
                                         ("PFS_time", "PFS_event")])
def test_time_to_event_pairs_are_drafted_as_time_to_event(time, event, tmp_path, capsys):
    frame = _trial({"pain_0": None, "pain_6": None, time: _exponential, event: _indicator})
    raw, text, err, data, plan = _init_csv(frame, tmp_path, capsys)
    tte = [o for o in raw["outcomes"] if o["type"] == "time_to_event"]
    assert len(tte) == 1 and (tte[0]["time"], tte[0]["event"]) == (time, event)
    assert "event_value" not in tte[0]                       # 0/1 events need none
    assert "pain" in [o["name"] for o in raw["outcomes"]]
    # the time is never offered as a moderator, nor the event indicator
    assert time not in {m["column"] for m in raw["moderators"]} and event not in {m["column"] for m in raw["moderators"]}
    assert "NOT SUPPORTED: time-to-event" not in text and "# horizon: TODO" in text
    assert "time-to-event" not in err
    _validates(data, plan, capsys)


@pytest.mark.parametrize("columns", [["seizures_0", "seizures_12"], ["falls"], ["exacerbations"],
                                     ["n_episodes_bl", "n_episodes_w12"], ["count"]])
def test_count_outcomes_are_drafted(columns, tmp_path, capsys):
    def poisson(r, n):
        return r.poisson(0.8, n)
    frame = _trial({"pain_0": None, "pain_6": None} | {c: poisson for c in columns})
    raw, text, err, data, plan = _init_csv(frame, tmp_path, capsys)
    counts = [o for o in raw["outcomes"] if o["type"] == "count"]
    assert "pain" in [o["name"] for o in raw["outcomes"]] and len(counts) == 1
    follow_ups = [c for c in columns if not c.endswith(("_0", "_bl"))]
    assert set(counts[0]["followups"].values()) == set(follow_ups)
    assert not set(follow_ups) & {m["column"] for m in raw["moderators"]}
    assert "count outcome: whole numbers from 0" in text and "# exposure:" in text
    _validates(data, plan, capsys)


def test_count_history_stays_a_moderator():
    draft = guess_plan(_trial({"pain_0": None, "pain_6": None, "prior_falls": lambda r, n: r.poisson(0.8, n)}))
    assert "prior_falls" in {m.column for m in draft.moderators} and not draft.unsupported


def test_long_count_outcome_is_drafted():
    frame = _long(_demo())
    frame["falls"] = np.random.default_rng(1).poisson(0.5, len(frame))
    draft = guess_plan(frame)
    assert [o.name for o in draft.outcomes] == ["pain", "rmdq", "falls"]
    assert draft.outcomes[-1].type == "count"


def test_rating_scale_text_is_drafted_as_ordinal(tmp_path, capsys):
    scale = np.array(["poor", "fair", "good", "excellent"])
    frame = _trial({"pain_0": None, "pain_6": None, "status_0": lambda r, n: scale[r.integers(0, 4, n)],
                    "status_6": lambda r, n: scale[r.integers(0, 4, n)]})
    raw, text, err, data, plan = _init_csv(frame, tmp_path, capsys)
    (o,) = [o for o in raw["outcomes"] if o["type"] == "ordinal"]
    assert o["levels"] == ["poor", "fair", "good", "excellent"] and o["better"] == "higher"
    _validates(data, plan, capsys)


@pytest.mark.parametrize("labels, expected", [
    (["Weight pre", "Weight post"], "Weight"),
    (["Pain at baseline", "Pain at 6 months"], "Pain"),
    (["Body weight (kg), pre", "Body weight (kg), post"], "Body weight (kg)"),
    (["Ab", "Ac"], "Ac"),                   # nothing in common: the follow-up's own label
])
def test_outcome_label_from_variable_labels(labels, expected):
    from effectmod.plan.draft.kinds import outcome_label
    from effectmod.plan.draft.records import Outcome
    o = Outcome("x", "continuous", ["a", "b"], followups={"1": "b"})
    assert outcome_label(o, dict(zip(["a", "b"], labels))) == expected
