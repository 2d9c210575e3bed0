"""Ridge regressions with the penalty on chosen columns only, its size chosen by k-fold
cross-validation (the ridge of ``effect``).

Linear: minimises  ||y - X b||^2 + lam * sum_j pen_j b_j^2  (closed form), cross-validated by
squared error. Logistic: minimises  -loglik(b) + lam/2 * sum_j pen_j b_j^2  by Newton steps,
cross-validated by deviance. The intercept and the unpenalised columns have pen_j = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# penalties tried, per participant (the grid is these times the number of rows, so that the same
# relative shrinkage is on offer whatever the sample size)
LAMBDAS_PER_ROW = np.logspace(-4, 2, 13)
TOLERANCE = 1e-10
MAX_STEPS = 100


def _fit(D: np.ndarray, y: np.ndarray, pen: np.ndarray, lam: float, start: np.ndarray | None = None) -> np.ndarray:
    b = np.zeros(D.shape[1]) if start is None else start.copy()
    P = lam * np.diag(pen)
    for _ in range(MAX_STEPS):
        eta = np.clip(D @ b, -35, 35)
        p = 1 / (1 + np.exp(-eta))
        score = D.T @ (y - p) - P @ b
        info = (D * (p * (1 - p))[:, None]).T @ D + P
        step = np.linalg.solve(info + 1e-10 * np.eye(len(b)), score)
        b = b + step
        if np.max(np.abs(step)) <= TOLERANCE * (1 + np.max(np.abs(b))):
            break
    return b


def _deviance(D: np.ndarray, y: np.ndarray, b: np.ndarray) -> float:
    eta = np.clip(D @ b, -35, 35)
    return float(-2 * np.sum(y * eta - np.logaddexp(0, eta)))


@dataclass(frozen=True)
class RidgeLogistic:
    coef: np.ndarray            # intercept first
    lam: float

    def predict_proba(self, D: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-np.clip(self.coef[0] + D @ self.coef[1:], -35, 35)))
        return np.column_stack([1 - p, p])


def fold_ids(y: np.ndarray, folds: int, seed: int, stratified: bool = True) -> np.ndarray:
    """Fold of each row, rows shuffled with ``seed``: stratified by the value of y (binary), or not."""
    rng = np.random.default_rng(seed)
    out = np.empty(len(y), dtype=int)
    for value in (np.unique(y) if stratified else [None]):
        idx = rng.permutation(np.flatnonzero(y == value) if value is not None else np.arange(len(y)))
        out[idx] = np.arange(len(idx)) % folds
    return out


@dataclass(frozen=True)
class RidgeLinear:
    coef: np.ndarray            # intercept first
    lam: float

    def predict(self, D: np.ndarray) -> np.ndarray:
        return self.coef[0] + D @ self.coef[1:]


def _ridge_solve(X: np.ndarray, y: np.ndarray, P: np.ndarray, lam: float) -> np.ndarray:
    XtX = X.T @ X
    # a tiny ridge on every column keeps a constant predictor (a column of zeros once standardised) solvable
    return np.linalg.solve(XtX + lam * P + 1e-12 * np.trace(XtX) / len(XtX) * np.eye(len(XtX)), X.T @ y)


def ridge_linear_cv(D: np.ndarray, y: np.ndarray, penalised: np.ndarray, folds: int, seed: int) -> RidgeLinear:
    """Fit at the penalty of the grid with the least cross-validated squared error."""
    X = np.column_stack([np.ones(len(y)), D])
    P = np.diag(np.concatenate([[0.0], penalised.astype(float)]))
    fold = fold_ids(y, folds, seed, stratified=False)
    LAMBDAS = LAMBDAS_PER_ROW * len(y)
    loss = np.zeros(len(LAMBDAS))
    for k in range(folds):
        train, test = fold != k, fold == k
        for i, lam in enumerate(LAMBDAS):
            b = _ridge_solve(X[train], y[train], P, lam)
            loss[i] += float(np.sum((y[test] - X[test] @ b) ** 2))
    best = float(LAMBDAS[int(np.argmin(loss))])
    return RidgeLinear(_ridge_solve(X, y, P, best), best)


def ridge_logistic_cv(D: np.ndarray, y: np.ndarray, penalised: np.ndarray, folds: int, seed: int) -> RidgeLogistic:
    """Fit at the penalty of the grid with the least cross-validated deviance."""
    X = np.column_stack([np.ones(len(y)), D])
    pen = np.concatenate([[0.0], penalised.astype(float)])
    fold = fold_ids(y, folds, seed)
    LAMBDAS = LAMBDAS_PER_ROW * len(y)
    loss = np.zeros(len(LAMBDAS))
    for k in range(folds):
        train, test = fold != k, fold == k
        b = None
        for i, lam in enumerate(LAMBDAS[::-1]):      # from the most penalised: warm starts stay finite
            b = _fit(X[train], y[train], pen, lam, b)
            loss[len(LAMBDAS) - 1 - i] += _deviance(X[test], y[test], b)
    best = float(LAMBDAS[int(np.argmin(loss))])
    return RidgeLogistic(_fit(X, y, pen, best), best)
