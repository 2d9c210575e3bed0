"""Design matrices built from column data (never from formula strings).

Column names follow one scheme that the contrasts rely on:
``(Intercept)``, ``treat``, ``mod`` or ``mod[level]``, ``baseline``, ``cov[name]``,
``treat:mod`` or ``treat:mod[level]``; in mixed models also ``time[t]`` and its products
``time[t]:treat``, ``time[t]:mod``, ``time[t]:treat:mod`` for every follow-up after the first.
A multi-arm trial (``data.treated`` a list) has ``treat[<arm>]`` per treated arm in place of
``treat`` and ``treat[<arm>]:mod...`` products; ``Design.arms`` names the arms and
``interaction_L``/``effect_L`` take the arm (see ``models.multiarm``). Two-arm names are unchanged.

A continuous moderator enters centred at the midpoint of its observed range (``mod_centre``):
the interaction and the moderator's main effect are those of the raw units, but the treatment
effect that the other coefficients describe sits inside the data, so contrasts at moderator
values far from 0 (a moderator on 1e9 + x) keep their precision. The midpoint is that of all
participants' observed values, so completed (imputed) datasets, whose imputations stay inside
the observed range, share it. ``effect_L`` takes moderator values in raw units.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.column_facts import column_facts, same_missing
from ..data.trial import TrialData


@dataclass(frozen=True)
class Design:
    X: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]
    rows: np.ndarray                      # participant index of each row of X
    mod_names: tuple[str, ...]            # design names of the moderator columns
    terms: tuple[str, ...]                # the results' `term` per moderator column ("" or level)
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> participants
    groups: np.ndarray | None = None      # mixed: participant of each row
    times: np.ndarray | None = None       # mixed: follow-up label of each row
    timepoints: tuple[str, ...] = ()      # follow-up labels in order (mixed: all, first = reference; else the one)
    mod_centre: tuple[float, ...] = ()    # subtracted from each moderator column (raw units); () = none
    clusters: np.ndarray | None = None    # data.cluster: cluster code of each row of X, else None
    arms: tuple[str, ...] = ()            # multi-arm: the treated arms' labels (columns treat[<arm>]); () = two arms
    control: str = ""                     # multi-arm: the control arm's label

    def treat_name(self, arm: str | None = None) -> str:
        """The design column of the treatment (``treat``, or ``treat[<arm>]`` in a multi-arm design)."""
        if not self.arms:
            return "treat"
        if arm is None:
            raise ValueError("a multi-arm design needs the arm of the comparison")
        return f"treat[{arm}]"

    def comparison(self, arm: str | None) -> str:
        """The results' ``comparison`` text of an arm ("" in a two-arm design)."""
        return f"{arm} vs {self.control}" if self.arms and arm is not None else ""
    offset: np.ndarray | None = None      # count outcomes with an exposure: log(exposure) of each row
    event: np.ndarray | None = None       # time_to_event: 1 = event, 0 = censored per row (y = follow-up time)

    @property
    def n(self) -> int:
        rows = self.rows
        if rows.size and np.all(rows[1:] >= rows[:-1]):
            # designs keep participants in order: counting changes is O(n), no sort or hash
            return int(np.count_nonzero(rows[1:] != rows[:-1]) + 1)
        return int(len(np.unique(rows)))

    def index(self, name: str) -> int:
        return self.names.index(name)

    def vector(self, weights: dict[str, float]) -> np.ndarray:
        L = np.zeros(len(self.names))
        for name, w in weights.items():
            L[self.names.index(name)] += w
        return L

    def _at(self, base: str, timepoint: str | None) -> dict[str, float]:
        out = {base: 1.0}
        if self.timepoints and timepoint is not None and timepoint != self.timepoints[0]:
            out[f"time[{timepoint}]:{base}"] = 1.0
        return out

    def centred(self, mod_row) -> np.ndarray:
        """Moderator design values in raw units -> as they stand in X (centred)."""
        row = np.asarray(mod_row, dtype=float).ravel()
        return row - np.asarray(self.mod_centre, dtype=float) if self.mod_centre else row

    def interaction_L(self, j: int, timepoint: str | None = None, arm: str | None = None) -> np.ndarray:
        """The treat x moderator coefficient (column j of the moderator) at a follow-up (multi-arm:
        of the treated ``arm`` against the control)."""
        return self.vector(self._at(f"{self.treat_name(arm)}:{self.mod_names[j]}", timepoint))

    def effect_L(self, mod_row: np.ndarray, timepoint: str | None = None, arm: str | None = None) -> np.ndarray:
        """The treatment effect where the moderator's design columns equal ``mod_row`` (raw units)
        (multi-arm: of the treated ``arm`` against the control)."""
        mod_row = self.centred(mod_row)
        treat = self.treat_name(arm)
        w = self._at(treat, timepoint)
        for j, name in enumerate(self.mod_names):
            for k, v in self._at(f"{treat}:{name}", timepoint).items():
                w[k] = w.get(k, 0.0) + v * float(mod_row[j])
        return self.vector(w)


