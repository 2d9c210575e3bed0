"""Interpreting a modifier: conditional treatment effects, Johnson-Neyman regions, and the
interaction per SD of the moderator.

Every number here is a linear contrast of a fitted model, taken through the ``Fit`` protocol
(engines/base.py), so the same code serves OLS (t on the residual df), logistic (Wald z, log-odds
scale), mixed (Satterthwaite df per contrast) and pooled multiply-imputed fits (Barnard-Rubin
df per contrast).

The treatment effect where the moderator equals m is L(m)'b with L(m) = L0 + m L1, L0 the
treatment effect at m = 0 and L1 the interaction (``Design.effect_L``). Its estimate is
b1 + m b3 and its variance v11 + 2 m v13 + m^2 v33, where b1 = L0'b, b3 = L1'b and v = the
covariance of (L0'b, L1'b). The Johnson-Neyman boundaries are the m where the CI bound touches
zero: (b1 + m b3)^2 = q^2 (v11 + 2 m v13 + m^2 v33), a quadratic in m, solved in m - c with c
the centre of the moderator in the design (so b1 is the effect inside the data) and shifted back.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..engines.logistic import LogisticFit
from ..models.comparisons import is_multi_arm, per_comparison
from ..plan.labels import label_of
from ..records import JNRegion
from .moderator_summary import PERCENTILES, _participants, moderator_summary, moderator_values  # noqa: F401 (re-exported)

# A Johnson-Neyman boundary is stable once the quantile it was solved with changes by less than
# this between iterations (mixed and pooled fits, whose df depends on the moderator value).
JN_QUANTILE_TOL = 1e-12
JN_MAX_ITER = 100

EFFECT_COLUMNS = ("outcome", "timepoint", "moderator", "moderator_value", "effect", "std_error", "ci_low",
                  "ci_high", "p_value", "model", "term", "df", "n", "percentile", "scale")
JN_COLUMNS = ("outcome", "timepoint", "moderator", "lower", "upper", "significant_region", "observed_min",
              "observed_max", "model", "sign_description", "df", "df_upper", "significant_observed", "scale")
PER_SD_COLUMNS = ("estimate_per_sd", "ci_low_per_sd", "ci_high_per_sd", "moderator_sd")

SCALE = {"linear": "mean difference", "mixed": "mean difference", "logistic": "log odds ratio",
         "poisson": "log rate ratio", "negative_binomial": "log rate ratio", "ordinal": "log odds ratio",
         "cox": "log hazard ratio", "rmst": "RMST difference"}


# ---------------------------------------------------------------------------- helpers


def _estimable(fitted):
    return [fm for fm in fitted if fm.fit is not None]


def _diverged(fm) -> bool:
    # a separated maximum-likelihood fit: its log-odds effects show the divergence (huge intervals,
    # drawn as such), but a risk difference or a region of significance built from its infinite
    # coefficients would look precise (a risk difference of 1 with P = 0) and mean nothing
    return getattr(fm.fit, "diverged", False)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# ---------------------------------------------------------------------------- conditional effects
def conditional_effects(fitted, trial, plan) -> pd.DataFrame:
    """Treatment effect (intervention minus control) at chosen moderator values, per model.

    Continuous moderators: the 10/25/50/75/90th percentiles of the model's analysed participants
    (``percentile`` "p10" ...) and the plan's ``moderators[].at`` values ("plan"); binary and
    categorical moderators: each level (``percentile`` = the level; ``moderator_value`` = the
    level text). Logistic models give the effect on the log-odds scale and, in further rows with
    ``scale`` "risk difference", the marginally standardised risk difference at each value.
    Models that could not be estimated have no rows; separated maximum-likelihood fits have no
    risk-difference rows.
    """
    level = plan.analysis.ci_level
    at = {m.name: list(m.at) for m in plan.moderators}
    rows = []
    for fm in _estimable(fitted):
        m = trial.moderators[fm.spec.moderator]
        points = _points(fm, trial, m, at.get(m.name, []))
        n = fm.design.n                     # once per model (a pass over its rows), not per row
        for t in fm.design.timepoints:
            for value, label, mod_row, term in points:
                L = fm.design.effect_L(mod_row, t)
                c = fm.fit.contrast(L)
                rows.append(_effect_row(fm, t, value, label, term, c, level, SCALE[fm.spec.kind], n))
                if isinstance(fm.fit, LogisticFit) and not _diverged(fm):
                    # as the additive-scale columns: standardised over the analysed participants,
                    # which a pooled (imputed) fit does not have one set of
                    rd = risk_difference(fm.fit, fm.design, mod_row)
                    rows.append(_effect_row(fm, t, value, label, term, rd, level, "risk difference", n))
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))


def _points(fm, trial, m, at_values):
    """(moderator_value, percentile label, design row, term) for each value to report."""
    if m.type == "continuous":
        # numpy's default (linear) interpolation is R's quantile type 7 (once per model: moderator_summary)
        qs = moderator_summary(fm, trial).percentiles
        out = [(float(q), f"p{p}", np.array([q]), "") for p, q in zip(PERCENTILES, qs)]
        return out + [(float(a), "plan", np.array([a], dtype=float), "") for a in at_values]
    out = []
    for code, lv in enumerate(m.levels):
        row = m.design(np.array([float(code)]))[0]
        out.append((lv, lv, row, lv if m.type == "categorical" else ""))
    return out


def _effect_row(fm, t, value, label, term, c, level, scale, n: int) -> dict:
    lo, hi = c.ci(level)
    return {"outcome": fm.spec.outcome, "timepoint": t, "moderator": fm.spec.moderator, "moderator_value": value,
            "effect": c.estimate, "std_error": c.std_error, "ci_low": lo, "ci_high": hi, "p_value": c.p_value,
            "model": fm.spec.kind, "term": term, "df": c.df, "n": n, "percentile": label, "scale": scale}


def risk_difference(fit, design, mod_row):
    """Marginally standardised risk difference of a logistic fit where the moderator's design
    columns equal ``mod_row`` (each analysed participant keeps their covariates)."""
    from .additive import standardised_risk_difference
    return standardised_risk_difference(
        fit, design.X, design.index("treat"), [design.index(n) for n in design.mod_names],
        [design.index(f"treat:{n}") for n in design.mod_names], design.centred(mod_row))


# ---------------------------------------------------------------------------- Johnson-Neyman
def jn_boundaries(b1: float, b3: float, v11: float, v13: float, v33: float, q: float) -> tuple[float, ...]:
    """Real roots (ascending) of (b1 + m b3)^2 = q^2 (v11 + 2 m v13 + m^2 v33)."""
    a = b3 * b3 - q * q * v33
    h = b1 * b3 - q * q * v13              # half the linear coefficient
    c = b1 * b1 - q * q * v11
    scale = max(b3 * b3, q * q * v33, 1e-300)
    if abs(a) <= 1e-14 * scale:           # interaction exactly at the significance edge: linear
        return () if h == 0 else (-c / (2.0 * h),)
    disc = h * h - a * c
    if disc < 0:
        return ()
    s = math.sqrt(disc)
    # the numerically stable pair of roots (no cancellation between -h and s)
    k = -(h + math.copysign(s, h)) if h != 0 else s
    roots = sorted({k / a, c / k} if k != 0 else {0.0})
    return tuple(roots)


def johnson_neyman(fitted, trial, plan) -> pd.DataFrame:
    """The Johnson-Neyman frame (see ``johnson_neyman_regions``)."""
    return johnson_neyman_regions(fitted, trial, plan)[0]


def johnson_neyman_regions(fitted, trial, plan) -> tuple[pd.DataFrame, dict[tuple, tuple[JNRegion, ...]]]:
    """Johnson-Neyman regions of significance for every estimable continuous-moderator model.

    ``lower``/``upper`` are the moderator values where the CI of the treatment effect touches
    zero (empty when there are fewer roots); ``significant_region`` says where the CI excludes
    zero: "outside" the roots, "inside" them, "below"/"above" a single root, "everywhere" or
    "nowhere". ``significant_observed`` clips that region to the observed range
    [observed_min, observed_max] of the model's analysed participants, and
    ``sign_description`` states in words the sign of the effect in each significant part.

    With a constant df (OLS: residual df; logistic: z) the roots are closed form. For mixed and
    pooled fits the df depends on the moderator value, so each boundary is solved iteratively:
    start from the df of the interaction contrast, solve with that df's quantile, recompute the
    df of the effect at the new boundary, and repeat until the quantile is stable; ``df`` and
    ``df_upper`` report the df at the lower and upper boundary. Which parts are significant is
    then checked directly, with each part's own df.

    Returns the frame and, as numbers, the significant parts within the observed range (the
    ones ``significant_observed`` and ``sign_description`` put in words): a tuple of
    ``JNRegion`` per row, keyed by the row's ROW_KEY (outcome, timepoint, moderator, term "",
    model).
    """
    level = plan.analysis.ci_level
    labels = {m.name: label_of(m) for m in plan.moderators}
    rows = []
    regions: dict[tuple, tuple[JNRegion, ...]] = {}
    for fm in _estimable(fitted):
        m = trial.moderators[fm.spec.moderator]
        if m.type != "continuous" or _diverged(fm):
            continue
        obs = moderator_summary(fm, trial)
        lo_obs, hi_obs = obs.lo, obs.hi
        for t in fm.design.timepoints:
            res = _jn_one(fm.fit, fm.design, t, level)
            parts = [(a, b, s) for a, b, s in res["parts"] if b > lo_obs and a < hi_obs]
            clipped = [(max(a, lo_obs), min(b, hi_obs), s) for a, b, s in parts]
            regions[(fm.spec.outcome, t, fm.spec.moderator, "", fm.spec.kind)] = tuple(
                JNRegion(float(a), float(b), s) for a, b, s in clipped)
            rows.append({
                "outcome": fm.spec.outcome, "timepoint": t, "moderator": fm.spec.moderator,
                "lower": res["lower"], "upper": res["upper"], "significant_region": res["region"],
                "observed_min": lo_obs, "observed_max": hi_obs, "model": fm.spec.kind,
                "sign_description": describe_regions(clipped, labels[m.name], lo_obs, hi_obs),
                "df": res["df_lower"], "df_upper": res["df_upper"],
                "significant_observed": "; ".join(f"[{_fmt(a)}, {_fmt(b)}]" for a, b, _ in clipped) or "none",
                "scale": SCALE[fm.spec.kind]})
    return pd.DataFrame(rows, columns=list(JN_COLUMNS)), regions


def _moments(fit, design, t, origin=None):
    """L0 (the effect at the moderator value ``origin``, default 0), L1 and their moments."""
    origin = np.zeros(len(design.mod_names)) if origin is None else origin
    L0 = design.effect_L(origin, t)
    L1 = design.interaction_L(0, t)
    b = np.asarray(fit.coef, dtype=float)
    V = np.asarray(fit.vcov, dtype=float)
    return L0, L1, float(L0 @ b), float(L1 @ b), float(L0 @ V @ L0), float(L0 @ V @ L1), float(L1 @ V @ L1)


def _jn_one(fit, design, t, level) -> dict:
    # solved in u = m - c around the design's moderator centre c (inside the data), then shifted
    # back: far from the data (a moderator on 1e9 + x) the quadratic in m itself loses every digit
    c0 = float(design.mod_centre[0]) if design.mod_centre else 0.0
    res = _jn_centred(fit, design, t, level, c0)
    shift = [(a + c0, b + c0, sign) for a, b, sign in res["parts"]]
    return {**res, "lower": res["lower"] + c0, "upper": res["upper"] + c0, "parts": shift}


def _jn_centred(fit, design, t, level, c0: float) -> dict:
    L0, L1, b1, b3, v11, v13, v33 = _moments(fit, design, t, np.array([c0]))

    def contrast(m):
        return fit.contrast(L0 + m * L1)

    q0 = fit.contrast(L1).quantile(level)
    first = jn_boundaries(b1, b3, v11, v13, v33, q0)
    roots, dfs = [], []
    for k in range(len(first)):
        q, r = q0, first[k]
        for _ in range(JN_MAX_ITER):
            c = contrast(r)
            q_new = c.quantile(level)
            if abs(q_new - q) <= JN_QUANTILE_TOL * q:
                break
            q = q_new
            cand = jn_boundaries(b1, b3, v11, v13, v33, q)
            if not cand:
                break
            r = min(cand, key=lambda x: abs(x - r))
        roots.append(r)
        dfs.append(contrast(r).df)
    roots_sorted = sorted(zip(roots, dfs))
    cuts = [r for r, _ in roots_sorted]
    edges = [-math.inf, *cuts, math.inf]
    parts, sig = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        c = contrast(_inside(a, b))
        s = abs(c.statistic) > c.quantile(level)
        sig.append(s)
        if s:
            parts.append((a, b, "effect > 0" if c.estimate > 0 else "effect < 0"))
    region = _region_name(sig)
    lower = cuts[0] if cuts else math.nan
    upper = cuts[1] if len(cuts) > 1 else math.nan
    df_l = roots_sorted[0][1] if cuts else fit.contrast(L1).df
    df_u = roots_sorted[1][1] if len(cuts) > 1 else math.nan
    return {"lower": lower, "upper": upper, "region": region, "parts": parts, "df_lower": df_l, "df_upper": df_u}


def _inside(a: float, b: float) -> float:
    """A representative point of the interval (a, b), which may be unbounded."""
    if math.isinf(a) and math.isinf(b):
        return 0.0
    if math.isinf(a):
        return b - max(1.0, abs(b))
    if math.isinf(b):
        return a + max(1.0, abs(a))
    return 0.5 * (a + b)


def _region_name(sig: list[bool]) -> str:
    if all(sig):
        return "everywhere"
    if not any(sig):
        return "nowhere"
    if len(sig) == 2:
        return "below" if sig[0] else "above"
    if sig == [True, False, True]:
        return "outside"
    if sig == [False, True, False]:
        return "inside"
    return "-".join("sig" if s else "ns" for s in sig)


def describe_regions(parts, label: str, lo: float, hi: float) -> str:
    """Words for the significant parts within the observed range [lo, hi] (already clipped)."""
    rng = f"observed range {_fmt(lo)} to {_fmt(hi)}"
    if not parts:
        return f"CI includes 0 across the {rng} of {label}"
    bits = []
    for a, b, sign in parts:
        if a <= lo and b >= hi:
            bits.append(f"{sign} across the whole {rng}")
        elif a <= lo:
            bits.append(f"{sign} for {label} below {_fmt(b)}")
        elif b >= hi:
            bits.append(f"{sign} for {label} above {_fmt(a)}")
        else:
            bits.append(f"{sign} for {label} between {_fmt(a)} and {_fmt(b)}")
    return "; ".join(bits) + f" (CI excludes 0; {rng})"


# ---------------------------------------------------------------------------- per-SD interaction
def moderator_sds(fitted, trial) -> dict[tuple, float]:
    """SD (n - 1) of each continuous moderator over its model's analysed participants, by model key."""
    out = {}
    for fm in fitted:
        if trial.moderators[fm.spec.moderator].type != "continuous":
            continue
        sd = moderator_summary(fm, trial).sd
        for t in fm.design.timepoints:
            out[(fm.spec.kind, fm.spec.outcome, t, fm.spec.moderator)] = sd
    return out


