"""Numbers the way JAMA journals print them (CONTRACT §5), and result sentences built from them.

A neutral module: inference (e.g. credibility reasons, imputation notes) and the report both
format numbers with it, and inference never imports the report. ``report/sentences.py``
re-exports it."""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

# above this magnitude a float has no decimals left to print (and Decimal's 28-digit context
# cannot quantize it): such numbers print in scientific notation instead
HUGE = 1e15
# a ratio (odds, hazard, rate ratio: exp of a log-scale estimate) outside these bounds prints as
# '>999' or '<0.001': a diverging fit (e.g. separation) gives ratios with no meaning beyond that
RATIO_MAX = 999.0
RATIO_MIN = 0.001


def _real(x) -> float | None:
    """x as a float, or None when it is missing (None, NaN, pandas NA) or not a number."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _round(x: float, places: int) -> Decimal:
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def number(x: float, places: int = 2) -> str:
    """x to ``places`` decimals, half away from zero; a value that rounds to zero is 0.00, never -0.00.
    Missing prints as 'NA', infinite as '∞' or '-∞', and magnitudes from 1e15 up in scientific
    notation ('1.00e+30')."""
    v = _real(x)
    if v is None:
        return "NA"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if abs(v) >= HUGE:
        return f"{v:.{places}e}"
    d = _round(v, places)
    if d == 0:
        d = abs(d)
    return f"{d:.{places}f}"


def interval(low: float, high: float, places: int = 2) -> str:
    """'a-b' when neither rounded bound is negative, else 'a to b'."""
    a, b = number(low, places), number(high, places)
    return _join_bounds(a, b)


def _join_bounds(a: str, b: str) -> str:
    # 'to' where a dash would read as a minus sign or clash with a '<'/'>' bound
    plain = not any(t.startswith(("-", "<", ">")) or "e-" in t for t in (a, b))
    return f"{a}-{b}" if plain else f"{a} to {b}"


def exp_or_inf(x: float) -> float:
    """exp(x) that returns inf instead of raising OverflowError (and NaN for a missing x)."""
    v = _real(x)
    if v is None:
        return math.nan
    return math.inf if v > 709.0 else math.exp(v)


def ratio(log_value: float, places: int = 2) -> str:
    """A ratio from its log (an odds ratio from a log odds ratio): '1.35', or '>999' / '<0.001'
    when the fit diverged (e.g. separation) and the ratio has no printable size; 'NA' when missing."""
    r = exp_or_inf(log_value)
    if math.isnan(r):
        return "NA"
    if r > RATIO_MAX:
        return f">{RATIO_MAX:g}"
    if r < RATIO_MIN:
        return f"<{RATIO_MIN:g}"
    return number(r, places)


def ratio_interval(log_low: float, log_high: float, places: int = 2) -> str:
    """The CI of a ratio from the CI of its log: '0.80-2.10', '0.80 to >999'."""
    return _join_bounds(ratio(log_low, places), ratio(log_high, places))


def ratio_places(*log_values: float, places: int = 2, most: int = 4) -> int:
    """Decimals for a ratio and its CI (given as logs): ``places``, or more (up to ``most``) while two
    of them would print alike although they differ - a rate ratio per unit of a moderator on 0-150
    reads 1.004 (1.001-1.007), not 1.00 (1.00-1.01)."""
    values = [exp_or_inf(v) for v in log_values]
    if any(math.isnan(v) for v in values):
        return places
    # a ratio beyond the printable range ('>999', '<0.001': a diverging fit) needs no more decimals
    shown = [v for v in log_values if RATIO_MIN <= exp_or_inf(v) <= RATIO_MAX]
    pairs = [(a, b) for i, a in enumerate(shown) for b in shown[i + 1:] if exp_or_inf(a) != exp_or_inf(b)]
    while places < most and any(ratio(a, places) == ratio(b, places) for a, b in pairs):
        places += 1
    return places


def ratio_with_ci(log_estimate: float, log_low: float, log_high: float) -> tuple[str, str]:
    """(ratio, its CI) printed with the same decimals (``ratio_places``)."""
    places = ratio_places(log_estimate, log_low, log_high)
    return ratio(log_estimate, places), ratio_interval(log_low, log_high, places)


def p_text(p: float | None, evidence_threshold: float = 0.05) -> str:
    """'P = .007', 'P < .001', 'P > .99', with extra decimals where rounding would carry a P
    below the evidence threshold up to it or past it (P = .046, not .05); 'P = NA' when missing."""
    value = _real(p)
    if value is None:
        return "P = NA"
    p = value
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
    """'95%', '99.9%'; a level just below 1 keeps enough nines not to print as 100% ('99.9999999%')."""
    v = _real(ci_level)
    if v is None or math.isinf(v):
        return "NA%"
    pct = v * 100
    if v < 1 and float(f"{pct:g}") >= 100:
        return next(f"{pct:.{k}g}%" for k in range(3, 18) if float(f"{pct:.{k}g}") < 100)
    return f"{pct:.0f}%" if abs(pct - round(pct)) < 1e-9 else f"{pct:g}%"


def jama(estimate: float, ci_low: float, ci_high: float, p: float, label: str = "β-coefficient",
         ci_level: float = 0.95, evidence_threshold: float = 0.05) -> str:
    """One result as JAMA prints it: 'β-coefficient = 0.18 [95% CI, 0.05-0.32]; P = .007'."""
    return (f"{label} = {number(estimate)} [{level_text(ci_level)} CI, {interval(ci_low, ci_high)}]; "
            f"{p_text(p, evidence_threshold)}")
