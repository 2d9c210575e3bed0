"""The fast paths of data preparation give what the per-cell rules give: integer ids keyed through
Arrow, missing codes found in integer columns by number, moderator levels from one factorize,
code-like numbers from the column's ends; and the columns shared with the caller's DataFrame
(nothing dropped, copy-on-write) leave the caller's frame and the trial independent."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from effectmod.data.code_like import CODE_CANDIDATES, suspicious_codes
from effectmod.data.prepare import prepare_trial
from effectmod.data.values import integer_code_hits, integer_keys, keys_of, value_key
from effectmod.errors import DataError
from effectmod.plan.load import load_plan
from test_bad_inputs import BASE_PLAN, N, plan_dict, trial_frame


@pytest.mark.parametrize("values", [
    np.array([0, 1, -1, 42, -9, 10**18, np.iinfo(np.int64).min, np.iinfo(np.int64).max], dtype=np.int64),
    np.array([0, 7, 255], dtype=np.uint8),
    np.array([0, np.iinfo(np.uint64).max], dtype=np.uint64),
    np.array([-128, 5, 127], dtype=np.int8),
])
def test_integer_keys_are_the_value_keys(values):
    keys = integer_keys(values)
    assert keys.dtype == object
    assert list(keys) == [value_key(v) for v in values]
    assert all(type(k) is str for k in keys)


@pytest.mark.parametrize("codes", [{"NA"}, {"-99", "5"}, {"300", "3", "true"}, {"5.5", "x", ""}, {"99999999999999999999999"}])
@pytest.mark.parametrize("dtype", ["int64", "uint8", "int32"])
def test_integer_code_hits_are_the_cells_whose_key_is_a_code(codes, dtype):
    series = pd.Series(np.array([0, 3, 5, 99, 3, 120], dtype=dtype))
    expected = np.isin(keys_of(series, tokens="text"), list(codes))
    np.testing.assert_array_equal(integer_code_hits(series, codes), expected)
    assert integer_code_hits(pd.Series([1.0, 2.0]), codes) is None
    assert integer_code_hits(pd.Series([1, None], dtype="Int64"), codes) is None


def _slow_suspicious_codes(values, bounds):
    seen = values[~np.isnan(values)]
    out = []
    for c in CODE_CANDIDATES:
        hit = seen == c
        if not hit.any():
            continue
        rest = seen[~hit]
        if bounds is not None:
            if not bounds[0] <= c <= bounds[1]:
                out.append(c)
        elif len(rest) >= 5 and (c < rest.min() or c > rest.max()) and (c <= -7 or c >= 77):
            out.append(c)
    return out


def test_suspicious_codes_are_those_of_the_rule_code_by_code():
    rng = np.random.default_rng(5)
    pool = np.array([*CODE_CANDIDATES, 0, 1, 2, 50, 100, -20, np.nan, np.inf, -np.inf])
    for _ in range(2000):
        k = int(rng.integers(0, 12))
        values = rng.choice(pool, size=k) if rng.random() < 0.6 else np.concatenate(
            [np.round(rng.normal(20, 30, k)), rng.choice(pool, size=int(rng.integers(0, 4)))])
        for bounds in (None, (0, 100), (-10, 10), (-1, 99)):
            assert suspicious_codes(values, bounds) == _slow_suspicious_codes(values, bounds), (values, bounds)


def _float_frame() -> pd.DataFrame:
    frame = trial_frame()
    for col in ("pain_0", "pain_12", "pain_52", "frebaq", "age"):
        frame[col] = frame[col].astype(float)
    return frame


def test_every_row_kept_leaves_the_callers_frame_and_the_trial_independent():
    frame = _float_frame()
    frame.attrs["source"] = ["the caller's"]
    before = frame.copy(deep=True)
    trial = prepare_trial(frame, load_plan(plan_dict()))
    assert trial.n == N
    assert frame.attrs == {"source": ["the caller's"]}       # the row names are the trial's own
    follow = trial.outcomes["pain"].followups["12"].copy()
    frebaq = trial.moderators["frebaq"].values.copy()
    table1 = trial.baseline_frame.copy(deep=True)
    # the trial's frame written to: the caller's frame stays as it was
    trial.baseline_frame.loc[0, "frebaq"] = -1.0
    trial.baseline_frame.iloc[1, 1] = -2.0
    pd.testing.assert_frame_equal(frame, before)
    # the caller's frame written to afterwards: the trial stays as it was
    frame.loc[0, "pain_12"] = 1000.0
    frame.iloc[2, frame.columns.get_loc("frebaq")] = 1000.0
    frame["pain_52"] = np.nan
    np.testing.assert_array_equal(trial.outcomes["pain"].followups["12"], follow)
    np.testing.assert_array_equal(trial.moderators["frebaq"].values, frebaq)
    assert table1.iloc[2:].equals(trial.baseline_frame.iloc[2:])


def test_dropped_rows_and_missing_codes_leave_the_callers_frame_alone():
    frame = _float_frame()
    frame.loc[3, "arm"] = "other"
    frame.loc[4, "pain_12"] = -99.0
    before = frame.copy(deep=True)
    trial = prepare_trial(frame, load_plan(plan_dict(data={**BASE_PLAN["data"], "missing_codes": [-99]})))
    assert trial.n == N - 1
    assert np.isnan(trial.outcomes["pain"].followups["12"][3])        # row 5 of the file, the fourth kept
    pd.testing.assert_frame_equal(frame, before)


def test_integer_ids_are_counted_repeated_and_coded_as_text_ids_are():
    text = trial_frame()
    numbers = trial_frame()
    numbers["pid"] = np.arange(1, N + 1) * 10
    text["pid"] = [str(i) for i in numbers["pid"]]
    for frame in (text, numbers):
        frame.loc[5, "pid"] = frame.loc[6, "pid"]
    messages = []
    for frame in (text, numbers):
        with pytest.raises(DataError) as info:
            prepare_trial(frame, load_plan(plan_dict()))
        messages.append(info.value.problems)
    assert messages[0] == messages[1]
    assert "ids occurring more than once: '70'" in messages[1][0]

    numbers = trial_frame()
    numbers["pid"] = np.arange(N) - 3          # -3 .. N-4, with -1 a missing code
    trial = prepare_trial(numbers, load_plan(plan_dict(data={**BASE_PLAN["data"], "missing_codes": [-1]})))
    assert trial.flow.participants_in_file == N - 1
    assert trial.flow.excluded == [("participant id (pid) missing", 1)]
    assert list(trial.ids[:4]) == ["-3", "-2", "0", "1"]


def test_categorical_levels_and_codes_with_missing_cells_and_na_words():
    frame = trial_frame()
    frame["site"] = ["b", "a", "NA", "c", None] * (N // 5)
    raw = plan_dict(data={**BASE_PLAN["data"], "missing_codes": []},
                    moderators=[{"name": "site", "column": "site", "type": "categorical", "reference": "c"}])
    trial = prepare_trial(frame, load_plan(raw))
    site = trial.moderators["site"]
    assert site.levels == ("c", "NA", "a", "b")
    np.testing.assert_array_equal(site.values[:5], [3.0, 2.0, 1.0, 0.0, np.nan])
    assert any("'NA' (8 rows) read as a level" in w for w in trial.flow.warnings)


def test_the_frame_digest_hashed_beside_the_preparation_is_the_pandas_hash():
    import hashlib

    import effectmod as em
    from effectmod.data.frame_hash import frame_hash, frame_hash_later

    frame = _float_frame()
    expected = hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()).hexdigest()
    assert frame_hash(frame) == frame_hash_later(frame)() == expected
    assert em.analyze(frame, plan_dict()).inputs["data"] == {"source": "DataFrame", "sha256": expected}
    odd = pd.DataFrame({"a": [1.0, 2.0], "b": [{"x": 1}, {"y": 2}]})
    with pytest.raises(TypeError):
        frame_hash(odd)
    with pytest.raises(TypeError):
        frame_hash_later(odd)()
