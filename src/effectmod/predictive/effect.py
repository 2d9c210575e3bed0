"""Effect modelling (PATH): every treatment x predictor interaction in one penalised model.

The predictors are standardised (mean 0, SD 1 in the fitting data). The design is treatment,
the predictors and their products with treatment. The penalty's size is chosen by ``folds``-fold
cross-validation (rows shuffled with the plan's seed).

* ridge (``ridge``): the interactions penalised, treatment and the main effects not; squared error
  (continuous outcomes) or deviance (binary outcomes) cross-validated over a grid of penalties;
* lasso: scikit-learn's ``LassoCV`` (continuous) or L1 ``LogisticRegressionCV`` (binary, log-loss),
  with the treatment and main-effect columns multiplied by ``MAIN_SCALE`` before fitting, which
  divides their L1 penalty by ``MAIN_SCALE``: the interactions are penalised, the main effects barely.

A participant's predicted benefit is the predicted outcome (mean or probability) with treatment
minus without it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .ridge import ridge_linear_cv, ridge_logistic_cv

MAIN_SCALE = 10.0
LOGISTIC_CS = np.logspace(-3, 2, 11)


@dataclass(frozen=True)
class EffectModel:
    model: object               # the fitted scikit-learn estimator
    centre: np.ndarray
    scale: np.ndarray
    kind: str
    penalty_value: float        # the chosen alpha (continuous), lambda (binary ridge) or 1/C (binary lasso)
    main_scale: float = MAIN_SCALE

    def _design(self, X: np.ndarray, treat: np.ndarray) -> np.ndarray:
        Z = (X - self.centre) / self.scale
        return np.column_stack([self.main_scale * treat, self.main_scale * Z, treat[:, None] * Z])

    def predict(self, X: np.ndarray, treat: np.ndarray) -> np.ndarray:
        D = self._design(X, treat)
        if self.kind == "continuous":
            return np.asarray(self.model.predict(D), float)      # type: ignore[attr-defined]  # sklearn estimator
        return np.asarray(self.model.predict_proba(D)[:, 1], float)   # type: ignore[attr-defined]  # sklearn estimator

    def benefit(self, X: np.ndarray) -> np.ndarray:
        """Predicted outcome with treatment minus without it, per participant."""
        n = len(X)
        return self.predict(X, np.ones(n)) - self.predict(X, np.zeros(n))


def fit_effect_model(X: np.ndarray, treat: np.ndarray, y: np.ndarray, kind: str, penalty: str,
                     folds: int, seed: int) -> EffectModel:
    """The penalised interaction model above, fitted on (X, treat, y)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LassoCV, LogisticRegressionCV
    from sklearn.model_selection import KFold, StratifiedKFold
    centre = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    if penalty == "ridge":
        solve = ridge_linear_cv if kind == "continuous" else ridge_logistic_cv
        ridge = solve(_plain(X, treat, centre, scale), y, _interactions(X), folds, seed)
        return EffectModel(ridge, centre, scale, kind, ridge.lam, main_scale=1.0)
    D = EffectModel(None, centre, scale, kind, float("nan"))._design(X, treat)
    model: object
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "continuous":
            lasso = LassoCV(cv=KFold(folds, shuffle=True, random_state=seed), max_iter=20_000, random_state=seed,
                            **_grid_size(LassoCV, 40)).fit(D, y)
            model, value = lasso, float(lasso.alpha_)
        else:
            cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
            logistic = LogisticRegressionCV(Cs=LOGISTIC_CS, cv=cv, solver="liblinear", scoring="neg_log_loss", max_iter=5_000,
                                            intercept_scaling=100.0, random_state=seed,
                                            **_l1(LogisticRegressionCV)).fit(D, y.astype(int))
            model, value = logistic, 1.0 / float(np.ravel(logistic.C_)[0])
    return EffectModel(model, centre, scale, kind, value)


def _grid_size(estimator, n: int) -> dict:
    """The number of penalties LassoCV tries: ``alphas=n`` (scikit-learn 1.7 on) or ``n_alphas=n``."""
    import inspect
    return {"n_alphas": n} if "n_alphas" in inspect.signature(estimator).parameters else {"alphas": n}


def _l1(estimator) -> dict:
    """The lasso penalty in LogisticRegressionCV: ``l1_ratios`` in recent scikit-learn, ``penalty`` before."""
    import inspect
    params = inspect.signature(estimator).parameters
    if "use_legacy_attributes" in params:
        return {"l1_ratios": (1.0,), "use_legacy_attributes": False}
    return {"penalty": "l1"}


def _plain(X: np.ndarray, treat: np.ndarray, centre: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Treatment, the standardised predictors and their products with treatment (no column scaling)."""
    Z = (X - centre) / scale
    return np.column_stack([treat, Z, treat[:, None] * Z])


def _interactions(X: np.ndarray) -> np.ndarray:
    """Which columns of ``_plain`` are penalised: the interactions only."""
    p = X.shape[1]
    return np.r_[np.zeros(1 + p), np.ones(p)]
