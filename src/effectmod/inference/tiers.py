"""Evidence tiers (CONTRACT §3), computed on the raw p."""
from __future__ import annotations

import math

EVIDENCE, HYPOTHESIS, NONE, NOT_ESTIMABLE = "evidence", "hypothesis-generating", "none", "not-estimable"


def tier(p: float | None, evidence_threshold: float, exploratory_threshold: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return NOT_ESTIMABLE
    if p < evidence_threshold:
        return EVIDENCE
    if p < exploratory_threshold:
        return HYPOTHESIS
    return NONE
