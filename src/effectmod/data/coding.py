"""The analysed variables coded as arrays: outcomes (continuous, binary, derived by a threshold, with
their baselines), moderators and covariates, each checked against the plan's declared type."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..plan.labels import label_of
from ..plan.schema import Plan, covariate_column, covariate_type, parse_rule
from .code_like import suspicious_codes as _suspicious_codes
from .coding_counts import code_count_ordinal
from .display_checks import check_level_labels
from .named_values import say_missing_words
from .problems import Problems, bool_hint, token_counts, token_fix
from .trial import CovariateData, ModeratorData, OutcomeData
from .values import (
    describe_rows,
    is_infinite,
    is_missing_token,
    keys_and_words,
    missing_tokens_kept,
    missing_words,
    numeric_column,
    sort_levels,
    typed_levels,
    value_key,
)


def code_outcomes(wide, plan: Plan, sources, problems: Problems) -> dict[str, OutcomeData]:
    out: dict[str, OutcomeData] = {}
    long = plan.data.time is not None
    for i, o in enumerate(plan.outcomes):
        if o.derive is not None:
            continue
        if o.type == "time_to_event":
            from .survival_coding import code_time_to_event
            coded_tte = code_time_to_event(wide, o, i, problems, column_numbers, _binary_outcome)
            if coded_tte is not None:
                out[o.name] = coded_tte
            continue
        if long:
            base_col = sources.get((o.name, "__baseline__"))
            follow = {t: sources[(o.name, t)] for t in sources.get((o.name, "__followups__"), [])}
            where = f"outcomes[{i}].column"
            if not follow:
                problems.add(f"outcomes[{i}]: no follow-up time in column '{plan.data.time}' besides the baseline")
                continue
        else:
            base_col = str(o.baseline) if o.baseline is not None else None
            follow = dict(o.followups or {})
            where = None
        label = label_of(o)
        event = None
        if o.type in ("count", "ordinal"):
            out[o.name] = code_count_ordinal(wide, o, i, follow, base_col, where, long, problems, column_numbers)
            continue
        if o.type == "continuous":
            coded = {t: column_numbers(wide, col, where or f"outcomes[{i}].followups['{t}']", problems, o.range) for t, col in follow.items()}
            base = _numeric(wide, base_col, where or f"outcomes[{i}].baseline", problems, o.range) if base_col else None
        else:
            coded, event = _binary_outcome(wide, follow, o, i, problems)
            base = (_binary_baseline(wide, base_col, event, follow, where or f"outcomes[{i}].baseline", problems)
                    if base_col else None)
        out[o.name] = OutcomeData(o.name, label, o.type, base, base_col, coded, o.range, event)
    for i, o in enumerate(plan.outcomes):
        if o.derive is not None and o.derive.from_ in out:
            out[o.name] = _derive(out[o.derive.from_], o, i, problems)
    return out


def _numeric(wide, col, where, problems, bounds) -> np.ndarray | None:
    if col is None:
        return None
    return column_numbers(wide, col, where, problems, bounds)


def column_numbers(wide, col, where, problems, bounds):
    """A named column's numbers as an array (``_numeric`` for a column that is always there)."""
    values, bad, hint = numeric_column(wide[col])
    names = wide.attrs.get("row_names")
    shown = f"column '{_shown(col)}' (plan: {where})"
    say_missing_words(problems, shown, missing_words(wide[col]))
    infinite = [(r, t) for r, t in bad if is_infinite(t)]
    if infinite:
        bad = [(r, t) for r, t in bad if not is_infinite(t)]
        problems.add(f"{shown}: {_infinite_values(infinite, names)}")
    dots = [(r, t) for r, t in bad if t == "."]
    if dots:
        # SAS and Stata write a missing number as '.'; reading it as missing is almost surely right
        bad = [(r, t) for r, t in bad if t != "."]
        problems.warn(f"{shown}: {len(dots)} cell(s) hold '.', read as missing; "
                      "declare it in data.missing_codes: ['.'] to confirm")
    if bad:
        observed = int(np.sum(~np.isnan(values))) + len(bad)
        texts = sorted({t for _, t in bad})
        if len(bad) == observed and len(texts) <= 10 and not hint:
            hint = (f"; it holds only text levels ({', '.join(repr(t) for t in texts)}): if it is a category, "
                    "declare it so in the plan (type: binary or categorical)")
        problems.add(f"{shown}: expected numbers, found text {describe_rows(bad, names=names)}{hint}")
    codes = _suspicious_codes(values, bounds)
    if bounds is not None:
        lo, hi = bounds
        outside = [(int(r), value_key(values[r])) for r in np.flatnonzero((values < lo) | (values > hi))]
        if outside:
            code_hint = (f" ({', '.join(value_key(c) for c in codes)} look like missing-value codes: "
                         "declare them in data.missing_codes)") if codes else ""
            problems.add(f"{shown}: values outside the declared range [{value_key(lo)}, {value_key(hi)}]: "
                         f"{describe_rows(outside, names=names)}{code_hint}")
    elif codes:
        counts = ", ".join(f"{value_key(c)} ({int(np.sum(values == c))} rows)" for c in codes)
        problems.warn(f"{shown}: {counts} look like missing-value codes and are analysed as numbers; "
                      "if they mean missing, declare them in data.missing_codes")
    return values


