"""Multiple imputation by chained equations, separately within each randomised arm.

Imputing each arm on its own keeps every treatment interaction in the imputed data: a
moderator's relation to the outcome may differ between arms, and a model fitted on both arms
together (without every treatment interaction) would pull the arms' slopes together and bias
the interaction towards zero.

Within an arm, each of the m imputations is its own chain, and all m chains are run together
as a batch of arrays (numbers only; no model objects). Each chain starts from random draws of
the observed values of each variable and then sweeps ``iterations`` times over the variables
with missing values, in the order given, each time imputing one variable from all the others
(the current completed values), as R's ``mice`` does:

* continuous, ``norm`` (the default, as the plan's ``imputation_method``): Bayesian linear
  regression as ``mice.impute.norm`` — draw sigma and beta from their posterior under a flat
  prior and impute a draw from the posterior predictive normal; a draw outside the declared
  range is redrawn (a truncated normal by rejection; the few still outside after 50 rounds are
  clipped to the bound) and, on an integer scale, rounded to a whole number.
* continuous, ``pmm``: predictive mean matching as ``mice.impute.pmm`` — draw sigma and beta from their
  posterior under a flat prior (``.norm.draw``), match the predicted means of the missing rows
  under the drawn beta to those of the observed rows under the least-squares beta (type-1
  matching), and take the observed value of one of the 5 closest donors at random. Imputed
  values are observed values, so declared ranges and integer scales hold by construction.
  The normal equations always carry mice's tiny ridge (1e-5 times their diagonal), which mice
  adds only when they are singular.
* binary: logistic regression with a posterior draw of the coefficients (normal approximation
  at the maximum-likelihood estimate) as ``mice.impute.logreg``, including its guard against
  separation: pseudo-observations at the predictors' mean +/- half a standard deviation for
  each outcome level, of total weight p + 1. Unlike mice, both levels 0 and 1 are always
  augmented, so an arm whose observed values are all 0 can still impute a 1 rarely.
* categorical (codes 0..k-1): multinomial logistic regression, fitted by Newton's method with
  the same augmentation as ``mice.impute.polyreg`` (which fits ``nnet::multinom``) and, unlike
  it (mice draws the levels from the fitted probabilities), a posterior draw of all
  coefficients, as for the binary case. Only levels observed in the arm are imputed. A categorical
  predictor enters the other models as k-1 indicator columns.

Predictor columns that are constant among an arm's observed values carry no information in
that arm and are left out of its models (otherwise the normal equations would be singular).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from effectmod.engines.newton import newton
from effectmod.errors import DataError

Kind = Literal["continuous", "binary", "categorical"]
_KINDS = ("continuous", "binary", "categorical")
_DONORS = 5
_RIDGE = 1e-5  # mice's default ridge, relative to the diagonal of X'X
_NEWTON_TOL = 1e-10
_NEWTON_MAX = 100
_NORM_TRIES = 50  # redraws of an out-of-range Bayesian-regression imputation


@dataclass(frozen=True)
class ImputationVariable:
    """One column to impute and to use as a predictor of the others.

    ``lower``/``upper``/``integer`` describe the declared scale: ``norm`` draws are truncated to
    it and rounded on an integer scale; predictive mean matching imputes only observed values, so
    they hold for its imputations whenever they hold for the data.
    """

    name: str
    kind: Kind
    lower: float | None = None
    upper: float | None = None
    integer: bool = False
    method: str | None = None     # continuous: this variable's method (pmm for counts), else the run's


def impute(
    frame: pd.DataFrame,
    variables: Sequence[ImputationVariable],
    arm: np.ndarray,
    m: int,
    rng: np.random.Generator,
    iterations: int = 10,
    continuous: Literal["pmm", "norm"] = "norm",
    diagnostics: dict | None = None,
) -> list[pd.DataFrame]:
    """Return m completed copies of ``frame``, imputed by chained equations within each arm.

    ``frame`` has one row per participant; the ``variables`` columns are numeric (binary 0/1,
    categorical integer codes 0..k-1, NaN = missing). ``arm`` is a 0/1 array, one per row.
    Every listed variable with missing values is imputed from all the other listed variables;
    columns not listed are copied unchanged and not used. ``frame`` is never modified, and the
    same ``rng`` state gives identical output.

    ``continuous`` chooses the method for continuous variables: ``"norm"`` (Bayesian linear
    regression, the default, as the plan's ``imputation_method``: a draw from the posterior
    predictive normal, truncated to the declared range and rounded on an integer scale) or
    ``"pmm"`` (predictive mean matching). PMM cannot impute beyond the observed values, which
    biases it when dropout is selective on an earlier visit and the missing values lie beyond
    the observed ones (skewed outcomes especially; tests/test_impute.py measures it); ``"norm"``
    extrapolates, at the cost of assuming normal errors.

    ``diagnostics``, when a dict is given, receives per continuous variable with missing values
    ``{"imputed": k, "below": a, "above": b, "observed_min": lo, "observed_max": hi}``: over the m
    imputations' final values, how many of the k imputed values fell below / above the variable's
    observed range before truncation -- for ``norm`` the posterior-predictive draw before it is
    redrawn into the declared range and rounded, for ``pmm`` the predicted mean that is matched
    to donors (its imputed values are observed values, always inside the range).
    """
    variables = list(variables)
    arm = np.asarray(arm)
    _validate(frame, variables, arm, m, iterations)
    if continuous not in ("pmm", "norm"):
        raise ValueError(f"continuous must be 'pmm' or 'norm'; got {continuous!r}.")
    names = [v.name for v in variables]
    values = frame[names].to_numpy(dtype=float)
    completed = np.repeat(values[None], m, axis=0)
    tally: dict[int, list[np.ndarray]] = {}
    for a in _arm_values(arm):
        rows = np.flatnonzero(arm == a)
        completed[:, rows, :] = _impute_arm(values[rows], variables, m, rng, iterations, continuous, tally)
    if diagnostics is not None:
        for j, v in enumerate(variables):
            if j in tally:
                obs = values[~np.isnan(values[:, j]), j]
                raw = np.concatenate(tally[j])
                diagnostics[v.name] = {"imputed": int(raw.size), "below": int((raw < obs.min()).sum()),
                                       "above": int((raw > obs.max()).sum()),
                                       "observed_min": float(obs.min()), "observed_max": float(obs.max())}
    out = []
    for i in range(m):
        f = frame.copy()
        for j, name in enumerate(names):
            f[name] = completed[i, :, j]
        out.append(f)
    return out


def missingness_summary(
    frame: pd.DataFrame, variables: Sequence[ImputationVariable], arm: np.ndarray
) -> pd.DataFrame:
    """Missing values per variable and arm: columns variable, arm, n, n_missing, pct_missing."""
    arm = np.asarray(arm)
    rows = []
    for v in variables:
        miss = frame[v.name].isna().to_numpy()
        for a in _arm_values(arm):
            sel = arm == a
            n = int(sel.sum())
            k = int(miss[sel].sum())
            rows.append((v.name, a, n, k, 100.0 * k / n if n else float("nan")))
    return pd.DataFrame(rows, columns=["variable", "arm", "n", "n_missing", "pct_missing"])


def missing_patterns(frame: pd.DataFrame, variables: Sequence[ImputationVariable]) -> pd.DataFrame:
    """The missing-data pattern table of R's ``mice::md.pattern``.

    Variables are ordered by their number of missing values (fewest first); one row per
    pattern (1 = observed, 0 = missing) in md.pattern's order, with ``count`` the number of
    rows showing it and ``n_missing`` the number of variables missing in it; a last row (count
    empty) gives each variable's number of missing values and their total.
    """
    names = [v.name for v in variables]
    R = frame[names].isna().to_numpy()
    nmis = R.sum(axis=0)
    order = np.argsort(nmis, kind="stable")
    R = R[:, order]
    cols = [names[i] for i in order]
    keys = ["".join("1" if x else "0" for x in row) for row in R]
    uniq, counts = np.unique(np.array(keys, dtype=object), return_counts=True) if keys else (np.array([]), np.array([]))
    records: list[list] = []
    for key, count in zip(uniq, counts):
        miss = [c == "1" for c in key]
        records.append([int(count), *[0 if x else 1 for x in miss], int(sum(miss))])
    records.append([pd.NA, *[int(x) for x in nmis[order]], int(nmis.sum())])
    out = pd.DataFrame(records, columns=["count", *cols, "n_missing"])
    return out.astype({"count": "Int64"})


def _arm_values(arm: np.ndarray):
    """The arms imputed one by one: 0 and 1, or every code of a multi-arm trial (0..k)."""
    return (0, 1) if np.isin(arm, (0, 1)).all() else tuple(int(a) for a in np.unique(arm))


def _validate(frame, variables, arm, m, iterations) -> None:
    problems = []
    if not isinstance(m, (int, np.integer)) or m < 1:
        problems.append(f"The number of imputations must be a positive integer; got {m!r}.")
    if not isinstance(iterations, (int, np.integer)) or iterations < 1:
        problems.append(f"iterations must be a positive integer; got {iterations!r}.")
    if arm.shape != (len(frame),):
        problems.append(f"arm has shape {arm.shape}; it needs one 0/1 value per row ({len(frame)}).")
    elif not (np.isin(arm, (0, 1)).all() or (np.issubdtype(arm.dtype, np.integer) and (arm >= 0).all())):
        problems.append("arm must hold only 0 (control) and 1 (treated) (or, multi-arm, integer codes 0..k).")
    names = [v.name for v in variables]
    if len(set(names)) != len(names):
        problems.append(f"Variables are listed more than once: {sorted({n for n in names if names.count(n) > 1})}.")
    for v in variables:
        if v.kind not in _KINDS:
            problems.append(f"Variable '{v.name}': kind {v.kind!r} is not one of {_KINDS}.")
            continue
        if v.name not in frame.columns:
            problems.append(f"Variable '{v.name}' is not a column of the data.")
            continue
        if not pd.api.types.is_numeric_dtype(frame[v.name]):
            problems.append(f"Variable '{v.name}' must be numeric (code levels as 0..k-1 first).")
            continue
        x = frame[v.name].to_numpy(dtype=float)
        obs = x[~np.isnan(x)]
        if v.kind == "binary" and not np.isin(obs, (0.0, 1.0)).all():
            problems.append(f"Binary variable '{v.name}' has values other than 0 and 1.")
        if v.kind == "categorical" and ((obs < 0).any() or (obs != np.round(obs)).any()):
            problems.append(f"Categorical variable '{v.name}' must hold integer codes 0..k-1.")
        if v.lower is not None and (obs < v.lower).any():
            problems.append(f"Variable '{v.name}' has values below its declared lower bound {v.lower}.")
        if v.upper is not None and (obs > v.upper).any():
            problems.append(f"Variable '{v.name}' has values above its declared upper bound {v.upper}.")
        if arm.shape == (len(frame),):
            for a in _arm_values(arm):
                sel = arm == a
                if sel.any() and np.isnan(x[sel]).all():
                    problems.append(
                        f"Variable '{v.name}' has no observed value in arm {a}, so it cannot be "
                        "imputed within that arm; drop it from the imputation model."
                    )
    if problems:
        raise DataError(problems)


def _design_groups(Y: np.ndarray, variables: list[ImputationVariable]) -> list[np.ndarray]:
    """Per variable, the values it enters the design with: itself, or indicators for categorical
    codes other than the lowest observed. Returns, for each variable, the codes (or [nan] for
    a numeric column); an empty array means the variable is constant in this arm."""
    groups = []
    for j, v in enumerate(variables):
        obs = np.unique(Y[~np.isnan(Y[:, j]), j])
        if obs.size <= 1:
            groups.append(np.array([]))
        elif v.kind == "categorical":
            groups.append(obs[1:])
        else:
            groups.append(np.array([np.nan]))
    return groups


def _columns(D: np.ndarray, j: int, codes: np.ndarray) -> np.ndarray:
    """Design columns of variable j from the completed data D (m, n, V)."""
    if codes.size == 1 and np.isnan(codes[0]):
        return D[:, :, j : j + 1]
    return (D[:, :, j : j + 1] == codes[None, None, :]).astype(float)


def _impute_arm(Y, variables, m, rng, iterations, method, tally=None) -> np.ndarray:
    """One arm's m chains; ``tally`` (variable index -> list of arrays) receives each continuous
    variable's values before truncation (norm) or predicted means (pmm) of the last sweep."""
    n, V = Y.shape
    miss = np.isnan(Y)
    D = np.repeat(Y[None], m, axis=0)
    targets = [j for j in range(V) if miss[:, j].any()]
    if not targets:
        return D
    for j in targets:
        obs = Y[~miss[:, j], j]
        D[:, miss[:, j], j] = rng.choice(obs, size=(m, int(miss[:, j].sum())))
    groups = _design_groups(Y, variables)
    blocks = [_columns(D, j, groups[j]) for j in range(V)]
    ones = np.ones((m, n, 1))
    for sweep in range(iterations):
        for j in targets:
            X = np.concatenate([ones] + [blocks[i] for i in range(V) if i != j], axis=2)
            obs, mis = ~miss[:, j], miss[:, j]
            yo = Y[obs, j]
            kind = variables[j].kind
            if kind == "continuous":
                v = variables[j]
                new, raw = _pmm(X[:, obs], yo, X[:, mis], rng, v.method or method, v.lower, v.upper, v.integer)
                if tally is not None and sweep == iterations - 1:
                    tally.setdefault(j, []).append(raw.ravel())
            elif kind == "binary":
                new = _logreg(X, obs, yo, X[:, mis], rng)
            else:
                new = _polyreg(X, obs, yo, X[:, mis], rng)
            D[:, mis, j] = new
            blocks[j] = _columns(D, j, groups[j])
    return D


