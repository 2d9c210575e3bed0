"""Units do not change conclusions: rescaling the outcome, a moderator or the baseline by 1e-6 or
1e6 leaves every df and p unchanged and scales the estimates exactly, in the linear, logistic and
mixed engines."""
import numpy as np
import pytest

import effectmod as em
from effectmod.simulation import simulate

# df and p to 1e-8 (relative for df, absolute for p); estimates and SEs rescale exactly up to
# the rounding of the rescaled data and of the fits (~1e-12 relative).
DF_RTOL = 1e-8
P_ATOL = 1e-8
ESTIMATE_RTOL = 1e-8


@pytest.fixture(scope="module")
def sim():
    return simulate("resolve", 200, 9)


def _plan(sim, model, binary=False):
    plan = dict(sim.plan)
    plan["outcomes"] = [dict(o) for o in plan["outcomes"] if o["name"] == "pain"]
    for o in plan["outcomes"]:
        o.pop("range", None)
        if binary:
            o["type"] = "binary"
    plan["moderators"] = [m for m in plan["moderators"] if m["name"] in ("back_beliefs", "baseline_disability")]
    plan["analysis"] = {**plan["analysis"], "sensitivity": [], "model": model}
    return plan


def _data(sim, binary):
    d = sim.data.copy()
    if binary:
        for c in ("pain_18", "pain_52"):
            d[c] = (d[c] > 3).astype(float)
    return d


CASES = [("outcome", ("pain_18", "pain_52")), ("moderator", ("bbq", "rmdq_0")), ("baseline", ("pain_0",))]


@pytest.mark.parametrize("model", ["linear", "mixed", "logistic"])
@pytest.mark.parametrize("what,columns", CASES)
@pytest.mark.parametrize("factor", [1e-6, 1e6])
def test_rescaling_leaves_df_and_p_and_scales_estimates(sim, model, what, columns, factor):
    binary = model == "logistic"
    if binary and what == "outcome":
        pytest.skip("a binary outcome has no units")
    plan = _plan(sim, "linear" if binary else model, binary)
    data = _data(sim, binary)
    ref = em.analyze(data, plan).table
    scaled = data.copy()
    for c in columns:
        scaled[c] = scaled[c] * factor
    t = em.analyze(scaled, plan).table
    assert (t["tier"] == ref["tier"]).all() and (t["note"].fillna("") == ref["note"].fillna("")).all()
    unit = {"outcome": factor, "moderator": 1 / factor, "baseline": 1.0}[what]
    np.testing.assert_allclose(t["estimate"], ref["estimate"] * unit, rtol=ESTIMATE_RTOL)
    np.testing.assert_allclose(t["std_error"], ref["std_error"] * unit, rtol=ESTIMATE_RTOL)
    np.testing.assert_allclose(t["p_value"], ref["p_value"], rtol=0, atol=P_ATOL)
    if not binary:
        np.testing.assert_allclose(t["df"], ref["df"], rtol=DF_RTOL)


@pytest.mark.parametrize("model", ["linear", "mixed"])
def test_moderator_affine_in_the_baseline_is_the_baseline_moderator_in_its_units(sim, model):
    d = sim.data.copy()
    mean, sd = d["pain_0"].mean(), d["pain_0"].std()
    # moderator = factor * baseline + shift
    affine = {"pain_z": (1 / sd, -mean / sd), "pain_rev": (-10.0, 100.0), "pain_big": (1e6, 3.0)}
    for name, (factor, shift) in affine.items():
        d[name] = factor * d["pain_0"] + shift
    plan = dict(sim.plan)
    plan["outcomes"] = [dict(o) for o in plan["outcomes"] if o["name"] == "pain"]
    plan["moderators"] = ([m for m in plan["moderators"] if m["name"] == "baseline_pain"]
                          + [{"name": n, "column": n, "type": "continuous"} for n in affine])
    plan["analysis"] = {**plan["analysis"], "sensitivity": [], "model": model}
    t = em.analyze(d, plan).table
    assert (t["tier"] != "not-estimable").all()
    ref = t[t["moderator"] == "baseline_pain"].reset_index(drop=True)
    for name, (factor, _) in affine.items():
        rows = t[t["moderator"] == name].reset_index(drop=True)
        np.testing.assert_allclose(rows["estimate"], ref["estimate"] / factor, rtol=1e-7)
        np.testing.assert_allclose(rows["std_error"], ref["std_error"] / abs(factor), rtol=1e-7)
        np.testing.assert_allclose(rows["p_value"], ref["p_value"], rtol=0, atol=1e-8)