def _infinite_values(bad, names) -> str:
    return (f"infinite values {describe_rows(bad, names=names)}; expected finite numbers: correct them, "
            "or leave the cells empty if they are missing")


def _shown(col: str) -> str:
    return col.replace("@", " at time ") if "@" in col else col


def _two_levels(arrays: dict, what: str, problems: Problems, keep=frozenset()) -> dict:
    """Key arrays of one binary variable with 'NA', 'None' and the like read as missing when the
    variable has two other values besides them: a binary variable cannot have a third level.
    A value in ``keep`` (named by the plan: the event, the reference) is never missing."""
    levels = {k for arr in arrays.values() for k in pd.unique(arr) if k is not None}
    tokens = {k for k in levels if is_missing_token(k) and k not in keep}
    if not tokens or len(levels) <= 2 or len(levels - tokens) > 2:
        return arrays
    counts = {t: sum(int(np.sum(arr == t)) for arr in arrays.values()) for t in sort_levels(tokens)}
    problems.warn(f"{what}: {token_counts(counts)} read as missing, since a binary variable has two values "
                  f"({', '.join(repr(v) for v in sort_levels(levels - tokens))}) besides "
                  f"{'it' if len(tokens) == 1 else 'them'}; declare it in data.missing_codes to confirm")
    out = {}
    for name, arr in arrays.items():
        arr = arr.copy()
        arr[np.isin(arr, list(tokens))] = None
        out[name] = arr
    return out


def _tokens_as_levels(keys: np.ndarray, what: str, problems: Problems) -> None:
    """Warn that a text column's 'NA', 'None' and the like are analysed as levels."""
    kept = missing_tokens_kept(keys)
    if kept:
        problems.warn(f"{what}: {token_counts(kept)} read as a level, not as missing "
                      f"(in a text column only empty cells are missing); {token_fix(kept)}")


def _keys(wide, col, where: str, problems: Problems, keep) -> np.ndarray:
    """A column's keys, with the words read as missing said (a value in ``keep`` never is)."""
    keys, words = keys_and_words(wide[col], keep=keep)
    say_missing_words(problems, f"column '{_shown(col)}' (plan: {where})", words)
    return keys