def _pmm(Xo, yo, Xm, rng, method="pmm", lower=None, upper=None, integer=False) -> tuple[np.ndarray, np.ndarray]:
    """Type-1 predictive mean matching with a Bayesian draw of (beta, sigma), batched over chains;
    with ``method="norm"``, a draw from the posterior predictive normal instead. Returns the
    imputed values and, for the diagnostics, the norm draws before truncation or PMM's
    predicted means."""
    m, no, q = Xo.shape
    coef, fit_o, ss, df, chol, live = _norm_fit(Xo, yo)
    sigma = np.sqrt(ss / rng.chisquare(df, size=m))
    z = rng.standard_normal((m, q))
    # With xtx = C C', C'^{-1} z has covariance xtx^{-1}: the posterior shape of beta.
    beta = coef + live * sigma[:, None] * np.linalg.solve(chol.transpose(0, 2, 1), z[..., None])[..., 0]
    fit_m = (Xm @ beta[..., None])[..., 0]
    if method == "norm":
        return _norm_draw(fit_m, sigma, lower, upper, integer, rng)
    k = min(_DONORS, no)
    dist = np.abs(fit_m[:, :, None] - fit_o[:, None, :])
    nearest = np.argpartition(dist, k - 1, axis=2)[:, :, :k] if k < no else np.broadcast_to(
        np.arange(no), dist.shape
    )
    pick = rng.integers(0, k, size=fit_m.shape)
    donor = np.take_along_axis(nearest, pick[..., None], axis=2)[..., 0]
    return yo[donor], fit_m


