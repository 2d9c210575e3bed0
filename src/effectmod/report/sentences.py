"""Numbers the way JAMA journals print them (CONTRACT §5), and result sentences built from them."""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


def _round(x: float, places: int) -> Decimal:
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def number(x: float, places: int = 2) -> str:
    """x to ``places`` decimals, half away from zero; a value that rounds to zero is 0.00, never -0.00."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    d = _round(x, places)
    if d == 0:
        d = abs(d)
    return f"{d:.{places}f}"


def interval(low: float, high: float, places: int = 2) -> str:
    """'a-b' when neither rounded bound is negative, else 'a to b'."""
    a, b = number(low, places), number(high, places)
    return f"{a} to {b}" if a.startswith("-") or b.startswith("-") else f"{a}-{b}"


def p_text(p: float, evidence_threshold: float = 0.05) -> str:
    """'P = .007', 'P < .001', 'P > .99', with extra decimals where rounding would carry a P
    below the evidence threshold up to it or past it (P = .046, not .05)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "P = NA"
    if p < 0.001:
        return "P < .001"
    if p > 0.99:
        return "P > .99"
    places = 3 if p < 0.01 else 2
    while True:
        d = _round(p, places)
        if not (p < evidence_threshold and d >= Decimal(repr(evidence_threshold))) or places >= 4:
            break
        places += 1
    text = f"{d:.{places}f}"
    return "P = " + (text[1:] if text.startswith("0") else text)


def threshold_text(x: float) -> str:
    """A P threshold as JAMA prints P: '.05', '.20', '.005' (no leading zero, at least 2 decimals)."""
    digits = repr(float(x)).split(".")[1] if "." in repr(float(x)) else ""
    text = f"{x:.{max(2, len(digits))}f}"
    return text[1:] if text.startswith("0") else text


def level_text(ci_level: float) -> str:
    pct = ci_level * 100
    return f"{pct:.0f}%" if abs(pct - round(pct)) < 1e-9 else f"{pct:g}%"


def jama(estimate: float, ci_low: float, ci_high: float, p: float, label: str = "β-coefficient",
         ci_level: float = 0.95, evidence_threshold: float = 0.05) -> str:
    """One result as JAMA prints it: 'β-coefficient = 0.18 [95% CI, 0.05-0.32]; P = .007'."""
    return (f"{label} = {number(estimate)} [{level_text(ci_level)} CI, {interval(ci_low, ci_high)}]; "
            f"{p_text(p, evidence_threshold)}")