def _binary_outcome(wide, follow, o, i, problems):
    keep = {value_key(o.event)} - {None}     # the event the plan names is never a word for missing
    keys = _two_levels({t: _keys(wide, col, f"outcomes[{i}].followups['{t}']", problems, keep) for t, col in follow.items()},
                       f"outcomes[{i}] ('{o.name}', binary)", problems, keep)
    levels = sort_levels({k for arr in keys.values() for k in pd.unique(arr) if k is not None})
    event = value_key(o.event) if o.event is not None else None
    if len(levels) > 2:
        problems.add(f"outcomes[{i}]: a binary outcome needs two values; found {len(levels)}: {', '.join(repr(v) for v in levels[:8])}")
        return {}, event
    if event is None:
        if set(levels) <= {"0", "1"}:
            event = "1"
        elif set(levels) <= {"true", "false"}:
            event = "true"
        else:
            problems.add(f"outcomes[{i}].event: required, since the values are {', '.join(repr(v) for v in levels)} (not 0/1 or true/false)")
            return {}, event
    elif event not in levels and levels:
        problems.add(f"outcomes[{i}].event: {o.event!r} does not occur; values found: {', '.join(repr(v) for v in levels)}")
        return {}, event
    coded = {}
    for t, arr in keys.items():
        v = np.where(arr == event, 1.0, 0.0)
        v[arr == None] = np.nan     # noqa: E711 (elementwise: the missing keys)
        coded[t] = v
    return coded, event


def _binary_baseline(wide, col, event, follow, where, problems):
    """A binary outcome's baseline, coded like the outcome (1 = event) when it takes the outcome's
    values, as R users code it; otherwise as numbers (e.g. a score measured only at baseline)."""
    keep = {event} - {None}
    arrays = _two_levels({c: _keys(wide, c, where, problems, keep) for c in [col, *follow.values()]},
                         f"column '{_shown(col)}' (plan: {where})", problems, keep)
    arr = arrays[col]
    seen = {k for k in pd.unique(arr) if k is not None}
    levels = {k for c in follow.values() for k in pd.unique(arrays[c]) if k is not None}
    if event is not None and len(seen | levels | {event}) <= 2:
        v = np.where(arr == event, 1.0, 0.0)
        v[arr == None] = np.nan     # noqa: E711 (elementwise: the missing keys)
        return v
    return _numeric(wide, col, where, problems, None)


_OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


def derive_followups(src: OutcomeData, quantity: str, op: str, threshold: float) -> dict[str, np.ndarray]:
    """The 0/1 responder values (NaN where undetermined) of a rule (``parse_rule``) at each
    follow-up of ``src``; also used after multiple imputation (passive imputation)."""
    coded = {}
    for t, y in src.followups.items():
        b = src.baseline
        with np.errstate(divide="ignore", invalid="ignore"):
            q = {"value": y, "change_from_baseline": None if b is None else y - b,
                 "reduction_from_baseline": None if b is None else b - y,
                 "reduction_from_baseline_pct": None if b is None else np.where(b != 0, 100.0 * (b - y) / b, np.nan)}[quantity]
            assert q is not None, "a rule on the change from baseline needs a baseline (checked by the caller)"
            v = _OPS[op](q, threshold).astype(float)
        v[np.isnan(q)] = np.nan
        coded[t] = v
    return coded


def _derive(src: OutcomeData, o, i, problems) -> OutcomeData:
    try:
        quantity, op, threshold = parse_rule(o.derive.rule)
    except ValueError as exc:
        problems.add(f"outcomes[{i}].derive.rule: {exc}")
        return src
    if quantity != "value" and src.baseline is None:
        problems.add(f"outcomes[{i}].derive.rule: '{quantity}' needs a baseline, and outcome '{src.name}' has none")
        return src
    coded = derive_followups(src, quantity, op, threshold)
    label = o.label or f"{src.label}: {o.derive.rule}"
    # the derived outcome's baseline is the source's baseline value (continuous), adjusted for as is
    return OutcomeData(o.name, label, "binary", src.baseline, src.baseline_source, coded, None, "1")


