"""Journal typography of the printed tables (Table 2 and the eTables in report.html and tables.docx).

JAMA prints a negative number with a true minus sign (U+2212), not the hyphen-minus of ASCII.
Only the printed tables get it: results.csv, results.json and the table CSV files keep the
hyphen-minus that every program reads as a number.
"""
from __future__ import annotations

import re

MINUS = "\u2212"
# a hyphen-minus that is a sign: at the start of the text or after a space, '(' or '<'/'>' bound,
# and before a digit, a decimal point or infinity; a range's dash ('0.08-0.26') and an exponent's
# sign ('1.00e-05') follow a digit or a letter and stay as they are
_SIGN = re.compile(r"(?<![\w.\u2212-])-(?=[\d.∞])")


def minus(text: str) -> str:
    """``text`` with each negative number's sign printed as a true minus sign."""
    return _SIGN.sub(MINUS, text) if "-" in text else text