def add_standardised(table: pd.DataFrame, fitted, trial) -> pd.DataFrame:
    """The results table with the interaction per SD of the moderator appended (continuous only).

    estimate_per_sd = estimate x SD and likewise the CI bounds, SD over the model's analysed
    participants; empty for binary and categorical moderators (their interaction already
    compares two levels).
    """
    return with_per_sd(table, moderator_sds(fitted, trial))


def with_per_sd(table: pd.DataFrame, sds: dict[tuple, float]) -> pd.DataFrame:
    """The table with the per-SD columns last, from each (model, outcome, timepoint, moderator)'s
    SD (missing: empty); shared by the in-memory and the streamed analyses."""
    out = table.copy()
    keys = zip(out["model"], out["outcome"], out["timepoint"], out["moderator"])
    sd = np.array([sds.get(k, math.nan) for k in keys], dtype=float)
    out["moderator_sd"] = sd
    for src, dst in (("estimate", "estimate_per_sd"), ("ci_low", "ci_low_per_sd"), ("ci_high", "ci_high_per_sd")):
        out[dst] = out[src].astype(float).to_numpy() * sd
    rest = [c for c in out.columns if c not in PER_SD_COLUMNS]
    return out[rest + list(PER_SD_COLUMNS)]


def forest_values(table: pd.DataFrame, scale: str = "raw") -> pd.DataFrame:
    """Rows and numbers for a forest plot of the interactions on the requested scale.

    ``scale`` is the plan's ``analysis.forest_scale``: "raw" (per unit of the moderator) or
    "per_sd" (per SD of the moderator; binary and categorical rows stay as level contrasts).
    Returns the table's identifying columns with ``estimate, ci_low, ci_high, p_value, tier``
    on that scale and ``unit`` saying what one row's interaction compares. `joint` rows carry
    no estimate and are left out.
    """
    if scale not in ("raw", "per_sd"):
        raise ValueError(f"forest scale must be 'raw' or 'per_sd', not {scale!r}")
    t = table.loc[table["term"].fillna("") != "joint"].copy()
    continuous = t["moderator_sd"].notna() if "moderator_sd" in t else pd.Series(False, index=t.index)
    if scale == "per_sd":
        if "moderator_sd" not in t:
            raise ValueError("the table has no moderator_sd column; run it through add_standardised first")
        for src in ("estimate", "ci_low", "ci_high"):
            t[src] = np.where(continuous, t[f"{src}_per_sd"], t[src])
    t["unit"] = np.where(continuous, "per SD" if scale == "per_sd" else "per unit", "level vs reference")
    keep = ["outcome", "timepoint", "moderator", "term", "model", "estimate", "ci_low", "ci_high", "p_value", "tier",
            "unit"]
    return t[keep].reset_index(drop=True)


# ---------------------------------------------------------------------------- pipeline hook
def interpret(table: pd.DataFrame, fitted, trial, plan) -> tuple[pd.DataFrame, dict, dict]:
    """What the pipeline adds after the table is built: the per-SD columns, the
    conditional-effect, Johnson-Neyman and credibility frames (Results.sections), and the
    Johnson-Neyman regions as numbers (Results.jn_regions; see ``johnson_neyman_regions``)."""
    from .credibility import credibility

    table = add_standardised(table, fitted, trial)
    if is_multi_arm(fitted):
        # per comparison, on each comparison's view of the one model with every arm
        return table, {"conditional_effects": per_comparison(conditional_effects, fitted, trial, plan),
                       "johnson_neyman": per_comparison(johnson_neyman, fitted, trial, plan),
                       "credibility": credibility(table, plan)}, {}
    jn, regions = johnson_neyman_regions(fitted, trial, plan)
    return table, {"conditional_effects": conditional_effects(fitted, trial, plan),
                   "johnson_neyman": jn,
                   "credibility": credibility(table, plan)}, regions
