"""Is a linear model's classical standard error of the interaction trustworthy?

With ``se: classical`` the interaction's variance assumes one residual spread for everyone.
When the spread differs by moderator (and arm), the classical SE of the treatment x moderator
product can be far too small: in a trial whose smaller moderator group has three times the
residual SD, the interaction test at nominal .05 rejects a true null 17-25% of the time.
Two numbers diagnose it, and a model is flagged only when both agree:

* the Breusch-Pagan test in Koenker's studentised form (``statsmodels.stats.diagnostic.
  het_breuschpagan(resid, Z, robust=True)``): n R^2 of the squared residuals regressed on
  Z = [1, treat, moderator column(s), treat x moderator column(s)] -- the interaction design's
  own columns, chi-square on their number (without the constant) of df;
* the ratio of the HC3 sandwich SE of the interaction to its classical SE: how much the
  classical interval understates the uncertainty. If the true SE is r times the classical one,
  a nominal .05 test has size about 2(1 - Phi(1.96 / r)): .075 at r = 1.1, .10 at r = 1.2,
  .13 at r = 1.3. A ratio above SE_RATIO_LIMIT therefore means roughly double the nominal
  error rate or worse.

The test alone flags harmless heteroscedasticity (spread differing by arm in a balanced trial
leaves the interaction's SE right); the ratio alone varies by chance in small samples and with
skewed moderators. Requiring both keeps the false-alarm rate under homoscedastic errors well
below 5% (tests/test_heteroscedasticity.py simulates it: about 1%) while the flag fires in
most replicates of the scenarios where the classical test is anti-conservative.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..engines.ols import GRAM_MIN_ROWS

BP_ALPHA = 0.05
SE_RATIO_LIMIT = 1.2


@dataclass(frozen=True)
class HeteroscedasticityCheck:
    statistic: float          # Koenker's studentised Breusch-Pagan LM statistic
    df: int
    p_value: float
    se_ratio_hc3: float       # HC3 / classical SE of the interaction (largest over a categorical moderator's levels)

    @property
    def flagged(self) -> bool:
        return bool(self.p_value < BP_ALPHA and self.se_ratio_hc3 > SE_RATIO_LIMIT)

    def note(self) -> str:
        from ..formatting import p_text
        return (f"classical SEs may be anti-conservative (Breusch-Pagan {p_text(self.p_value, BP_ALPHA)}, "
                f"HC3 SE x{self.se_ratio_hc3:.1f}); "
                "consider se: HC3")


def breusch_pagan(resid: np.ndarray, Z: np.ndarray) -> tuple[float, int, float]:
    """Koenker's studentised Breusch-Pagan test: (LM = n R^2, df, p). ``Z`` holds the explanatory
    columns of the variance, without a constant (one is added)."""
    resid = np.asarray(resid, dtype=float)
    Z = np.asarray(Z, dtype=float).reshape(len(resid), -1)
    n = len(resid)
    e2 = resid * resid
    Zc = np.column_stack([np.ones(n), Z])
    coef, *_ = np.linalg.lstsq(Zc, e2, rcond=None)
    fitted = Zc @ coef
    tss = float(((e2 - e2.mean()) ** 2).sum())
    if not tss > 0:
        return 0.0, Z.shape[1], 1.0
    r2 = 1.0 - float(((e2 - fitted) ** 2).sum()) / tss
    df = int(np.linalg.matrix_rank(Zc)) - 1
    lm = n * r2
    return lm, df, float(stats.chi2.sf(lm, df)) if df > 0 else math.nan


# from this many rows on, the leverages come from the Gram matrix, as the OLS engine's normal
# equations do
LARGE_N = GRAM_MIN_ROWS


def se_ratios(X: np.ndarray, resid: np.ndarray, Ls: list[np.ndarray]) -> np.ndarray:
    """HC3 over classical SE of each contrast L'b of an OLS fit with design X and residuals.

    HC3 is ``engines.variance``'s (the one HC3 of the code base), from a QR of the design with
    unit-SD columns (leverages do not change with column scale)."""
    from ..engines import variance

    X = np.asarray(X, dtype=float)
    n, p = X.shape
    sd = X.std(axis=0)
    scale = np.where(sd > 0, sd, np.abs(X).max(axis=0))
    Xs = X / scale
    if n >= LARGE_N:
        # very many rows: the inverse of the Gram matrix of unit-SD columns (one pass over the
        # data) gives the same rows and leverages as the QR, at a fraction of its cost
        B = Xs @ np.linalg.inv(Xs.T @ Xs)
        h = np.einsum("ij,ij->i", B, Xs)
    else:
        Q, R = np.linalg.qr(Xs)
        h = variance.leverages(Q)
        Rinv = np.linalg.solve(R, np.eye(p))
        B = Xs @ Rinv @ Rinv.T                                # rows: x_i' (X'X)^-1 (scaled columns)
    if np.any(h > 1.0 - 1e-10):
        # a participant fitted exactly (e.g. alone in an arm x level cell): HC3 is undefined
        return np.full(len(Ls), math.nan)
    out = []
    for L in Ls:
        a = B @ (np.asarray(L, dtype=float) / scale)          # L'(X'X)^-1 x_i in the original units
        hc3 = float(variance.hc3_contrast(a, resid, h))
        classical = float((a * a).sum()) * float(resid @ resid) / (n - p)
        out.append(math.sqrt(hc3 / classical) if classical > 0 else math.nan)
    return np.array(out)


def check_linear(X: np.ndarray, y: np.ndarray, coef: np.ndarray, names: tuple[str, ...],
                 Ls: list[np.ndarray], blocks=None) -> HeteroscedasticityCheck:
    """The check for one linear model: Z = its treat, moderator and treat x moderator columns.
    ``blocks``: the fit's ``engines.ols_large.BlockFit`` when it was fitted from row-block sums."""
    cols = [j for j, nm in enumerate(names) if nm == "treat" or nm.startswith(("mod", "treat:mod", "treat["))]
    large = None
    if len(y) >= LARGE_N:
        # very many rows: the same statistics from sums over row blocks (no SVD of the rows)
        from .heteroscedasticity_large import check_large
        large = check_large(np.asarray(X, dtype=float), np.asarray(y, dtype=float), cols, Ls, blocks)
    if large is not None:
        lm, df, p, ratios = large
    else:
        resid = np.asarray(y, dtype=float) - np.asarray(X, dtype=float) @ np.asarray(coef, dtype=float)
        lm, df, p = breusch_pagan(resid, np.asarray(X, dtype=float)[:, cols])
        ratios = se_ratios(X, resid, Ls)
    ratio = float(np.nanmax(ratios)) if np.isfinite(ratios).any() else math.nan
    return HeteroscedasticityCheck(lm, df, p, ratio)


