"""effectmod: treatment-effect-modifier analysis of randomized clinical trials.

    import effectmod as em
    plan = em.load_plan("plan.yaml")
    res = em.analyze("trial.csv", plan)
    res.table          # the results.csv rows
    res.write("out/")  # the whole output folder

A first plan for a data file comes from the command line: ``effectmod init trial.csv --out
plan.yaml``. The plan keys, the statistical methods and a tutorial are in the docs/ folder.
"""
from ._version import __version__
from .errors import ConvergenceWarning, DataError, EffectmodError, PlanError, UsageError

# The numerical stack (pandas, scipy, statsmodels, matplotlib) is imported on first use of a
# name below, not when the package is imported: `effectmod --help` and `effectmod validate`
# start without it.
_LAZY = {
    "analyze": (".analysis", "analyze"),
    "load_plan": (".plan", "load_plan"),
    "Plan": (".plan", "Plan"),
    "jama": (".report.sentences", "jama"),
    "Results": (".results", "Results"),
}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module
        module, attr = _LAZY[name]
        value = getattr(import_module(module, __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def simulate(scenario: str = "resolve", n: int = 276, seed: int = 2024, **overrides):
    """Simulate a randomized trial with known treatment-effect modifiers.

    ``scenario`` is ``"resolve"`` (a trial like RESOLVE: sensorimotor retraining vs sham for
    chronic low back pain, eight candidate moderators, pain and disability at 18 and 52 weeks)
    or ``"null"`` (the same trial with no modification); ``n`` participants are randomised;
    allocation is exactly n//2 intervention; ``seed`` makes the draw reproducible; ``overrides``
    are ``interaction_scale`` (multiply every interaction), ``interactions`` (replace them) and
    ``dropout`` ("mcar", "mar" or "none"). Returns a SimulatedTrial with ``data`` (a DataFrame,
    one row per participant), ``plan`` (a mapping that ``em.analyze`` accepts) and ``truth``
    (the true interactions, to compare estimates with)::

        trial = em.simulate("resolve", n=276, seed=2024)
        res = em.analyze(trial.data, trial.plan)
    """
    from .simulation import simulate as _simulate
    return _simulate(scenario=scenario, n=n, seed=seed, **overrides)


__all__ = ["analyze", "load_plan", "simulate", "jama", "Plan", "Results", "EffectmodError", "PlanError",
           "DataError", "UsageError", "ConvergenceWarning", "__version__"]
