"""Typed records through the middle of the pipeline: structured notes (code + text) rendered
once into results.csv's note column, later steps joined to the table by the row key (never by
position), and Johnson-Neyman regions carried as numbers."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import effectmod as em
from effectmod.plan.load import validate_plan
from effectmod.records import (
    BOOTSTRAP_COMPLETE_CASE,
    HETEROSCEDASTICITY,
    LOGISTIC_ENGINE,
    NOT_ESTIMABLE,
    PERMUTATION_LINEAR_ONLY,
    ROW_KEY,
    SEPARATION_KEPT,
    SPARSE_CELL,
    JNRegion,
    Note,
    keys_of,
    merge_on_key,
    render_notes,
)

SEPARATION_TEXT = "separation: estimate unreliable; consider binary_method: firth"


def separated_trial(n: int = 80, seed: int = 5, **analysis):
    """Every treated man has the event (quasi-complete separation in that subgroup); age is a
    continuous moderator, and a few ages are missing."""
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, "drug", "placebo")
    sex = rng.choice(["female", "male"], n)
    age = rng.normal(50, 10, n).round()
    y = rng.binomial(1, 0.35, n)
    y[(arm == "drug") & (sex == "male")] = 1
    age[::9] = np.nan
    data = pd.DataFrame({"pid": np.arange(n), "arm": arm, "sex": sex, "age": age, "cured_12": y})
    plan = {
        "title": "Separated subgroup",
        "data": {"id": "pid", "treatment": "arm", "treated": "drug", "control": "placebo"},
        "outcomes": [{"name": "cured", "label": "Cured", "type": "binary", "followups": {"12": "cured_12"}}],
        "moderators": [
            {"name": "sex", "column": "sex", "type": "binary", "reference": "female", "label": "Sex"},
            {"name": "age", "column": "age", "type": "continuous", "label": "Age (years)"},
        ],
        "analysis": {"binary_method": "ml", **analysis},
    }
    return data, validate_plan(plan, origin="separated plan")


def _analyze(data, plan):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return em.analyze(data, plan)


# ---------------------------------------------------------------------------- notes
def test_fitted_models_carry_coded_notes_and_the_note_column_is_their_text():
    data, plan = separated_trial()
    res = _analyze(data, plan)
    sep = next(f for f in res.fitted if f.spec.moderator == "sex")
    assert isinstance(sep.notes, tuple) and all(isinstance(n, Note) for n in sep.notes)
    codes = [n.code for n in sep.notes]
    assert codes[0] == SEPARATION_KEPT and sep.notes[0].text == SEPARATION_TEXT
    assert LOGISTIC_ENGINE in codes and SPARSE_CELL in codes
    row = res.table[res.table["moderator"] == "sex"].iloc[0]
    # the note column is the notes' texts joined once, at the end
    assert row["note"] == "; ".join(n.text for n in sep.notes) == sep.note
    assert res.row_notes[tuple(row[k] for k in ROW_KEY)] == sep.notes
    # programs ask for codes, not text
    assert res.has_note(res.table, SEPARATION_KEPT).tolist() == (res.table["moderator"] == "sex").tolist()
    assert not res.has_note(res.table, NOT_ESTIMABLE).any()


def test_a_note_whose_text_holds_a_semicolon_is_counted_whole_over_imputations(monkeypatch):
    """Over multiple imputations each note is counted as one record, never split at '; '."""
    from effectmod.inference import imputed_fits
    from effectmod.models.spec import ModelSpec

    def engine(spec, design, plan):
        return object(), {}, (Note(SEPARATION_KEPT, SEPARATION_TEXT), Note(LOGISTIC_ENGINE, f"note of dataset {design}"))

    monkeypatch.setattr(imputed_fits, "run_engine", engine)
    _, df, notes = imputed_fits._fit_all(ModelSpec("logistic", "cured", "sex", "12"), [1, 2, 2], None)
    assert math.isinf(df)
    assert notes == {Note(SEPARATION_KEPT, SEPARATION_TEXT): 3, Note(LOGISTIC_ENGINE, "note of dataset 1"): 1,
                     Note(LOGISTIC_ENGINE, "note of dataset 2"): 2}


def test_imputed_separated_rows_keep_their_note_whole_and_coded():
    data, plan = separated_trial(imputations=3, bootstrap=20, permutations=9)
    res = _analyze(data, plan)
    row = res.table[res.table["moderator"] == "sex"].iloc[0]
    assert row["note"].startswith(SEPARATION_TEXT + " (in 3 of 3 completed datasets)")
    assert row["note"].endswith("bootstrap CI is of the complete-case analysis; "
                                "permutation test: not available with multiple imputation")
    notes = res.row_notes[tuple(row[k] for k in ROW_KEY)]
    assert render_notes(notes) == row["note"]
    assert notes[0].code == SEPARATION_KEPT and notes[-2].code == BOOTSTRAP_COMPLETE_CASE
    assert res.has_note(res.table, SEPARATION_KEPT).tolist() == (res.table["moderator"] == "sex").tolist()
    assert res.has_note(res.table, BOOTSTRAP_COMPLETE_CASE).all()


def test_heteroscedasticity_note_is_one_coded_record():
    from effectmod.simulation import simulate
    sim = simulate("resolve", 150, 11)
    plan = dict(sim.plan)
    plan["analysis"] = {**plan["analysis"], "sensitivity": []}
    res = _analyze(sim.data, plan)
    for f in res.fitted:
        texts = [n.text for n in f.notes if n.code == HETEROSCEDASTICITY]
        assert all(t.startswith("classical SEs may be anti-conservative") and "; consider se: HC3" in t for t in texts)
        assert f.note == render_notes(f.notes)


# ---------------------------------------------------------------------------- joined by key
def _table(order):
    keys = [("pain", "6", "age", "", "linear"), ("pain", "12", "age", "", "linear"), ("pain", "6", "sex", "", "linear")]
    return pd.DataFrame([dict(zip(ROW_KEY, keys[i])) | {"estimate": float(i)} for i in order])


def test_merge_on_key_joins_by_key_not_position():
    frame = _table([2, 0, 1]).rename(columns={"estimate": "value"})
    table = _table([0, 1, 2])
    table.index = [10, 11, 12]
    out = merge_on_key(table, frame, ["value"])
    assert out["value"].tolist() == out["estimate"].tolist() and list(out.index) == [10, 11, 12]
    with pytest.raises(ValueError, match="repeats a row key"):
        merge_on_key(table, pd.concat([frame, frame]), ["value"])
    with pytest.raises(ValueError, match="no match"):
        merge_on_key(table, frame.iloc[:2], ["value"])
    filled = merge_on_key(table, frame.iloc[:2], ["value"], fill={"value": math.nan})
    assert np.isnan(filled["value"]).sum() == 1


def test_bootstrap_and_permutation_frames_start_with_the_row_key_and_cover_every_row():
    from effectmod.inference.bootstrap import bootstrap_frame
    from effectmod.inference.permutation import permutation_frame
    from effectmod.inference.resample import stratified_bootstrap_counts

    data, plan = separated_trial(bootstrap=30, permutations=19)
    res = _analyze(data, plan)
    counts = stratified_bootstrap_counts(res.trial.treat, 30, np.random.default_rng(1))
    boot = bootstrap_frame(res.fitted, res.plan, counts)
    perm = permutation_frame(res.fitted, 19, np.random.default_rng(2))
    for frame in (boot, perm):
        assert tuple(frame.columns[:len(ROW_KEY)]) == ROW_KEY
        assert sorted(keys_of(frame)) == sorted(keys_of(res.table))
    # the pipeline's columns are the frames' values at each row's key, whatever the row order
    shuffled = res.table.sample(frac=1.0, random_state=3)
    again = merge_on_key(shuffled, bootstrap_frame(res.fitted, res.plan, counts), ["boot_replicates"])
    expected = dict(zip(keys_of(boot), boot["boot_replicates"]))
    assert again["boot_replicates"].tolist() == [expected[k] for k in keys_of(shuffled)]
    assert res.table["boot_replicates"].dtype.kind == "i"
    logistic = perm[perm["model"] == "logistic"]
    assert all(n == (Note(PERMUTATION_LINEAR_ONLY, "permutation test: linear models only"),) for n in logistic["notes"])


# ---------------------------------------------------------------------------- Johnson-Neyman as numbers
def test_johnson_neyman_regions_are_numbers_matching_the_text_columns():
    from effectmod.inference.effects import _fmt
    from effectmod.simulation import simulate

    sim = simulate("resolve", 200, 4)
    plan = dict(sim.plan)
    plan["analysis"] = {**plan["analysis"], "sensitivity": []}
    res = _analyze(sim.data, plan)
    jn = res.sections["johnson_neyman"]
    assert len(jn) and len(res.jn_regions) == len(jn)
    some = False
    for row in jn.itertuples(index=False):
        regions = res.jn_regions[(row.outcome, row.timepoint, row.moderator, "", row.model)]
        assert all(isinstance(r, JNRegion) and row.observed_min <= r.lower < r.upper <= row.observed_max for r in regions)
        text = "; ".join(f"[{_fmt(r.lower)}, {_fmt(r.upper)}]" for r in regions) or "none"
        assert text == row.significant_observed
        assert all(r.sign in row.sign_description for r in regions)
        some = some or bool(regions)
    assert some


def test_conditional_effect_figure_shades_the_regions_numbers():
    """The figure shades exactly the numeric region (not a value re-read from rounded text)."""
    from effectmod.report.effect_figures import conditional_effect_figure
    from effectmod.simulation import simulate

    sim = simulate("resolve", 120, 4)
    plan = dict(sim.plan)
    plan["analysis"] = {**plan["analysis"], "sensitivity": []}
    res = _analyze(sim.data, plan)
    fm = next(f for f in res.fitted if f.fit is not None and res.trial.moderators[f.spec.moderator].type == "continuous")
    t = fm.design.timepoints[0]
    jn = res.sections["johnson_neyman"]
    row = jn[(jn["model"] == fm.spec.kind) & (jn["outcome"] == fm.spec.outcome) & (jn["moderator"] == fm.spec.moderator)
             & (jn["timepoint"] == t)].iloc[0]
    obs_min, obs_max = row["observed_min"], row["observed_max"]
    a = obs_min + (obs_max - obs_min) * 0.123456789
    b = obs_min + (obs_max - obs_min) * 0.654321987
    _, _, fig = conditional_effect_figure(res, fm, t, row, regions=(JNRegion(a, b, "effect < 0"),))
    xs = []
    for p in fig.axes[0].patches:                 # axvspan: a Rectangle (matplotlib >= 3.9) or a Polygon
        if hasattr(p, "get_width"):
            xs.append((p.get_x(), p.get_x() + p.get_width()))
        else:
            v = np.asarray(p.get_xy())[:, 0]
            xs.append((v.min(), v.max()))
    assert any(abs(lo - a) < 1e-12 and abs(hi - b) < 1e-12 for lo, hi in xs), xs