def code_moderators(wide, plan: Plan, problems: Problems) -> dict[str, ModeratorData]:
    out = {}
    for i, m in enumerate(plan.moderators):
        where = f"moderators[{i}].column"
        label = label_of(m)
        if m.type == "continuous":
            values = column_numbers(wide, m.column, where, problems, None)
            out[m.name] = ModeratorData(m.name, label, "continuous", values, m.column)
            continue
        shown = f"column '{m.column}' (plan: {where})"
        keep = {value_key(m.reference)} - {None}   # the reference the plan names is never a word for missing
        # one hash pass gives the levels and each cell's level (None: code -1); a column of numbers
        # needs no key per cell, and the checks of words such as 'NA' say nothing when no level is one
        keys = None
        typed = typed_levels(wide[m.column])
        if typed is not None:
            cells, distinct = typed
        else:
            keys = _keys(wide, m.column, where, problems, keep)
            cells, distinct = pd.factorize(keys, use_na_sentinel=True)
            if any(is_missing_token(k) for k in distinct):
                if m.type == "binary":
                    keys = _two_levels({m.column: keys}, shown, problems, keep)[m.column]
                    cells, distinct = pd.factorize(keys, use_na_sentinel=True)
                else:
                    _tokens_as_levels(keys, shown, problems)
        levels = sort_levels(distinct)
        if m.type == "binary" and len(levels) > 2:
            kept = missing_tokens_kept(keys) if keys is not None else {}
            hint = f"; {token_fix(kept)}" if kept else ""
            problems.add(f"{shown}: declared binary but has {len(levels)} levels "
                         f"({', '.join(repr(v) for v in levels[:8])}); declare it categorical or recode it{hint}")
            continue
        if m.reference is not None:
            ref = value_key(m.reference)
            if ref not in levels:
                hint = bool_hint(m.reference)
                problems.add(f"moderators[{i}].reference: {m.reference!r} is not a level of column '{m.column}'; "
                             f"levels: {', '.join(repr(v) for v in levels)}.{hint}")
                continue
        else:
            ref = levels[0] if levels else None
        ordered = tuple([ref] + [lv for lv in levels if lv != ref]) if ref is not None else tuple(levels)
        check_level_labels(m, i, levels, problems)
        code = {lv: j for j, lv in enumerate(ordered)}
        values = np.array([float(code[k]) for k in distinct] + [np.nan])[cells]
        out[m.name] = ModeratorData(m.name, label, m.type, values, m.column, ordered)
    return out


