"""Recognising a cluster column for ``effectmod init``: a school, practice, site, ward... shared by
many participants. A column whose every value lies in one arm (the clusters were randomised) is
drafted as ``data.cluster``; a cluster-like name whose clusters hold several arms (a multicentre
trial) is only suggested, as a commented-out line, since CR2 is then a choice, not a necessity."""
from __future__ import annotations

import re

import numpy as np

from .columns import Column, varies_within
from .records import Draft

CLUSTER_NAME = re.compile(r"(^|[_.\s-])(school|schools|practice|practices|gp_?practice|site|sites|centre|center|centres|"
                          r"centers|cluster|clusters|ward|wards|clinic|clinics|hospital|hospitals|village|villages|"
                          r"community|communities|classroom|class|team|unit|district|nursing_?home|care_?home|inst|institution|institutions)"
                          r"([_.\s-]|$)", re.I)
MIN_CLUSTERS = 4          # fewer clusters than this cannot be drafted as a cluster-randomised design
MIN_BY_VALUE = 6          # a column recognised by its values alone needs at least this many clusters


def _nested_in_arm(c: Column, arm: Column) -> bool:
    """Every value of ``c`` is seen in one arm only, and every arm holds at least two of them."""
    pairs = {(k, a) for k, a in zip(c.keys, arm.keys) if k is not None and a is not None}
    clusters = {k for k, _ in pairs}
    if len(pairs) != len(clusters):
        return False
    per_arm: dict[str, int] = {}
    for _, a in pairs:
        per_arm[a] = per_arm.get(a, 0) + 1
    return len(per_arm) >= 2 and min(per_arm.values()) >= 2


def guess_cluster(cols: dict[str, Column], draft: Draft, used: set[str]) -> None:
    """Set ``draft.cluster`` (and its note) from the columns; a drafted cluster joins ``used`` so it
    is offered neither as a moderator nor as a covariate."""
    ids = cols[draft.id].keys if draft.time and draft.id is not None else None
    participants = len({k for k in ids if k is not None}) if ids is not None else draft.rows
    arm = cols.get(draft.arm) if draft.arm else None
    found: list[tuple[tuple, Column, bool, bool]] = []
    for name, c in cols.items():
        if name in used or c.n_missing or not 2 <= len(c.levels) <= participants / 2:
            continue
        if c.numeric and not c.levels_are_integers():
            continue                      # measurements, not labels
        if ids is not None and varies_within(c.keys, ids):
            continue
        named = bool(CLUSTER_NAME.search(name))
        nested = arm is not None and _nested_in_arm(c, arm)
        k = len(c.levels)
        if nested and k < (MIN_CLUSTERS if named else MIN_BY_VALUE):
            continue                      # too few clusters to draft, and not a multicentre site either
        if nested or named:
            found.append(((nested, named, k), c, named, nested))
    if not found:
        return
    _, best, named, nested = max(found, key=lambda f: f[0])
    k = len(best.levels)
    sizes = np.unique([x for x in best.keys if x is not None], return_counts=True)[1]
    size = f"{k} clusters of {sizes.min()}-{sizes.max()} participants" if ids is None else f"{k} clusters"
    draft.cluster = best.name
    if nested:
        draft.cluster_note = (f"{size}, each in one arm: the clusters look randomised" +
                              ("" if named else " (recognised by its values, not its name)") +
                              "; standard errors are then cluster-robust (se: CR2)")
        used.add(best.name)
    else:
        draft.cluster_suggested = True
        draft.cluster_note = (f"{size} with participants of several arms in each (a multicentre trial?); "
                              "uncomment for cluster-robust standard errors (se: CR2)")
