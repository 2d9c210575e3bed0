"""Numbers that look like missing-value codes (-99, 999, ...) in a column of numbers."""
from __future__ import annotations

import numpy as np

# numbers that questionnaires and databases use for 'missing', 'refused', 'not applicable'
CODE_CANDIDATES = (-9999.0, -999.0, -99.0, -9.0, -8.0, -7.0, -1.0, 77.0, 88.0, 99.0, 777.0, 888.0, 999.0, 9999.0)


def suspicious_codes(values: np.ndarray, bounds) -> list[float]:
    """Code-like values that lie outside the declared range, or outside the range of the other values.

    A code lies outside the range of the other values exactly when it is the smallest or the largest
    value: the column is read for its missing cells, minimum and maximum, and then only for the codes
    that lie between them (not once for each of the fourteen candidates)."""
    observed = len(values) - int(np.count_nonzero(np.isnan(values)))
    if observed == 0:
        return []
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    out = []
    for c in CODE_CANDIDATES:
        if not lo <= c <= hi:
            continue        # never seen
        if bounds is not None:
            if not bounds[0] <= c <= bounds[1] and bool(np.any(values == c)):
                out.append(c)
        elif (c == lo or c == hi) and (c <= -7 or c >= 77) and observed - int(np.count_nonzero(values == c)) >= 5:
            out.append(c)
    return out