def _norm_fit(Xo, yo) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """The least-squares part of ``.norm.draw``, batched over chains: mice's ``estimice`` with its
    ridge always on (``ls.meth = "ridge"``). Returns the coefficients, the observed rows' fitted
    values, the residual sum of squares, the residual df max(n - q, 1), the Cholesky factor C of
    the penalised X'X (C C' = X'X + ridge) and the 0/1 mask of non-aliased columns."""
    m, no, q = Xo.shape
    XoT = Xo.transpose(0, 2, 1)
    xtx = XoT @ Xo
    idx = np.arange(q)
    diag = xtx[:, idx, idx]
    # A column that is zero in every observed row (an indicator seen only among the missing) is
    # aliased; like mice (lm.fit's NA coefficients set to 0) it gets coefficient and draw 0.
    dead = diag <= 1e-12 * diag.max(axis=1, keepdims=True)
    live = (~dead).astype(float)
    xtx *= live[:, :, None] * live[:, None, :]
    xtx[:, idx, idx] = np.where(dead, 1.0, diag * (1.0 + _RIDGE))
    chol = np.linalg.cholesky(xtx)
    coef = np.linalg.solve(xtx, (live * (XoT @ yo))[..., None])[..., 0]
    fit_o = (Xo @ coef[..., None])[..., 0]
    ss = ((yo[None] - fit_o) ** 2).sum(axis=1)
    df = max(no - q, 1)
    return coef, fit_o, ss, df, chol, live


