"""The Freedman-Lane permutation test covers linear models only: Cox, RMST, count and ordinal rows
get no permutation P and a note naming their model and what the test covers, and the report does
not show a permutation P column (or claim permutation P values) when no row has one."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

import effectmod as em
from effectmod.report.html import report_context
from effectmod.report.paragraph import methods_text

REF = Path(__file__).parent / "reference"


def _results(case: str, permutations: int = 19):
    plan = yaml.safe_load((REF / case / "plan.yaml").read_text(encoding="utf-8"))
    plan.setdefault("analysis", {})["permutations"] = permutations
    return em.analyze(REF / case / "data.csv", plan)


def test_cox_and_rmst_rows_say_the_permutation_test_is_for_linear_models():
    res = _results("veteran_cox")
    t = res.table
    assert t["p_permutation"].isna().all()
    for kind, name in (("cox", "Cox"), ("rmst", "RMST")):
        notes = t.loc[(t.model == kind) & (t.term != "joint"), "note"]
        assert len(notes) and all(f"permutation test: not run for {name} models (the Freedman-Lane permutation test "
                                  "covers linear models only)" in n for n in notes)
    text = " ".join(methods_text(res))
    assert "Freedman-Lane permutation test covers linear models only" in text and "no permutation P" in text
    assert "Permutation P values of the linear-model" not in text
    assert report_context(res, [])["has_perm"] is False


def test_count_and_ordinal_rows_get_their_own_note():
    for case, kind, name in (("epil_count", "poisson", "Poisson"), ("btheb_ordinal", "ordinal", "ordinal (proportional odds)")):
        t = _results(case, 9).table
        rows = t[(t.model == kind) & (t.term != "joint")]
        assert rows["p_permutation"].isna().all()
        assert all(f"not run for {name} models" in n for n in rows["note"])


def test_a_plan_with_linear_and_cox_models_names_the_models_without_a_permutation_p():
    plan = yaml.safe_load((REF / "veteran_cox" / "plan.yaml").read_text(encoding="utf-8"))
    plan["outcomes"].append({"name": "diag", "type": "continuous", "followups": {"end": "diagtime"}})
    plan["moderators"] = plan["moderators"][:1]
    plan["analysis"]["permutations"] = 19
    res = em.analyze(REF / "veteran_cox" / "data.csv", plan)
    t = res.table
    assert np.isfinite(t.loc[t.model == "linear", "p_permutation"]).all()
    text = " ".join(methods_text(res))
    assert "Permutation P values of the linear-model interactions used 19" in text
    assert "The permutation test covers linear models only: the Cox, RMST models have no permutation P." in text
    assert report_context(res, [])["has_perm"] is True
    cells = {r["model"]: r["p_permutation"] for g in report_context(res, [])["groups"] for r in g["rows"]}
    assert cells.get("Cox proportional hazards", cells.get("cox")) == "n/a"
