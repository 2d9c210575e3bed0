"""The command line's arguments: one subparser per command (``effectmod power``'s own arguments
are in ``cli.power``). Standard library only: ``effectmod --help`` loads nothing numerical."""
from __future__ import annotations

import argparse

from .._version import __version__
from .power import add_power_arguments
from .simulate_cluster import add_simulate_cluster_arguments


def build_parser():
    p = argparse.ArgumentParser(prog="effectmod", description="Treatment-effect-modifier analysis of randomized trials.")
    p.add_argument("--version", action="version", version=f"effectmod {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="simulate the RESOLVE-like trial, analyse it and write the report")
    demo.add_argument("--out", default="effectmod-demo", help="output folder (default: effectmod-demo)")
    demo.add_argument("--force", action="store_true", help="replace an earlier output folder (one with manifest.json)")
    _common_output(demo)

    an = sub.add_parser("analyze", help="run a plan on a data file")
    an.add_argument("data", help="data file: csv, tsv, parquet, xlsx, sav, dta, sas7bdat")
    an.add_argument("--plan", required=True, help="analysis plan (YAML)")
    an.add_argument("--out", default="effectmod-results", help="output folder (default: effectmod-results)")
    an.add_argument("--force", action="store_true",
                    help="replace an earlier output folder (one with manifest.json and no input files)")
    an.add_argument("--seed", type=int, default=None, help="override the plan's seed")
    an.add_argument("--pdf", action="store_true", help="also print report.html to report.pdf (needs Chromium)")
    an.add_argument("--stream", action="store_true",
                    help="read a Parquet file or directory by row groups (data larger than memory; linear models, "
                         "classical SEs; writes results.csv, average_effects.csv and stream.json)")
    an.add_argument("--scheduler", metavar="ADDRESS", default=None,
                    help="with --stream: read the Parquet files on a Dask distributed cluster, a file per task, "
                         "e.g. tcp://10.0.0.5:8786 (the workers must see the data path)")
    _common_output(an)

    si = sub.add_parser("simulate", help="write a synthetic trial, its plan and the true parameters")
    si.add_argument("--out", required=True, help="data file to write (.csv or .parquet)")
    si.add_argument("--n", type=int, default=None, help="participants (default 276)")
    si.add_argument("--seed", type=int, default=2024)
    si.add_argument("--scenario", default="resolve",
                    help="resolve (default), null, epilepsy (a count outcome), status (an ordinal outcome), "
                         "survival (a time-to-event outcome) or cluster")
    si.add_argument("--dropout", default=None, help="mcar (default) or mar")
    si.add_argument("--force", action="store_true",
                    help="replace existing files (the data file and the .plan.yaml and .truth.json beside it)")
    add_simulate_cluster_arguments(si)

    va = sub.add_parser("validate", help="check data against a plan without fitting")
    va.add_argument("data")
    va.add_argument("--plan", required=True)

    ini = sub.add_parser("init", help="write a commented draft plan for a data file")
    ini.add_argument("data")
    ini.add_argument("--out", default=None, help="plan file to write (default: print to stdout)")
    ini.add_argument("--force", action="store_true", help="replace an existing plan file")

    sap = sub.add_parser("sap", help="write the effect-modifier section of a statistical analysis plan (no data needed)")
    sap.add_argument("plan", help="analysis plan (YAML)")
    sap.add_argument("--out", required=True, help="file to write: .md (Markdown) or .docx (Word)")
    sap.add_argument("--force", action="store_true", help="replace an existing file")

    rep = sub.add_parser("report", help="re-render an output folder's report (e.g. to PDF)")
    rep.add_argument("folder")
    rep.add_argument("--pdf", action="store_true", help="print report.html to report.pdf with headless Chromium")

    pw = sub.add_parser("power", help="simulation-based power for interaction effects")
    add_power_arguments(pw)
    return p


def _common_output(p):
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true", help="print the results as JSON to stdout")