def _norm_draw(mean, sigma, lower, upper, integer, rng) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictive normal draws, redrawn while outside the declared range (a truncated
    normal by rejection; after _NORM_TRIES rounds the few left are clipped), then rounded to the
    integer scale if declared."""
    y = mean + sigma[:, None] * rng.standard_normal(mean.shape)
    raw = y
    lo = -np.inf if lower is None else lower
    hi = np.inf if upper is None else upper
    for _ in range(_NORM_TRIES):
        bad = (y < lo) | (y > hi)
        if not bad.any():
            break
        redraw = mean + sigma[:, None] * rng.standard_normal(mean.shape)
        y = np.where(bad, redraw, y)
    y = np.clip(y, lo, hi)
    return (np.clip(np.round(y), lo, hi) if integer else y), raw


def _augment(X: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mice's ``augment``: for each predictor and each level, two pseudo-rows at the predictor's
    mean +/- half its SD (within its range), all other predictors at their means, with total
    weight p + 1. X (m, n, q) includes the intercept column first."""
    m, n, q = X.shape
    p = q - 1
    k = codes.size
    x = X[:, :, 1:]
    mean, sd = x.mean(axis=1), x.std(axis=1, ddof=1)
    lo, hi = x.min(axis=1), x.max(axis=1)
    nr = 2 * p * k
    aug = np.repeat(mean[:, None, :], nr, axis=1)
    rows = np.arange(nr)
    col = rows // (2 * k)
    sign = np.where(rows % 2 == 0, 0.5, -0.5)
    aug[:, rows, col] += sign[None] * sd[:, col]
    aug = np.clip(aug, lo[:, None, :], hi[:, None, :])
    y_aug = codes[(rows // 2) % k]
    Xa = np.concatenate([np.ones((m, nr, 1)), aug], axis=2)
    return Xa, y_aug, np.full(nr, (p + 1) / nr)


def _converged(s) -> np.ndarray:
    """mice's rule for its Newton fits: every coefficient's step within _NEWTON_TOL of 1 + |b|
    (chains step together until all have converged: ``newton(..., freeze=False)``)."""
    return np.all(np.abs(s.step) <= _NEWTON_TOL * (1.0 + np.abs(s.new)), axis=1)


def _logreg(X, obs, yo, Xm, rng) -> np.ndarray:
    """Logistic imputation with a posterior draw of the coefficients, batched over chains."""
    beta, H = _logreg_fit(X, obs, yo)
    m, q = beta.shape
    chol = np.linalg.cholesky(H)
    z = rng.standard_normal((m, q))
    draw = beta + np.linalg.solve(chol.transpose(0, 2, 1), z[..., None])[..., 0]
    p = expit((Xm @ draw[..., None])[..., 0])
    return (rng.random(p.shape) <= p).astype(float)


def _logreg_fit(X, obs, yo) -> tuple[np.ndarray, np.ndarray]:
    """The fit of ``mice.impute.logreg`` before its draw, batched over chains: the weighted
    logistic maximum-likelihood estimate on the observed rows plus ``_augment``'s pseudo-rows, and
    the information matrix X'WX at it (its inverse is glm's ``cov.unscaled``)."""
    Xa, ya, wa = _augment(X, np.array([0.0, 1.0]))
    Xf = np.concatenate([X[:, obs], Xa], axis=1)
    y = np.concatenate([yo, ya])
    w = np.concatenate([np.ones(yo.size), wa])
    m, _, q = Xf.shape
    XT = Xf.transpose(0, 2, 1)

    def direction(beta):
        mu = expit((Xf @ beta[..., None])[..., 0])
        H = XT @ (Xf * (w * mu * (1.0 - mu))[..., None])
        g = (XT @ (w * (y - mu))[..., None])[..., 0]
        return np.linalg.solve(H, g[..., None])[..., 0], np.ones(m, dtype=bool)

    beta = newton(np.zeros((m, q)), direction, converged=_converged, max_iter=_NEWTON_MAX, freeze=False).beta
    mu = expit((Xf @ beta[..., None])[..., 0])
    H = XT @ (Xf * (w * mu * (1.0 - mu))[..., None])
    return beta, H


def _softmax_ref0(eta: np.ndarray) -> np.ndarray:
    """Probabilities of levels 1..K-1 given their logits against level 0 (last axis)."""
    top = np.maximum(eta.max(axis=-1, keepdims=True), 0.0)
    e = np.exp(eta - top)
    return e / (np.exp(-top) + e.sum(axis=-1, keepdims=True))


def _polyreg(X, obs, yo, Xm, rng) -> np.ndarray:
    """Multinomial logistic imputation with a posterior draw, batched over chains."""
    codes = np.unique(yo)
    if codes.size == 1:
        return np.full(Xm.shape[:2], codes[0])
    beta, H = _polyreg_fit(X, obs, yo, codes)
    m, q, K1 = beta.shape
    chol = np.linalg.cholesky(H)
    z = rng.standard_normal((m, K1 * q))
    step = np.linalg.solve(chol.transpose(0, 2, 1), z[..., None])[..., 0]
    draw = beta + step.reshape(m, K1, q).transpose(0, 2, 1)
    P = _softmax_ref0(Xm @ draw)
    cum = np.cumsum(P, axis=-1)
    u = rng.random(Xm.shape[:2])
    # How many cumulative probabilities of levels 1..K-1 lie below u: 0 means level 1, ...,
    # all of them means u fell in the reference level's share.
    level = (u[..., None] > cum).sum(axis=-1)
    chosen = np.where(level == K1, 0, level + 1)
    return codes[chosen]


def _polyreg_fit(X, obs, yo, codes) -> tuple[np.ndarray, np.ndarray]:
    """The multinomial fit of ``mice.impute.polyreg`` (``nnet::multinom`` there), batched over
    chains: the weighted maximum-likelihood coefficients (m, q, K-1) of levels codes[1:] against
    codes[0] on the observed rows plus ``_augment``'s pseudo-rows, and the information matrix at
    them (blocks by level, then predictor)."""
    Xa, ya, wa = _augment(X, codes)
    Xf = np.concatenate([X[:, obs], Xa], axis=1)
    y = np.concatenate([yo, ya])
    w = np.concatenate([np.ones(yo.size), wa])
    m, _, q = Xf.shape
    K1 = codes.size - 1
    Yk = (y[:, None] == codes[None, 1:]).astype(float)
    XT = Xf.transpose(0, 2, 1)

    def hessian(P):
        # Block (a, b) is X' diag(w p_a (1[a=b] - p_b)) X; K is small, so loop over blocks.
        H = np.empty((m, K1, q, K1, q))
        for a in range(K1):
            for b in range(a, K1):
                wab = w * P[..., a] * ((a == b) - P[..., b])
                H[:, a, :, b, :] = XT @ (Xf * wab[..., None])
                H[:, b, :, a, :] = H[:, a, :, b, :].transpose(0, 2, 1)
        return H.reshape(m, K1 * q, K1 * q)

    def direction(flat):
        # flat coefficients in the order of the Hessian's blocks: level, then predictor
        P = _softmax_ref0(Xf @ flat.reshape(m, K1, q).transpose(0, 2, 1))
        g = (XT @ (w[None, :, None] * (Yk[None] - P))).transpose(0, 2, 1).reshape(m, K1 * q)
        return np.linalg.solve(hessian(P), g[..., None])[..., 0], np.ones(m, dtype=bool)

    flat = newton(np.zeros((m, K1 * q)), direction, converged=_converged, max_iter=_NEWTON_MAX, freeze=False).beta
    beta = flat.reshape(m, K1, q).transpose(0, 2, 1)
    return beta, hessian(_softmax_ref0(Xf @ beta))
