"""Logistic regression by maximum likelihood or Firth's penalised likelihood, with checks for
separation and sparse cells before and after the fit.

Both methods iterate Newton steps with step halving (``engines.newton``) until the relative change of the
coefficients or of the (penalised) deviance falls below ``TOL`` (CONTRACT §3), so estimates
match R's ``glm(..., epsilon = 1e-14)`` to about 1e-8. The variance is always the inverse
Fisher information evaluated at the final estimate, not at the weights of the last iteration.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, sparse, special

from effectmod.engines import newton
from effectmod.engines.base import WaldZ
from effectmod.engines.errors import NotConverged, RankDeficient, Separated
from effectmod.engines.linalg import _single_thread_matmul, collinear_columns, collinear_fits, weighted_gram, well_posed

TOL = 1e-10
# A fitted probability this close to 0 or 1 carries no information: the same idea as glm's
# "fitted probabilities numerically 0 or 1 occurred", with a looser bound because Newton stops
# before the probabilities of a separated fit underflow completely.
PROB_EDGE = 1e-8
# A standard error this large on the log-odds scale (an odds ratio CI spanning e^±200) means
# the likelihood is flat in some direction, which in practice is separation.
SE_EXPLODED = 100.0
# Triggers for the (costlier) linear-programming separation check after an ML fit.
SUSPECT_PROB = 1e-6
SUSPECT_SE = 10.0
# Firth's iteration also stops, as at the optimum, when the penalised objective no longer changes
# beyond its rounding (FIRTH_OBJ_TOL, relative) and the Newton decrement U' I^-1 U of the
# penalised score U is below FIRTH_DECREMENT (every coefficient within 1e-10 standard errors of
# the optimum): steps of rounding noise may never meet the relative-step rule.
FIRTH_DECREMENT = 1e-20
FIRTH_OBJ_TOL = 1e-13
# Once the relative step is below FIRTH_NEAR, Firth's iteration switches to Newton steps on the
# penalised likelihood with a Hessian from central differences of the analytic score.
FIRTH_NEAR = 1e-4
FIRTH_FD_STEP = 1e-5


@dataclass(frozen=True)
class LogisticFit(WaldZ):
    """A fitted logistic regression; ``vcov`` is the inverse information at ``coef``."""

    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    n: int
    n_events: int
    converged: bool
    iterations: int
    method: str
    separation: bool
    notes: tuple[str, ...]

    @property
    def diverged(self) -> bool:
        """Maximum likelihood under separation: some coefficients are infinite, so every effect
        built from them (conditional effects, risk differences, regions) is an artefact."""
        return self.method == "ml" and self.separation


def _information(X: np.ndarray, p: np.ndarray) -> np.ndarray:
    w = p * (1.0 - p)
    return X.T @ (X * w[:, None])


def _loglik(eta: np.ndarray, y: np.ndarray) -> float:
    # log expit(eta) = -log1p(exp(-eta)), written stably for large |eta|
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _penalty(X: np.ndarray, p: np.ndarray) -> float:
    sign, logdet = np.linalg.slogdet(_information(X, p))
    return 0.5 * logdet if sign > 0 else -math.inf


def _objective(X, y, b, firth):
    eta = X @ b
    ll = _loglik(eta, y)
    if firth:
        ll += _penalty(X, special.expit(eta))
    return ll


def _score_and_info(X, y, b, firth):
    p = special.expit(X @ b)
    info = _information(X, p)
    resid = y - p
    if firth:
        # Firth (1993) / Heinze & Schemper (2002): the Jeffreys-penalised score adds
        # h_i (1/2 - p_i) to each residual, h_i the hat values of the weighted design.
        w = p * (1.0 - p)
        Xw = X * np.sqrt(w)[:, None]
        h = np.einsum("ij,ij->i", Xw @ np.linalg.pinv(info), Xw)
        resid = resid + h * (0.5 - p)
    return X.T @ resid, info


def _solve(info: np.ndarray, score: np.ndarray) -> np.ndarray:
    try:
        step = np.linalg.solve(info, score)
        if np.all(np.isfinite(step)):
            return step
    except np.linalg.LinAlgError:
        pass
    # weights underflow when the data are separated; keep iterating along the flat direction
    return np.linalg.lstsq(info, score, rcond=None)[0]


def _firth_newton_step(X, y, b, score, col_scale):
    """Newton step on the penalised likelihood itself: its Hessian by central differences of the
    analytic penalised score (steps of FIRTH_FD_STEP on unit-RMS columns), or None when that
    Hessian is not negative definite (the caller then takes the expected-information step).

    Near the optimum this converges quadratically where the expected-information step only
    converges linearly, or oscillates: a participant who alone determines a coefficient has
    leverage 1, so the penalised score moves twice as fast as the information says."""
    p = b.size
    H = np.empty((p, p))
    for j in range(p):
        h = FIRTH_FD_STEP / col_scale[j]
        e = np.zeros(p)
        e[j] = h
        up = _score_and_info(X, y, b + e, True)[0]
        down = _score_and_info(X, y, b - e, True)[0]
        H[:, j] = -(up - down) / (2.0 * h)
    H = 0.5 * (H + H.T)
    try:
        factor = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return None
    step = np.linalg.solve(factor.T, np.linalg.solve(factor, score))
    return step if np.all(np.isfinite(step)) else None


def _newton(X, y, firth, max_iter):
    """One fit through ``engines.newton``: (coef, iterations, converged)."""
    col_scale = np.sqrt(np.mean(X * X, axis=0))
    col_scale[col_scale == 0] = 1.0
    state = {"near": False, "score": None}

    def direction(beta):
        b = beta[0]
        score, info = _score_and_info(X, y, b, firth)
        step = _firth_newton_step(X, y, b, score, col_scale) if firth and state["near"] else None
        if step is None:
            step = _solve(info, score)
        state["score"] = score
        return step[None], np.ones(1, dtype=bool)

    def objective(beta):
        return np.array([_objective(X, y, beta[0], firth)])

    def converged(s):
        b, b_new, step = s.old[0], s.new[0], s.step[0]
        obj, obj_new, t = float(s.obj_old[0]), float(s.obj_new[0]), float(s.t[0])
        # the relative step on unit-RMS columns, so that a column in other units (x 1e6)
        # neither hurries nor delays the stop
        d_coef = float(newton.relative_change(b, b_new, col_scale))
        # the deviance rule of R's glm.fit; only for full ML Newton steps, which converge
        # quadratically. Firth steps use the expected, not the penalised, information and
        # converge linearly, so a tiny deviance change can still leave 1e-6 in the estimate:
        # for them the objective rule also needs the penalised score at 0 (FIRTH_DECREMENT).
        d_dev = abs(obj_new - obj) / (2.0 * abs(obj_new) + 0.1)
        flat = abs(obj_new - obj) <= FIRTH_OBJ_TOL * (abs(obj_new) + 1.0)
        state["near"] = d_coef < FIRTH_NEAR
        if d_coef < TOL or (d_dev < TOL and t == 1.0 and not firth):
            return np.array([True])
        return np.array([bool(firth and flat and float(state["score"] @ step) <= FIRTH_DECREMENT)])

    res = newton.newton(np.zeros((1, X.shape[1])), direction, objective=objective,
                        converged=converged, max_iter=max_iter)
    return res.beta[0], int(res.iterations[0]), bool(res.converged[0])


def separation_direction(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A separating direction and the participants it separates strictly, if any.

    Returns ``(d, strict)`` with (2y-1) x_i'd >= 0 for every i and > 0 exactly where
    ``strict`` is True (the largest such set), or ``None`` when the data overlap. Such a d
    is (quasi-)complete separation (Albert & Anderson 1984): the likelihood keeps rising
    along it, so the ML estimate is infinite; complete when ``strict`` is all True.
    Found by one linear programme (in the spirit of Konis 2007) on the column-scaled design.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    scale = np.max(np.abs(X), axis=0)
    scale[scale == 0] = 1.0
    A = (2.0 * y - 1.0)[:, None] * (X / scale)
    # maximise sum u_i subject to 0 <= u_i <= s_i x_i'd (d free, u_i <= 1): the separable
    # points of several directions are separable together (add the directions), so the
    # optimum marks the largest set at once
    A_ub = sparse.vstack([sparse.hstack([sparse.csr_matrix(-A), sparse.eye(n)]),
                          sparse.hstack([sparse.csr_matrix(-A), sparse.csr_matrix((n, n))])])
    res = optimize.linprog(
        np.concatenate([np.zeros(p), -np.ones(n)]),
        A_ub=A_ub.tocsc(),
        b_ub=np.zeros(2 * n),
        bounds=[(None, None)] * p + [(0.0, 1.0)] * n, method="highs")
    if res.status != 0 or -res.fun < 0.5:
        return None
    d = res.x[:p] / np.max(np.abs(res.x[:p]))
    d[np.abs(d) < 1e-9] = 0.0
    return d / scale, res.x[p:] > 0.5


def _se_units(X: np.ndarray) -> np.ndarray:
    """Per column, what one unit of the coefficient's SE is judged in: 1 for 0/1 indicators and
    constant columns, the SD for other columns, so that the SE checks below give the same answer
    for a moderator in other units (x 1e6 or x 1e-6)."""
    sd = X.std(axis=0)
    indicator = np.all((X == 0.0) | (X == 1.0), axis=0)
    return np.where(indicator | (sd == 0), 1.0, sd)


def _post_fit_notes(X, y, b, vcov, names, converged, method, max_iter):
    notes: list[str] = []
    p = special.expit(X @ b)
    se = np.sqrt(np.abs(np.diag(vcov)))
    se = se * _se_units(X)
    # Under separation an ML fit always shows diverging coefficients (probabilities near 0/1,
    # large SEs) or fails to converge, so the linear programme only runs then; a Firth fit
    # stays finite and is always checked.
    suspicious = (not converged or method == "firth"
                  or np.any(np.minimum(p, 1.0 - p) < SUSPECT_PROB)
                  or not np.all(np.isfinite(se)) or np.max(se) > SUSPECT_SE)
    found = separation_direction(X, y) if suspicious else None
    separation = found is not None
    if found is not None:
        d, strict = found
        k = int(strict.sum())
        kind = "complete" if k == len(y) else "quasi-complete"
        involved = ", ".join(n for n, v in zip(names, d) if v != 0.0) or "all terms"
        notes.append(
            f"{kind} separation: the outcome of {k} of {len(y)} participants is predicted "
            f"perfectly by a combination of {involved}; maximum-likelihood estimates of these "
            f"coefficients are infinite"
            + (" (Firth's penalised likelihood gives finite estimates)" if method == "ml"
               else " (shown: Firth's penalised-likelihood estimates)"))
    if not converged:
        notes.append(f"the {'Firth' if method == 'firth' else 'maximum-likelihood'} fit did "
                     f"not converge in {max_iter} iterations")
    if method == "ml":
        edge = int(np.sum((p < PROB_EDGE) | (p > 1.0 - PROB_EDGE)))
        if edge:
            notes.append(f"fitted probabilities numerically 0 or 1 for {edge} participants")
    big = [n for n, s in zip(names, se) if not np.isfinite(s) or s > SE_EXPLODED]
    if big:
        notes.append("standard errors exploded (log-odds SE > "
                     f"{SE_EXPLODED:g} per unit, or per SD of a non-binary term) for {', '.join(big)}")
        separation = separation or method == "ml"
    return separation, tuple(notes)


def fit_logistic(X: np.ndarray, y: np.ndarray, method: str = "ml",
                 names: Sequence[str] | None = None, max_iter: int = 100, *,
                 finite: bool = False, allow_unconverged: bool = False) -> LogisticFit:
    """Fit a logistic regression of 0/1 ``y`` on the design matrix ``X`` (intercept included).

    ``method="ml"`` is maximum likelihood (R's ``glm(family = binomial)``); ``method="firth"``
    maximises the likelihood penalised by Jeffreys' prior, ``l(b) + log|I(b)|/2`` (Firth 1993),
    which stays finite under separation and removes the O(1/n) bias. Both use Newton steps
    until the relative change of the coefficients or deviance is below 1e-10.

    ``vcov`` is the inverse of the unpenalised Fisher information at the final estimate, and
    contrasts use Wald z intervals and tests for both methods. The profile penalised-likelihood
    intervals of R's ``logistf`` are not offered: each needs a constrained refit per
    coefficient and per linear combination (the interaction contrasts, the joint tests and
    the bootstrap would multiply that cost), and they do not give a variance matrix for the
    delta method. Under separation the Firth Wald interval is therefore only approximate.

    Separation is checked after the fit by linear programming, and by fitted probabilities
    at 0 or 1 and exploding standard errors; findings are in ``notes`` in plain words.

    What comes back (the typed errors of ``engines.errors``):

    * a design that fails the rank rule of ``engines.linalg`` raises ``RankDeficient`` naming
      the dependent columns; malformed inputs raise ``ValueError``;
    * an ML fit under separation (``LogisticFit.diverged``) is returned flagged, converged or
      not: its coefficients run off to infinity, so it is reported with a note (as R's ``glm``
      does), unless the caller needs a finite estimate (``finite=True``), which raises
      ``Separated`` (e.g. to refit with Firth);
    * any other fit that stops without meeting the convergence rule raises ``NotConverged``
      (its ``notes`` carry this fit's notes): its numbers mean nothing. ``allow_unconverged=True``
      returns it instead (``converged`` False), for a caller that keeps it with a warning.
    """
    if method not in ("ml", "firth"):
        raise ValueError(f"method must be 'ml' or 'firth', not {method!r}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be n x p and y of length n; got X {X.shape}, y {y.shape}")
    if not np.all((y == 0.0) | (y == 1.0)):
        raise ValueError("y must be coded 0/1 (1 = event)")
    if not (np.all(np.isfinite(X))):
        raise ValueError("X has missing or infinite values; drop incomplete rows first")
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(X.shape[1]))
    if len(names) != X.shape[1]:
        raise ValueError(f"{len(names)} names for {X.shape[1]} columns")
    dependent = collinear_columns(X)
    if dependent.any():
        raise RankDeficient([nm for nm, d in zip(names, dependent) if d])
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        b, iterations, converged = _newton(X, y, method == "firth", max_iter)
        info = _information(X, special.expit(X @ b))
        try:
            vcov = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            vcov = np.full_like(info, np.inf)
        separation, notes = _post_fit_notes(X, y, b, vcov, names, converged, method, max_iter)
    if method == "ml" and separation:
        if finite:
            raise Separated("the maximum-likelihood estimate is infinite (separation)", notes)
    elif not converged and not allow_unconverged:
        raise NotConverged("logistic fit did not converge", notes)
    return LogisticFit(coef=b, vcov=vcov, names=names, n=int(len(y)), n_events=int(y.sum()),
                       converged=converged, iterations=iterations, method=method,
                       separation=separation, notes=notes)


def sparse_cells(y: np.ndarray, treat: np.ndarray, mod_binary: np.ndarray,
                 moderator: str = "moderator", treated: str = "treated",
                 control: str = "control") -> list[str]:
    """Arm x moderator-level cells with no events or only events, in words, before fitting.

    ``mod_binary`` holds the levels of a binary or categorical moderator (any labels); rows
    with a missing outcome, treatment or moderator are ignored. Such a cell makes the ML
    interaction estimate infinite (quasi-complete separation), e.g. ``"no events among
    treated participants with drug = Yes (0 of 7)"``.
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treat, dtype=float)
    m = np.asarray(mod_binary, dtype=object)
    ok = ~np.isnan(y) & ~np.isnan(t) & np.array([v is not None and v == v for v in m])
    y, t, m = y[ok], t[ok], m[ok]
    out: list[str] = []
    levels = sorted(set(m.tolist()), key=lambda v: (str(type(v)), v))
    for arm, arm_label in ((1.0, treated), (0.0, control)):
        for level in levels:
            cell = y[(t == arm) & (m == level)]
            k, n = int(cell.sum()), len(cell)
            if n == 0:
                out.append(f"no {arm_label} participants with {moderator} = {level}")
            elif k == 0:
                out.append(f"no events among {arm_label} participants with "
                           f"{moderator} = {level} (0 of {n})")
            elif k == n:
                out.append(f"only events among {arm_label} participants with "
                           f"{moderator} = {level} ({n} of {n})")
    return out


# batched fits (bootstrap replicates, simulated trials): CONTRACT §3's convergence rule
STACKED_TOLERANCE = 1e-10
STACKED_STEPS = 50
# |coefficient| on unit-scaled columns beyond this: the fit is drifting off (separation)
STACKED_SEPARATION = 30.0


def fit_logistic_stacked(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None):
    """Many logistic ML fits at once (``_stacked_fits``): (coef, std_error, converged), each (B, p) or (B,)."""
    coef, inv, scale, converged = _stacked_fits(X, y, weights)
    return coef, np.sqrt(np.diagonal(inv, axis1=1, axis2=2)) / scale, converged


def fit_logistic_stacked_vcov(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None):
    """``fit_logistic_stacked`` with each fit's full covariance (the inverse information) instead of
    its SEs, for joint Wald tests: (coef (B, p), vcov (B, p, p), converged (B,))."""
    coef, inv, scale, converged = _stacked_fits(X, y, weights)
    return coef, inv / (scale[..., :, None] * scale[..., None, :]), converged


def _stacked_fits(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None):
    """Many logistic ML fits at once by stacked Newton steps.

    X is (n, p) shared by every fit or (B, n, p) one per fit; y is (n,) or (B, n) in {0, 1};
    ``weights`` (B, n) are frequency weights (bootstrap counts) or a 0/1 mask of the rows each
    fit uses (rows with weight 0 may hold NaN). Returns (coef, inverse information of the unit-RMS
    columns, their scale, converged). A fit whose design fails the rank rule (``engines.linalg``), whose
    information is singular, or whose coefficients drift off (separation), is reported as not
    converged: callers refit those with ``fit_logistic`` (which raises RankDeficient for the first).
    The iterations are ``engines.newton``'s, with every fit stopping on its own.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    shared = X.ndim == 2
    if weights is None:
        weights = np.ones((1 if shared and y.ndim == 1 else y.shape[0], X.shape[-2]))
    w = np.asarray(weights, dtype=float)
    B, p = w.shape[0], X.shape[-1]
    if not shared:
        X = np.where(w[..., None] > 0, X, 0.0)
    y = np.where(w > 0, np.broadcast_to(y, w.shape), 0.0)
    # unit-RMS columns keep the Newton systems well conditioned; Newton itself is scale-free
    scale = np.sqrt((X * X).mean(axis=-2))
    scale = np.where(scale == 0, 1.0, scale)
    Xs = X / (scale if shared else scale[:, None, :])
    design = "np" if shared else "bnp"

    # one shared design: GEMMs on one thread each (engines.linalg), no spin-waiting BLAS threads
    def eta_of(beta):
        return _single_thread_matmul(beta, Xs.T) if shared else np.einsum(f"{design},bp->bn", Xs, beta)

    def information(v):
        return weighted_gram(Xs, v) if shared else np.einsum(f"{design},bn,{design.replace('p', 'q')}->bpq", Xs, v, Xs, optimize=True)

    # the rank rule of every fit (engines.linalg): a collinear replicate is not fitted here
    full_rank = ~(collinear_fits(Xs, w) if shared else collinear_columns(X, w).any(axis=1))

    def direction(beta):
        mu = special.expit(eta_of(beta))
        H = information(mu * (1 - mu) * w)
        g = _single_thread_matmul((y - mu) * w, Xs) if shared else np.einsum(f"{design},bn->bp", Xs, (y - mu) * w)
        ok = well_posed(H) & full_rank
        return np.linalg.solve(np.where(ok[:, None, None], H, np.eye(p)), g[..., None])[..., 0], ok

    res = newton.newton(
        np.zeros((B, p)), direction,
        converged=lambda s: np.abs(s.step).max(axis=1) / (np.abs(s.new).max(axis=1) + 1e-3) < STACKED_TOLERANCE,
        keep=lambda beta: np.abs(beta).max(axis=1) < STACKED_SEPARATION,
        max_iter=STACKED_STEPS)
    beta, converged = res.beta, res.converged
    mu = special.expit(eta_of(beta))
    H = information(mu * (1 - mu) * w)
    ok = well_posed(H)
    inv = np.linalg.inv(np.where(ok[:, None, None], H, np.eye(p)))
    converged &= ok & full_rank & (np.abs(beta).max(axis=1) < STACKED_SEPARATION)
    return beta / scale, inv, scale, converged
