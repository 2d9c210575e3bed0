"""Table 1 reads categories with the analysis's rules for missing values: an empty cell or 'NA'
is missing (the 'missing' line), never a level of its own, and 1, 1.0 and "1" are one level."""
import numpy as np
import pandas as pd

import effectmod as em
from effectmod.report.tables import table1


def _trial(n=60, seed=3):
    rng = np.random.default_rng(seed)
    grade = rng.choice(["1", "2", "3"], n).astype(object)
    grade[:4] = ""                      # empty cells, as a CSV read as text gives them
    grade[4:6] = "NA"
    site = rng.choice([1.0, 2.0], n)    # codes held as floats (as SPSS files give them)
    return pd.DataFrame({"pid": np.arange(n), "arm": np.where(np.arange(n) % 2, "a", "b"), "grade": grade,
                         "site": site, "y0": rng.normal(size=n), "y1": rng.normal(size=n)})


def test_missing_cells_are_counted_not_shown_as_a_level():
    frame = _trial()
    plan = {"data": {"id": "pid", "treatment": "arm", "treated": "a", "control": "b"},
            "outcomes": [{"name": "y", "type": "continuous", "baseline": "y0", "followups": {"1": "y1"}}],
            "moderators": [{"name": "grade", "column": "grade", "type": "categorical"},
                           {"name": "site", "column": "site", "type": "binary"}]}
    t = table1(em.analyze(frame, plan))
    rows = [r.strip() for r in t["Characteristic"]]
    grade = rows[rows.index("grade, n (%)") + 1: rows.index("grade, n (%)") + 5]
    assert grade == ["1", "2", "3", "missing, n"]
    treated, control = t.columns[1], t.columns[2]
    missing = t[t["Characteristic"].str.strip() == "missing, n"].iloc[0]
    is_a = frame["arm"] == "a"
    assert int(missing[treated]) == int((frame["grade"][is_a].isin(["", "NA"])).sum())
    assert int(missing[control]) == int((frame["grade"][~is_a].isin(["", "NA"])).sum())
    # percentages among those observed: the three levels add to 100 in each arm
    shares = [float(t.loc[t["Characteristic"].str.strip() == lv, treated].iloc[0].split("(")[1].rstrip(")")) for lv in "123"]
    assert abs(sum(shares) - 100) < 0.2
    site = rows[rows.index("site, n (%)") + 1: rows.index("site, n (%)") + 3]
    assert site == ["1", "2"]           # not "1.0" and "2.0"
