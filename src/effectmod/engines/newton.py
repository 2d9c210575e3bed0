"""The one damped Newton driver of every iterative fit: logistic (ML and Firth), stacked logistic
(bootstrap replicates, simulated trials) and MICE's logistic and multinomial imputation models.

It owns the loop, batched over a leading axis of B independent problems: take each problem's
Newton direction, halve the step while the objective falls (when an objective is given), update,
and stop each problem by the convergence rule. The model supplies only its direction (score and
information) and, if it wants damping, its objective; the default rule is CONTRACT §3's: the
relative change of the coefficients below ``TOL`` (1e-10).

A problem stops, not converged, when its information is singular (its direction is not ``ok``),
when every halving of its step still lowers the objective, when ``keep`` says it is drifting off
(separation), or at ``max_iter``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TOL = 1e-10
MAX_HALVINGS = 30
# a step is accepted when the objective (maximised) does not fall by more than this, relatively
ACCEPT_SLACK = 1e-12


@dataclass(frozen=True)
class NewtonResult:
    beta: np.ndarray          # (B, q)
    converged: np.ndarray     # (B,) bool
    iterations: np.ndarray    # (B,) iteration at which each problem stopped


@dataclass(frozen=True)
class Step:
    """What a convergence rule sees of one iteration (all arrays over the batch)."""

    old: np.ndarray           # (B, q) coefficients before the step
    new: np.ndarray           # (B, q) after it
    step: np.ndarray          # (B, q) the full Newton direction
    t: np.ndarray             # (B,) the step length taken (1, 1/2, 1/4, ...)
    obj_old: np.ndarray | None
    obj_new: np.ndarray | None


def relative_change(old: np.ndarray, new: np.ndarray, scale=1.0, floor: float = 0.1) -> np.ndarray:
    """max_j |new_j - old_j| s_j / (max_j |new_j| s_j + floor), per problem: the contract's rule."""
    return np.max(np.abs(new - old) * scale, axis=-1) / (np.max(np.abs(new) * scale, axis=-1) + floor)


def newton(beta0: np.ndarray,
           direction: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
           *,
           objective: Callable[[np.ndarray], np.ndarray] | None = None,
           converged: Callable[[Step], np.ndarray] | None = None,
           keep: Callable[[np.ndarray], np.ndarray] | None = None,
           max_iter: int = 100,
           freeze: bool = True) -> NewtonResult:
    """Newton iterations for B problems at once from ``beta0`` (B, q).

    ``direction(beta)`` -> (steps (B, q), ok (B,)); ``objective(beta)`` -> (B,) to maximise: with
    it each step is halved (up to MAX_HALVINGS times) until the objective does not fall;
    ``converged(Step)`` -> (B,) the stopping rule (default: ``relative_change`` below TOL);
    ``keep(beta)`` -> (B,) False stops a problem that drifts off. With ``freeze`` a converged
    problem stops stepping; without it every problem keeps stepping until all have converged
    at once (MICE's chains), and the result says converged only then.
    """
    beta = np.array(beta0, dtype=float)
    B = beta.shape[0]
    rule = converged or (lambda s: relative_change(s.old, s.new) < TOL)
    active = np.ones(B, dtype=bool)
    done = np.zeros(B, dtype=bool)
    iterations = np.full(B, max_iter)
    obj = objective(beta) if objective is not None else None
    for it in range(1, max_iter + 1):
        step, ok = direction(beta)
        ok = np.asarray(ok, dtype=bool)
        moving = active & ok
        t = np.ones(B)
        obj_new = None
        if objective is None:
            new = np.where(moving[:, None], beta + step, beta)
        else:
            assert obj is not None      # evaluated before the loop whenever there is an objective
            failed = np.zeros(B, dtype=bool)
            trial = obj
            for k in range(MAX_HALVINGS):
                new = np.where(moving[:, None], beta + t[:, None] * step, beta)
                obj_new = trial = objective(new)
                bad = moving & ~(np.isfinite(trial) & (trial >= obj - ACCEPT_SLACK * np.abs(obj)))
                if not bad.any():
                    break
                if k == MAX_HALVINGS - 1:
                    failed = bad
                else:
                    t[bad] /= 2.0
            if failed.any():            # no step length helps: stop where it was, not converged
                new[failed] = beta[failed]
                trial[failed] = obj[failed]     # trial is obj_new
                iterations[failed & active] = it
                active &= ~failed
                moving &= ~failed
        stopped = active & ~ok
        iterations[stopped] = it
        active &= ok
        now = rule(Step(beta, new, step, t, obj, obj_new)) & moving
        beta = new
        obj = obj_new
        if freeze:
            done |= now
            if keep is not None:
                drifting = active & ~done & ~keep(beta)
                iterations[drifting] = it
                active &= ~drifting
            iterations[now] = it
            active &= ~done
            if not active.any():
                break
        elif now[active].all() and active.any():
            done |= active
            iterations[active] = it
            break
    return NewtonResult(beta, done, iterations)