def _columns(trial: TrialData, outcome: str, moderator: str | None, adjust_for_baseline: bool):
    """Participant-level columns (before complete-case selection) and their names; with no
    moderator (None) the average treatment effect's design: treat + baseline + covariates."""
    o = trial.outcomes[outcome]
    if moderator is None:
        return _plain_columns(trial, o, adjust_for_baseline)
    m = trial.moderators[moderator]
    mod = m.design()
    centre = (moderator_centre(m.values),) if m.type == "continuous" else ()
    if centre:
        mod = mod - centre[0]
    mod_names = tuple("mod" if m.type != "categorical" else f"mod[{lv}]" for lv in (m.column_names if m.type == "categorical" else ("",)))
    use_baseline = (adjust_for_baseline and o.baseline is not None and not trial.moderator_is_baseline(outcome, moderator)
                    and not moderator_affine_in_baseline(o.baseline, m.values, m.type))
    treats, treat_names = _treat_columns(trial)
    cols = [np.ones(trial.n), *treats] + [mod[:, j] for j in range(mod.shape[1])]
    names = ["(Intercept)", *treat_names, *mod_names]
    if use_baseline and o.baseline is not None:     # use_baseline implies a baseline
        cols.append(o.baseline)
        names.append("baseline")
    for j, c in enumerate(trial.covariates.names):
        cols.append(trial.covariates.matrix[:, j])
        names.append(f"cov[{c}]")
    for t_col, t_name in zip(treats, treat_names):
        for j, name in enumerate(mod_names):
            cols.append(t_col * mod[:, j])
            names.append(f"{t_name}:{name}")
    terms = tuple(m.column_names) if m.type == "categorical" else ("",)
    return _stack(cols), names, mod_names, terms, use_baseline, centre


def _stack(cols) -> np.ndarray:
    """np.column_stack of 1-D columns, written column by column into one (n, k) array (the same
    numbers; several times faster for a million rows)."""
    out = np.empty((len(cols[0]), len(cols)))
    for j, c in enumerate(cols):
        out[:, j] = c
    return out


def _treat_columns(trial: TrialData) -> tuple[list[np.ndarray], list[str]]:
    """The treatment indicator(s): ``treat``, or one ``treat[<arm>]`` per treated arm (multi-arm)."""
    if trial.multi_arm and trial.arm is not None:
        return ([(trial.arm == k).astype(float) for k in range(1, len(trial.arm_labels) + 1)],
                [f"treat[{a}]" for a in trial.arm_labels])
    return [trial.treat], ["treat"]


def _arms(trial: TrialData) -> dict:
    """Design fields naming the arms of a multi-arm trial (none for two arms)."""
    if not trial.multi_arm:
        return {}
    return {"arms": trial.arm_labels, "control": trial.flow.arm_values.get("control", "control")}


def _plain_columns(trial: TrialData, o, adjust_for_baseline: bool):
    use_baseline = adjust_for_baseline and o.baseline is not None
    treats, treat_names = _treat_columns(trial)
    cols = [np.ones(trial.n), *treats]
    names = ["(Intercept)", *treat_names]
    if use_baseline and o.baseline is not None:
        cols.append(o.baseline)
        names.append("baseline")
    for j, c in enumerate(trial.covariates.names):
        cols.append(trial.covariates.matrix[:, j])
        names.append(f"cov[{c}]")
    return _stack(cols), names, (), ("",), use_baseline, ()


# Largest deviation, in SDs, of the standardised moderator from the standardised baseline (or
# its negative) for the two to count as one variable in other units: 1e-6 SD is far below any
# real difference between two measures and above the rounding of a rescaled copy written with
# 7 significant digits.
AFFINE_TOL = 1e-6


def moderator_affine_in_baseline(baseline: np.ndarray, values: np.ndarray, kind: str) -> bool:
    """The moderator is an exact affine function of the outcome's baseline (a z-scored baseline,
    the baseline in other units), missing for the same participants: it then stands in for the
    baseline, entered once, as a moderator that *is* the baseline does."""
    if kind == "categorical" or not same_missing(baseline, values):
        return False
    # the observed values' size, range, mean and SD, once per column (data/column_facts.py)
    fa, fb = column_facts(baseline), column_facts(values)
    if fa.size < 3 or fa.constant or fb.constant:
        return False
    ma, sa, mb, sb = fa.mean, fa.std, fb.mean, fb.std
    if ma is None or sa is None or mb is None or sb is None:     # nothing observed (ruled out above)
        return False
    same = opposite = True
    # in blocks of rows, stopping at the first block that rules out both signs (a real moderator
    # does so at once; a million rows otherwise cost several full-length temporaries per model)
    for start in range(0, baseline.size, 65_536):
        a, b = baseline[start:start + 65_536], values[start:start + 65_536]
        if fa.missing:
            seen = ~np.isnan(a)
            a, b = a[seen], b[seen]
        if not a.size:
            continue
        za = (a - ma) / sa
        zb = (b - mb) / sb
        same = same and bool(np.max(np.abs(za - zb)) <= AFFINE_TOL)
        opposite = opposite and bool(np.max(np.abs(za + zb)) <= AFFINE_TOL)
        if not (same or opposite):
            return False
    return True


