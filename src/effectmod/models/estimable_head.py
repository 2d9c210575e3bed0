"""A quick yes for ``fit.estimability_problem``: the first rows of a design already show that
none of its checks can fire.

Every check of ``estimability_problem`` asks whether something *fails to vary* or *is absent*
over the analysed rows (one arm only, a moderator with a single value, a level missing or in one
arm only, a constant outcome). Each is settled by a few rows that do vary: what varies in the
first rows varies in all of them. So when the first ``HEAD`` rows of a two-arm design show two
arms, a varying moderator (every level with both arms) and a varying outcome, the model has no
problem and the full-length passes (a million rows, forty models) are skipped; otherwise the
full checks run as before and give their own message.
"""
from __future__ import annotations

import numpy as np

from .design import Design

HEAD = 4096


def head_proves_estimable(design: Design, m, head: int = HEAD) -> bool:
    """True when the first ``head`` rows show that ``estimability_problem`` finds nothing
    (two-arm designs; ``m`` the model's ModeratorData). False means: run the full checks."""
    if design.arms:
        return False
    X = design.X
    n, p = X.shape
    if n == 0 or n <= p or n <= head:
        return False
    h = X[:head]
    t = h[:, design.index("treat")].astype(int)
    if np.all(t == t[0]):
        return False
    mod = h[:, [design.index(nm) for nm in design.mod_names]]
    if m.type == "continuous":
        if np.ptp(mod[:, 0]) == 0:
            return False
    else:
        if len(m.levels) < 2:
            return False
        if m.type == "categorical":
            codes = mod.argmax(axis=1) + 1
            codes[mod.sum(axis=1) == 0] = 0
        else:
            codes = mod[:, 0].astype(int)
        for k in range(len(m.levels)):
            in_level = codes == k
            if not in_level.any() or np.ptp(t[in_level]) == 0:
                return False
    return bool(np.ptp(design.y[:head]) != 0)
