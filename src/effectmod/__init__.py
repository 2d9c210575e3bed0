"""effectmod: treatment-effect-modifier analysis of randomized clinical trials.

    import effectmod as em
    plan = em.load_plan("plan.yaml")
    res = em.analyze("trial.csv", plan)
    res.table          # the results.csv rows
    res.write("out/")  # the whole output folder
"""
__version__ = "0.1.0"

from .analysis import analyze
from .errors import ConvergenceWarning, DataError, EffectmodError, PlanError, UsageError
from .plan import Plan, load_plan
from .report.sentences import jama
from .results import Results


def simulate(scenario: str = "resolve", n: int = 276, seed: int = 2024, **overrides):
    """Simulate a trial: returns a SimulatedTrial (data, plan, truth). See effectmod.simulate."""
    from .simulate import simulate as _simulate
    return _simulate(scenario=scenario, n=n, seed=seed, **overrides)


__all__ = ["analyze", "load_plan", "simulate", "jama", "Plan", "Results", "EffectmodError", "PlanError",
           "DataError", "UsageError", "ConvergenceWarning", "__version__"]