def flag_counts(models: list[dict]) -> tuple[int, int]:
    """(flagged, checked) over the model summaries that carry the check."""
    checked = [m for m in models if "heteroscedasticity_flagged" in m]
    return sum(bool(m["heteroscedasticity_flagged"]) for m in checked), len(checked)


def methods_sentence(models: list[dict]) -> str:
    """The report's sentence on the check ('' when no model was checked)."""
    flagged, checked = flag_counts(models)
    if not checked:
        return ""
    return ("Heteroscedasticity was checked in each linear model with classical standard errors by the Breusch-Pagan "
            "test (Koenker's studentised form) of the squared residuals on treatment, moderator and their product, "
            "beside the ratio of the HC3 to the classical standard error of the interaction; a model was flagged when "
            f"P < .05 and the ratio exceeded {SE_RATIO_LIMIT:g}, where classical standard errors may be anti-conservative: "
            f"{flagged} of {checked} models {'was' if flagged == 1 else 'were'} flagged"
            + (" (see the notes in the results table; se: HC3 is robust to it)." if flagged else "."))


def console_line(models: list[dict]) -> str:
    """One line for the terminal after the table ('' when nothing was flagged)."""
    flagged, checked = flag_counts(models)
    if not flagged:
        return ""
    return (f"Classical SEs may be anti-conservative in {flagged} of {checked} linear models (Breusch-Pagan P < .05 "
            f"and HC3 SE > {SE_RATIO_LIMIT:g} x classical; see the note column); consider se: HC3.")
