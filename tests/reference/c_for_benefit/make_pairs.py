"""Write pairs.csv: treated and control participants of simulated trials matched 1:1 on predicted
benefit by effectmod (effectmod.predictive.benefit.match_pairs), for ref.R to compute
Hmisc::rcorr.cens on the very same pairs. Run inside this folder: python make_pairs.py
"""
import numpy as np
import pandas as pd

from effectmod.predictive.benefit import match_pairs

rng = np.random.default_rng(20240518)
frames = []
for case, n in (("continuous", 301), ("binary", 400), ("binary_tied", 250)):
    x = rng.normal(size=n)
    treat = (rng.random(n) < 0.5).astype(float)
    benefit = 0.5 * x
    if case == "continuous":
        y = x + treat * benefit + rng.normal(size=n)
    else:
        p = 1 / (1 + np.exp(-(-0.3 + 0.8 * x + treat * benefit)))
        y = (rng.random(n) < p).astype(float)
    if case == "binary_tied":
        benefit = np.round(benefit, 1)     # ties in predicted benefit
    pairs = match_pairs(benefit, y, treat)
    frames.append(pd.DataFrame({"case": case, "treated": pairs.treated, "control": pairs.control,
                                "predicted": pairs.predicted, "observed": pairs.observed}))
pd.concat(frames).to_csv("pairs.csv", index=False, float_format="%.17g")
