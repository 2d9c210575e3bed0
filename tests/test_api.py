"""The public Python API (CONTRACT §5)."""
import importlib
import inspect
import re

import effectmod as em


def test_simulate_stays_a_function_after_the_subpackage_is_imported():
    importlib.import_module("effectmod.simulation")
    first = em.simulate("null", n=40, seed=1)
    second = em.simulate("null", n=40, seed=1)
    assert first.data.equals(second.data)


def test_analyze_accepts_a_dataframe_and_a_mapping_and_leaves_them_alone():
    trial = em.simulate("resolve", n=80, seed=3)
    before = trial.data.copy()
    res = em.analyze(trial.data, trial.plan)
    assert trial.data.equals(before)
    assert isinstance(res, em.Results)
    assert list(res.table.columns[:13]) == ["outcome", "timepoint", "moderator", "term", "model", "estimate",
                                            "std_error", "ci_low", "ci_high", "p_value", "p_adjusted", "n", "tier"]
    plan = em.Plan.model_validate(trial.plan)
    again = em.analyze(trial.data, plan)
    assert again.table.drop(columns=["note"]).equals(res.table.drop(columns=["note"]))
    assert "<table" in res._repr_html_()


# CONTRACT §5 and the first release's public names: later releases may add names, never drop one
PUBLIC_FUNCTIONS = ("analyze", "load_plan", "simulate", "jama")
PUBLIC_CLASSES = ("Plan", "Results")
PUBLIC_ERRORS = ("PlanError", "DataError", "UsageError")


def test_public_names():
    names = set(em.__all__)
    assert set(PUBLIC_FUNCTIONS + PUBLIC_CLASSES + PUBLIC_ERRORS) | {"EffectmodError", "ConvergenceWarning",
                                                                   "__version__"} <= names
    assert len(names) == len(em.__all__)                      # no name listed twice
    missing = [name for name in em.__all__ if not hasattr(em, name)]
    assert missing == []
    for name in PUBLIC_FUNCTIONS:
        assert inspect.isfunction(getattr(em, name)) and getattr(em, name).__doc__, name
    for name in PUBLIC_CLASSES:
        assert inspect.isclass(getattr(em, name)) and getattr(em, name).__doc__, name
    assert issubclass(em.EffectmodError, Exception)
    for name in PUBLIC_ERRORS:
        assert issubclass(getattr(em, name), em.EffectmodError), name
    assert issubclass(em.ConvergenceWarning, Warning)
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", em.__version__)
    # the example of CONTRACT §5
    assert em.jama(0.18, 0.05, 0.32, 0.007) == "β-coefficient = 0.18 [95% CI, 0.05-0.32]; P = .007"


def test_results_is_a_frozen_record():
    """Results' fields cannot be reassigned; a variant is a new record (dataclasses.replace)."""
    import dataclasses

    import pytest

    trial = em.simulate("resolve", n=80, seed=3)
    res = em.analyze(trial.data, trial.plan)
    for name in ("table", "plan", "fitted", "sections", "attachments", "row_notes", "inputs"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(res, name, getattr(res, name))
    other = dataclasses.replace(res, attachments={"extra.txt": b"x"})
    assert other.attachments == {"extra.txt": b"x"} and res.attachments == {} and other.table is res.table
