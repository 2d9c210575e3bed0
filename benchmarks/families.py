"""Bootstrap timings of the other model families (logistic, Poisson, negative binomial, ordinal):
B refits of one 276-participant interaction model by effectmod's batched fits, beside a loop of
the matching statsmodels fits on prebuilt arrays (timed on a subset, extrapolated linearly).
Used by run.py (item ``families``)."""
from __future__ import annotations

import time
import warnings

import numpy as np

N = 276


def family_model(kind: str):
    """(fitted model, trial, plan) of one interaction model of the family on simulated data."""
    from effectmod.data.inputs import load_inputs
    from effectmod.models.fit import fit_model
    from effectmod.models.spec import model_specs
    from effectmod.simulation import simulate
    if kind == "logistic":
        sim = simulate("resolve", N, 1)
        data = sim.data.copy()
        data["improved"] = np.where(data["pain_18"].isna(), np.nan, (data["pain_18"] <= data["pain_0"] - 2).astype(float))
        plan = {**sim.plan, "outcomes": [{"name": "improved", "type": "binary", "followups": {"18": "improved"}}],
                "moderators": [m for m in sim.plan["moderators"] if m["column"] == "pain_0"],
                "analysis": {**sim.plan["analysis"], "sensitivity": []}}
    else:
        sim = simulate("status" if kind == "ordinal" else "epilepsy", N, 1)
        data, plan = sim.data, dict(sim.plan)
        if kind == "poisson":
            plan["analysis"] = {**plan["analysis"], "count_model": "poisson"}
    plan_obj, _, trial = load_inputs(data, plan)
    fitted = [fit_model(s, trial, plan_obj) for s in model_specs(plan_obj, trial)]
    fm = next(f for f in fitted if f.spec.kind == kind)
    return fm, trial, plan_obj


def _reference_fit(kind: str, X: np.ndarray, y: np.ndarray, offset, names):
    import statsmodels.api as sm
    if kind == "logistic":
        return sm.GLM(y, X, family=sm.families.Binomial()).fit().params
    if kind == "poisson":
        return sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit().params
    if kind == "negative_binomial":
        return sm.NegativeBinomial(y, X, offset=offset).fit(disp=0, maxiter=200).params
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    keep = [j for j, nm in enumerate(names) if nm != "(Intercept)"]
    return OrderedModel(y, X[:, keep], distr="logit").fit(method="bfgs", disp=0, maxiter=500).params


REFERENCE = {"logistic": "statsmodels GLM Binomial", "poisson": "statsmodels GLM Poisson",
             "negative_binomial": "statsmodels NegativeBinomial (MLE of alpha)",
             "ordinal": "statsmodels OrderedModel (logit, BFGS)"}


def bench_families(B: int, repeats: int, quick: bool, median_time, line) -> list[dict]:
    from effectmod.inference.bootstrap import bootstrap_draws
    from effectmod.inference.resample import counts_to_indices, stratified_bootstrap_counts
    out = []
    for kind in ("logistic", "poisson", "negative_binomial", "ordinal"):
        fm, trial, plan = family_model(kind)
        d = fm.design
        counts = stratified_bootstrap_counts(trial.treat, B, np.random.default_rng(1))
        t_ours = median_time(lambda: bootstrap_draws(fm, counts, plan), repeats)
        k = 5 if quick else 50
        position = np.full(trial.n, -1)
        position[d.rows] = np.arange(d.rows.size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _reference_fit(kind, d.X, d.y, d.offset, d.names)        # warm-up (imports), not timed
            t = time.perf_counter()
            for b in range(k):
                picks = position[counts_to_indices(counts[b])]
                picks = picks[picks >= 0]
                _reference_fit(kind, d.X[picks], d.y[picks], None if d.offset is None else d.offset[picks], d.names)
        per_fit = (time.perf_counter() - t) / k
        out.append(line(f"{kind} bootstrap B={B}, n={d.n}", t_ours, per_fit * B,
                        f"{REFERENCE[kind]} loop: {k} refits timed, extrapolated to {B}", "target >= 20x"))
    return out