def moderator_centre(values: np.ndarray) -> float:
    """Midpoint of a continuous moderator's observed range (0 when nothing is observed)."""
    facts = column_facts(values)
    return float(0.5 * (facts.lo + facts.hi)) if facts.lo is not None and facts.hi is not None else 0.0


def _exclusions(trial, outcome, moderator, use_baseline, y_missing, y_reason, extra=()):
    """Participants lost to each reason, counted once each in this order of reasons."""
    o = trial.outcomes[outcome]
    reasons = [(y_reason, y_missing), *extra]
    # a column with nothing missing loses no one (its NaN count is known: data/column_facts.py)
    if moderator is not None:
        m = trial.moderators[moderator]
        if column_facts(m.values).missing:
            reasons.append((f"moderator '{m.source}' missing", np.isnan(m.values)))
    if use_baseline and column_facts(o.baseline).missing:
        reasons.append((f"baseline '{o.baseline_source}' missing", np.isnan(o.baseline)))
    for j, c in enumerate(trial.covariates.names):
        reasons.append((f"covariate '{trial.covariates.sources[j]}' missing", np.isnan(trial.covariates.matrix[:, j])))
    lost = np.zeros(trial.n, dtype=bool)
    counts = {}
    for reason, miss in reasons:
        new = int(np.count_nonzero(miss & ~lost))
        if new:
            counts[reason] = counts.get(reason, 0) + new
        lost |= miss
    return lost, counts


def single_design(trial: TrialData, outcome: str, moderator: str | None, timepoint: str,
                  adjust_for_baseline: bool) -> Design:
    """Complete-case design of y_t ~ treat*mod + baseline + covariates for one follow-up
    (y_t ~ treat + baseline + covariates when ``moderator`` is None)."""
    X, names, mod_names, terms, use_baseline, centre = _columns(trial, outcome, moderator, adjust_for_baseline)
    y = trial.outcomes[outcome].followups[timepoint]
    exposure = trial.outcomes[outcome].exposure
    expo = exposure[timepoint] if exposure is not None else None
    extra = () if expo is None else ((f"exposure missing at follow-up {timepoint}", np.isnan(expo)),)
    lost, excluded = _exclusions(trial, outcome, moderator, use_baseline, np.isnan(y),
                                 f"outcome missing at follow-up {timepoint}", extra)
    keep = ~lost
    # np.compress copies whole rows: several times faster than boolean indexing of a 2-D array
    return Design(np.compress(keep, X, axis=0), y[keep], tuple(names), np.flatnonzero(keep), mod_names, terms, excluded,
                  timepoints=(timepoint,), mod_centre=centre, offset=None if expo is None else np.log(expo[keep]), **_arms(trial))


def mixed_design(trial: TrialData, outcome: str, moderator: str | None, adjust_for_baseline: bool) -> Design:
    """Long design of y ~ time*treat*mod + baseline + covariates over all follow-ups."""
    X0, names0, mod_names, terms, use_baseline, centre = _columns(trial, outcome, moderator, adjust_for_baseline)
    o = trial.outcomes[outcome]
    times = tuple(o.followups)
    Y = np.column_stack([o.followups[t] for t in times])
    none_seen = np.isnan(Y).all(axis=1)
    lost, excluded = _exclusions(trial, outcome, moderator, use_baseline, none_seen, "no follow-up observed")
    keep = np.flatnonzero(~lost)
    # the time-varying block: time[t] and its products with treat, the moderator and treat:moderator
    treat_names = _treat_columns(trial)[1]
    interacting = [*treat_names, *mod_names] + [f"{t}:{m}" for t in treat_names for m in mod_names]
    idx_of = {nm: i for i, nm in enumerate(names0)}
    blocks, rows, tlab = [], [], []
    for k, t in enumerate(times):
        obs = keep[~np.isnan(Y[keep, k])]
        base = X0[obs]
        extra = []
        for t2 in times[1:]:
            ind = np.full(len(obs), 1.0 if t2 == t else 0.0)
            extra.append(ind)
            extra.extend(ind * base[:, idx_of[nm]] for nm in interacting)
        blocks.append(np.column_stack([base, *extra]) if extra else base)
        rows.append(obs)
        tlab.extend([t] * len(obs))
    names = list(names0)
    for t2 in times[1:]:
        names.append(f"time[{t2}]")
        names.extend(f"time[{t2}]:{nm}" for nm in interacting)
    X = np.vstack(blocks)
    row_idx = np.concatenate(rows)
    order = np.lexsort((np.array([times.index(t) for t in tlab]), row_idx))
    return Design(X[order], np.concatenate([Y[r, k] for k, r in enumerate(rows)])[order], tuple(names),
                  row_idx[order], mod_names, terms, excluded, groups=row_idx[order],
                  times=np.array(tlab, dtype=object)[order], timepoints=times, mod_centre=centre, **_arms(trial))


def attach_clusters(design: Design, trial: TrialData) -> Design:
    """The design with the cluster of each of its rows (``data.cluster``); unchanged without clusters."""
    if trial.cluster is None:
        return design
    from dataclasses import replace
    return replace(design, clusters=trial.cluster[design.rows])
