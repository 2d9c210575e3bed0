"""One chunk of simulated trials: drawn as stacked (reps, n) arrays and every model of every trial
fitted at once (the engines' batched least squares for linear outcomes, batched Newton steps for
binary ones), returning rejection counts. Chunk (cell i, chunk j) draws from
``SeedSequence(seed, spawn_key=(i, j))`` (``run_chunk``)."""
from __future__ import annotations

import numpy as np
from scipy import special, stats

from ..engines.linalg import gram_inverse, lstsq_batched
from ..engines.logistic import fit_logistic_stacked, fit_logistic_stacked_vcov
from ..engines.ols import fit_ols_stacked
from .joint import chi2_pvalues, f_pvalues, rejections
from .sources import PilotSource, ScenarioSource, Size, pilot_coef


def _reject(coef, se, df, alpha):
    """Two-sided Wald/t rejections at alpha; NaN (a singular fit) never rejects."""
    z = np.abs(coef / se)
    p = 2 * (stats.t.sf(z, df) if df is not None else stats.norm.sf(z))
    return np.nan_to_num(p, nan=1.0) < alpha


# ---------------------------------------------------------------- one chunk

def stacked_t(columns: np.ndarray, y: np.ndarray, mask: np.ndarray, models) -> tuple[list[np.ndarray], np.ndarray]:
    """t statistics of many OLS models that share a response, per simulated trial.

    columns (B, n, k) hold every regressor any model needs (no intercept); ``models`` is a list
    of (column indices, tested position). Each trial's columns are centred (the intercept) and
    scaled on its complete cases; each model is solved by the engines' batched QR with their one
    rank rule. Returns the (B,) t statistics per model and the (B,) complete-case counts.
    """
    w = mask.astype(float)
    count = w.sum(axis=1)
    Xw = np.where(mask[..., None], columns, 0.0)
    yw = np.where(mask, y, 0.0)
    # centred, scaled cross-products from the raw ones (batched BLAS products, no centred
    # B x n x k copies): G_c = X'WX - s s'/count; the columns' means are a few SDs at most, so
    # this loses a digit or two of sixteen (the centred design itself is formed only for the
    # trials that go to the QR below)
    XwT = Xw.transpose(0, 2, 1)
    total = Xw.sum(axis=1)                                          # (B, k)
    ybar = yw.sum(axis=1) / count
    mean = total / count[:, None]
    gram = XwT @ Xw - total[:, :, None] * mean[:, None, :]
    gy = (XwT @ yw[:, :, None])[:, :, 0] - total * ybar[:, None]
    yy = (yw * yw).sum(axis=1) - count * ybar * ybar
    sd = np.sqrt(np.clip(np.diagonal(gram, axis1=1, axis2=2), 0.0, None) / count[:, None])
    sd = np.where(sd > 0, sd, 1.0)
    gram /= sd[:, :, None] * sd[:, None, :]
    gy /= sd

    def centred(rest: np.ndarray, cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
        wr = w[rest]
        Xc = (Xw[rest][:, :, cols] - mean[rest][:, None, cols]) * wr[..., None] / sd[rest][:, None, cols]
        return Xc, (yw[rest] - ybar[rest, None]) * wr
    out = []
    for idx, test in models:
        cols = list(idx)
        inv, well = gram_inverse(gram[:, cols][:, :, cols])
        g = gy[:, cols]
        coef = (inv @ g[:, :, None])[:, :, 0]
        rss = yy - (coef * g).sum(axis=1)
        bad = np.zeros(len(yy), dtype=bool)
        rest = np.flatnonzero(~well)
        if rest.size:
            Xr, yr = centred(rest, cols)
            c, i, _, b = lstsq_batched(Xr, yr)
            resid = yr - np.einsum("bnp,bp->bn", Xr, np.nan_to_num(c))
            coef[rest], inv[rest], bad[rest] = c, i, b
            rss[rest] = (resid * resid).sum(axis=1)
        df = count - len(idx) - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            t = coef[:, test] / np.sqrt(inv[:, test, test] * rss / df)
        t[bad] = np.nan
        out.append(t)
    return out, count


def _scenario_chunk(source: ScenarioSource, n: int, size: Size, reps: int, rng, alpha: float) -> dict:
    from ..simulation import scenario_with
    from ..simulation.generate import draw
    scenario = scenario_for(source, size, scenario_with)
    d = draw(scenario, n, rng, scenario.dropout, reps=reps)
    counts = {}
    for o in scenario.outcomes:
        # one column block per outcome: treat, baseline, each moderator, each treat x moderator
        mods = [m for m in scenario.moderators]
        names = ["treat", o.baseline] + [m.column for m in mods if m.column != o.baseline]
        where = {nm: k for k, nm in enumerate(names)}
        cols = [d.treat, d.baseline[o.baseline]] + [d.baseline[nm] for nm in names[2:]]
        for m in mods:
            where[f"treat:{m.column}"] = len(cols)
            cols.append(d.treat * d.baseline[m.column])
        columns = np.stack(cols, axis=-1)
        models = [([0, 1], 0)]
        for m in mods:
            idx = [0, where[m.column]] + ([] if m.column == o.baseline else [1]) + [where[f"treat:{m.column}"]]
            models.append((idx, len(idx) - 1))
        for f in o.followups:
            y = d.outcomes[f.column]
            ts, count = stacked_t(columns, y, ~np.isnan(y), models)
            keys = [""] + [m.name for m in mods]
            for key, t, (idx, _) in zip(keys, ts, models):
                counts[(o.name, f.timepoint, key)] = _reject(t, 1.0, count - len(idx) - 1, alpha)
    return {k: int(v.sum()) for k, v in counts.items()}


def scenario_for(source: ScenarioSource, size: Size, scenario_with):
    from ..simulation import SCENARIOS
    if size.value is None:
        return scenario_with(source.name, interaction_scale=size.scale, dropout=source.dropout)
    base = SCENARIOS[source.name]
    chosen: dict[tuple[str | None, str, str], float] = {(it.moderator, it.outcome, it.timepoint): it.value for it in base.interactions}
    for o in base.outcomes:
        if size.outcome in (None, o.name):
            for f in o.followups:
                chosen[(size.moderator, o.name, f.timepoint)] = size.value
    return scenario_with(source.name, interactions=chosen, dropout=source.dropout)


def _pilot_chunk(source: PilotSource, n: int, size: Size, reps: int, rng, alpha: float) -> dict:
    counts = {}
    for model, child in zip(source.models, rng.spawn(len(source.models))):
        m = model.rows.shape[0]
        pick = child.integers(0, m, size=(reps, n))
        X = model.rows[pick]                                   # (reps, n, p)
        if model.arm_cols:
            _allocate_arms(X, model, n, reps, child)
        else:
            arms = np.r_[np.ones(n // 2), np.zeros(n - n // 2)]
            treat = child.permuted(np.broadcast_to(arms, (reps, n)).copy(), axis=-1)
            X[..., model.treat_col] = treat
            for mc, ic in zip(model.mod_cols, model.inter_cols):
                X[..., ic] = treat * X[..., mc]
        eta = X @ pilot_coef(model, size)
        test = model.inter_cols[0] if model.moderator else model.treat_col
        if model.family == "ordinal":
            counts[(model.outcome, model.timepoint, model.moderator)] = ordinal_rejections(model, X, eta, test, child, alpha)
            continue
        if model.family == "cox":
            from .survival_pilot import cox_rejections
            counts[(model.outcome, model.timepoint, model.moderator)] = cox_rejections(model, X, eta, test, child, alpha)
            continue
        if model.family:
            counts[(model.outcome, model.timepoint, model.moderator)] = count_rejections(
                model, X, eta, pick, test, child, alpha)
            continue
        # a categorical moderator: the joint test of its interactions, as the analysis runs it
        joint = list(model.inter_cols) if model.joint else None
        if model.binary:
            y = (child.random((reps, n)) < special.expit(eta)).astype(float)
            if joint:
                coef, vcov, conv = fit_logistic_stacked_vcov(X, y)
                hits = rejections(chi2_pvalues(coef, vcov, joint), alpha) & conv
            else:
                coef, se, conv = fit_logistic_stacked(X, y)
                hits = _reject(coef[:, test], se[:, test], None, alpha) & conv
        else:
            if source.errors == "normal":
                e = child.normal(0.0, model.sigma, (reps, n))
            else:
                e = model.resid[child.integers(0, m, size=(reps, n))]
            fit = fit_ols_stacked(X, eta + e)
            assert fit.std_error is not None       # fit_ols_stacked always computes them
            if joint:
                assert fit.vcov is not None       # fit_ols_stacked always computes it
                hits = rejections(f_pvalues(fit.coef, fit.vcov, fit.df_resid, joint), alpha)
            else:
                hits = _reject(fit.coef[:, test], fit.std_error[:, test], fit.df_resid, alpha)
        counts[(model.outcome, model.timepoint, model.moderator)] = int(hits.sum())
    return counts


def count_rejections(model, X, eta, pick, test, rng, alpha: float) -> int:
    """Rejections of simulated count trials: counts drawn from the pilot's Poisson or negative
    binomial fit (gamma-Poisson with the pilot's theta), with the pilot rows' exposures, and
    refitted by the same family; a replicate the engine cannot fit does not reject."""
    from ..engines.errors import EngineError
    from ..engines.negbin import fit_negbin
    from ..engines.poisson import fit_poisson_stacked
    off = model.offset[pick] if model.offset is not None else np.zeros(eta.shape)
    mu = np.exp(np.clip(eta + off, -700.0, 50.0))
    if model.family == "negative_binomial" and np.isfinite(model.theta):
        mu = rng.gamma(model.theta, mu / model.theta)
    y = rng.poisson(mu).astype(float)
    if model.family == "poisson":
        coef, se, conv = fit_poisson_stacked(X, y, off)
        return int((_reject(coef[:, test], se[:, test], None, alpha) & conv).sum())
    hits = 0
    for b in range(y.shape[0]):
        try:
            fit = fit_negbin(X[b], y[b], offset=off[b])
        except (EngineError, ValueError, np.linalg.LinAlgError):
            continue
        if not fit.diverged:
            hits += int(_reject(fit.coef[test], np.sqrt(fit.vcov[test, test]), None, alpha))
    return hits


def ordinal_rejections(model, X, eta, test, rng, alpha: float) -> int:
    """Rejections of simulated ordinal trials: categories drawn from the pilot's proportional-odds
    fit (its thresholds; the coefficients' intercept slot is 0), refitted trial by trial."""
    from ..engines.errors import EngineError
    from ..engines.ordinal import fit_ordinal
    cum = special.expit(np.asarray(model.thresholds)[None, None, :] - eta[..., None])
    y = (rng.random(eta.shape)[..., None] > cum).sum(axis=-1).astype(float)
    names = ["(Intercept)" if np.all(model.rows[:, j] == 1.0) else f"x{j}" for j in range(X.shape[-1])]
    hits = 0
    for b in range(y.shape[0]):
        try:
            fit = fit_ordinal(X[b], y[b], names)
        except (EngineError, np.linalg.LinAlgError):
            continue
        if not fit.diverged:
            hits += int(_reject(fit.coef[test], np.sqrt(fit.vcov[test, test]), None, alpha))
    return hits


def _allocate_arms(X: np.ndarray, model, n: int, reps: int, rng) -> None:
    """Multi-arm: n participants allocated equally to the control (code 0) and each treated arm
    (the remainder to the first arms), every arm's indicator and products rewritten in X."""
    k = len(model.arm_cols) + 1
    codes = np.arange(n) % k
    alloc = rng.permuted(np.broadcast_to(codes, (reps, n)).copy(), axis=-1)
    for a, col in enumerate(model.arm_cols, start=1):
        ind = (alloc == a).astype(float)
        X[..., col] = ind
        for mc, ic in zip(model.mod_cols, model.arm_inter_cols[a - 1] if model.arm_inter_cols else ()):
            X[..., ic] = ind * X[..., mc]


def run_chunk(source, n: int, size: Size, reps: int, seed: int, key: tuple[int, int], alpha: float) -> dict:
    """Rejection counts of one chunk: {(outcome, timepoint, moderator or ""): rejections}."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
    if isinstance(source, ScenarioSource):
        return _scenario_chunk(source, n, size, reps, rng, alpha)
    return _pilot_chunk(source, n, size, reps, rng, alpha)