def code_covariates(wide, plan: Plan, problems: Problems) -> CovariateData:
    names, cols, sources, references = [], [], [], {}
    for i, entry in enumerate(plan.covariates):
        c, declared = covariate_column(entry), covariate_type(entry)
        where = f"covariates[{i}]" if declared is None else f"covariates[{i}].column"
        if declared != "categorical":
            values, bad, hint = numeric_column(wide[c])
            infinite = [(r, t) for r, t in bad if is_infinite(t)]
            if infinite:
                problems.add(f"column '{c}' (plan: {where}): {_infinite_values(infinite, wide.attrs.get('row_names'))}")
                continue
            if hint or (declared == "continuous" and any(t != "." for _, t in bad)):
                # '1,200' or '7,5' are numbers written for people; as categories they would change the model silently
                if not hint and declared == "continuous":
                    hint = "; declared type: continuous, so every value must be a number (type: categorical for levels)"
                problems.add(f"column '{c}' (plan: {where}): expected numbers, found text "
                             f"{describe_rows(bad, names=wide.attrs.get('row_names'))}{hint}")
                continue
            if all(t == "." for _, t in bad):
                # numbers, perhaps with '.' for missing: read as _numeric reads moderators (with its warning)
                names.append(c)
                if not bad:
                    say_missing_words(problems, f"column '{c}' (plan: {where})", missing_words(wide[c]))
                cols.append(column_numbers(wide, c, where, problems, None) if bad else values)
                sources.append(c)
                continue
            observed = int(np.sum(~np.isnan(values))) + len(bad)
            if declared is None and bad and observed - len(bad) >= 0.9 * observed:
                # a number column with a stray text cell would silently become a factor of every value
                problems.add(f"column '{c}' (plan: {where}): numbers except for {describe_rows(bad, names=wide.attrs.get('row_names'))}; "
                             "fix those cells or declare them in data.missing_codes (a covariate with text is entered as a "
                             "category: if it is one, write all its levels as text)")
                continue
        reference = None if isinstance(entry, str) else entry.reference
        keys = _keys(wide, c, where, problems, {value_key(reference)} - {None})
        _tokens_as_levels(keys, f"column '{c}' (plan: covariates[{i}])", problems)
        levels = sort_levels({k for k in keys if k is not None})
        if declared is None and len(levels) > 20:
            problems.add(f"column '{c}' (plan: {where}): mixes numbers and text ({describe_rows(bad, names=wide.attrs.get('row_names'))}); "
                         "fix the values or recode it as a category with few levels")
            continue
        ref = levels[0] if levels else None
        if declared == "categorical" and not isinstance(entry, str):
            if entry.reference is not None:
                ref = value_key(entry.reference)
                if ref not in levels:
                    problems.add(f"covariates[{i}].reference: {entry.reference!r} is not a level of column '{c}'; "
                                 f"levels: {', '.join(repr(v) for v in levels[:20])}.{bool_hint(entry.reference)}")
                    continue
            if len(levels) < 2:
                problems.add(f"column '{c}' (plan: {where}): a categorical covariate needs at least two levels; "
                             f"found {len(levels)}{': ' + repr(levels[0]) if levels else ''}")
                continue
            if len(levels) > 0.5 * len(keys):
                problems.add(f"column '{c}' (plan: {where}): declared categorical but has {len(levels)} levels for "
                             f"{len(keys)} participants; a category needs several participants per level "
                             "(type: continuous, or a plain name, enters it as one term)")
                continue
        if ref is not None:
            references[c] = ref
        for lv in levels:
            if lv == ref:
                continue
            v = np.array([np.nan if k is None else float(k == lv) for k in keys])
            names.append(f"{c}={lv}")
            cols.append(v)
            sources.append(c)
    matrix = np.column_stack(cols) if cols else np.empty((len(wide), 0))
    return CovariateData(tuple(names), matrix, tuple(sources), references)


def few_integer_codes(values: np.ndarray, most: int = 12) -> list[str] | None:
    """The levels of a numeric column that looks like codes (2 < levels <= ``most``, all whole
    numbers, not 0/1): a site or stratum number entered as one linear term by mistake."""
    seen = values[~np.isnan(values)]
    if not seen.size or not np.all(seen == np.round(seen)):
        return None
    levels = np.unique(seen)
    if not 2 < len(levels) <= most:
        return None
    return [k for k in (value_key(v) for v in levels) if k is not None]


def undeclared_code_covariates(plan: Plan, trial) -> list[str]:
    """Warnings for covariates given by plain name that hold few integer codes (e.g. site 1-5):
    they enter the model as one linear term, which is rarely what a stratification factor means."""
    out = []
    cov = trial.covariates
    for i, entry in enumerate(plan.covariates):
        if not isinstance(entry, str) or entry not in cov.names:
            continue
        levels = few_integer_codes(cov.matrix[:, cov.names.index(entry)])
        if levels is None:
            continue
        shown = ", ".join(levels[:6]) + (f" and {len(levels) - 6} more" if len(levels) > 6 else "")
        out.append(f"covariates[{i}]: '{entry}' holds {len(levels)} whole-number codes ({shown}) and enters every model "
                   f"as one linear term; if they are categories (site, stratum), write {{column: {entry}, type: categorical}}, "
                   f"or {{column: {entry}, type: continuous}} to keep it linear and silence this warning")
    return out
