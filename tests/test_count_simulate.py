"""The count and ordinal simulation scenarios: reproducible, and the analysis recovers the true
interaction (within 4 standard errors, on a large trial)."""
from __future__ import annotations

import effectmod as em


def test_count_and_ordinal_scenarios_recover_their_interactions():
    for scenario, per in (("epilepsy", 10.0), ("status", 1.0)):
        a = em.simulate(scenario, n=3000, seed=11)
        b = em.simulate(scenario, n=3000, seed=11)
        assert a.data.equals(b.data)
        res = em.analyze(a.data, a.plan)
        (truth,) = a.truth["interactions"]
        row = res.table.iloc[0]
        assert row["model"] == ("negative_binomial" if scenario == "epilepsy" else "ordinal")
        assert abs(row["estimate"] - per * truth["value"]) < 4 * row["std_error"], (scenario, row["estimate"])
