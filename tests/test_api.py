"""The public Python API (CONTRACT §5)."""
import importlib

import effectmod as em


def test_simulate_stays_a_function_after_the_subpackage_is_imported():
    importlib.import_module("effectmod.simulate")
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


def test_public_names():
    for name in em.__all__:
        assert getattr(em, name) is not None
        if callable(getattr(em, name)) and not name.endswith("Error") and name != "ConvergenceWarning":
            assert getattr(em, name).__doc__, name
