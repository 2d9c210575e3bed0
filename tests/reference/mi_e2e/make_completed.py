"""Export the m completed datasets of effectmod's imputed run of plan.yaml on data.csv.

Run from this folder:  python make_completed.py   (then Rscript ref.R).
Writes completed_01.csv ... completed_NN.csv: one row per participant, the plan's columns,
nothing missing. The responder outcome is not a column: it is derived from bdi (passive
imputation), in effectmod as in ref.R.
"""
from pathlib import Path

from effectmod.data.load import read_data
from effectmod.data.prepare import prepare_trial
from effectmod.inference.imputation import completed_datasets
from effectmod.plan.load import load_plan

here = Path(__file__).parent
plan = load_plan(here / "plan.yaml")
trial = prepare_trial(read_data(here / "data.csv"), plan)
for i, frame in enumerate(completed_datasets(trial, plan), start=1):
    frame.to_csv(here / f"completed_{i:02d}.csv", index=False)
