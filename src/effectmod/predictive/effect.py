"""Effect modelling (PATH): every treatment x predictor interaction in one penalised model.

The predictors are standardised (mean 0, SD 1 in the fitting data). The design is treatment,
the predictors and their products with treatment. The penalty (ridge or lasso) is chosen by
cross-validation (``folds`` folds, rows shuffled with the plan's seed):
continuous outcomes by least squares (scikit-learn ``RidgeCV`` / ``LassoCV``), binary ones by
penalised logistic likelihood (ridge: ``ridge_logistic``, cross-validated deviance, main effects
unpenalised; lasso: scikit-learn ``LogisticRegressionCV``, log-loss). Except for the binary ridge,
the treatment and main-effect columns are multiplied by ``MAIN_SCALE`` before fitting, which
divides their ridge penalty by ``MAIN_SCALE**2`` (lasso: by ``MAIN_SCALE``): the interactions are
penalised, the main effects barely. A participant's predicted benefit is the predicted outcome (mean or probability) with
treatment minus without it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .ridge_logistic import ridge_logistic_cv

MAIN_SCALE = 10.0
RIDGE_ALPHAS = np.logspace(-3, 5, 33)
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
    from sklearn.linear_model import LassoCV, LogisticRegressionCV, RidgeCV
    from sklearn.model_selection import KFold, StratifiedKFold
    centre = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    shell = EffectModel(None, centre, scale, kind, float("nan"))
    D = shell._design(X, treat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "continuous":
            if penalty == "ridge":
                model: object = RidgeCV(alphas=RIDGE_ALPHAS, cv=KFold(folds, shuffle=True, random_state=seed)).fit(D, y)
            else:
                model = LassoCV(cv=KFold(folds, shuffle=True, random_state=seed), max_iter=20_000, random_state=seed,
                                **_grid_size(LassoCV, 40)).fit(D, y)
            value = float(model.alpha_)     # type: ignore[attr-defined]  # sklearn sets it on fit
        elif penalty == "ridge":
            D_plain = np.column_stack([treat, (X - centre) / scale, D[:, -X.shape[1]:]])
            fitted = ridge_logistic_cv(D_plain, y, np.r_[np.zeros(1 + X.shape[1]), np.ones(X.shape[1])], folds, seed)
            return EffectModel(fitted, centre, scale, kind, fitted.lam, main_scale=1.0)
        else:
            cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
            model = LogisticRegressionCV(Cs=LOGISTIC_CS, cv=cv, solver="liblinear", scoring="neg_log_loss", max_iter=5_000,
                                         intercept_scaling=100.0, random_state=seed,
                                         **_l1(LogisticRegressionCV)).fit(D, y.astype(int))
            value = 1.0 / float(np.ravel(model.C_)[0])      # type: ignore[attr-defined]  # sklearn sets it on fit
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
