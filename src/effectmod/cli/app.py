"""The command line: parse arguments, call the library, write files, set the exit code.

Exit codes: 0 success; 2 bad input (one line per problem on stderr, no traceback);
1 an internal error (a bug); 130 interrupted.

Start-up is kept light: this module imports only the standard library at the top, and each
command imports what it needs (pandas, scipy, ...) inside ``main``, where Ctrl-C and errors are
handled; `effectmod --help`, `--version` and argument errors never load the numerical stack.
"""
from __future__ import annotations

import sys

INTERRUPTED = "effectmod: interrupted; no output folder was left behind"


def build_parser():
    import argparse
    p = argparse.ArgumentParser(prog="effectmod", description="Treatment-effect-modifier analysis of randomized trials.")
    p.add_argument("--version", action="version", version=f"effectmod {_version()}")
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
    _common_output(an)

    si = sub.add_parser("simulate", help="write a synthetic trial, its plan and the true parameters")
    si.add_argument("--out", required=True, help="data file to write (.csv or .parquet)")
    si.add_argument("--n", type=int, default=276, help="participants (default 276)")
    si.add_argument("--seed", type=int, default=2024)
    si.add_argument("--scenario", default="resolve", help="resolve (default) or null")
    si.add_argument("--dropout", default=None, help="mcar (default) or mar")
    si.add_argument("--force", action="store_true",
                    help="replace existing files (the data file and the .plan.yaml and .truth.json beside it)")

    va = sub.add_parser("validate", help="check data against a plan without fitting")
    va.add_argument("data")
    va.add_argument("--plan", required=True)

    ini = sub.add_parser("init", help="write a commented draft plan for a data file")
    ini.add_argument("data")
    ini.add_argument("--out", default=None, help="plan file to write (default: print to stdout)")
    ini.add_argument("--force", action="store_true", help="replace an existing plan file")

    rep = sub.add_parser("report", help="re-render an output folder's report (e.g. to PDF)")
    rep.add_argument("folder")
    rep.add_argument("--pdf", action="store_true", help="print report.html to report.pdf with headless Chromium")

    pw = sub.add_parser("power", help="simulation-based power for interaction effects")
    from .power import add_power_arguments
    add_power_arguments(pw)
    return p


def _common_output(p):
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true", help="print the results as JSON to stdout")


def _version() -> str:
    from .._version import __version__
    return __version__


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl-C before a command started (while Python loads the libraries) or after it ended
        print(INTERRUPTED, file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    restore = _terminate_like_interrupt()
    try:
        from . import commands
        from ..errors import EffectmodError
        try:
            return getattr(commands, f"run_{args.command}")(args)
        except EffectmodError as exc:
            from .console import printable
            for line in exc.problems:
                print(f"effectmod: {printable(line)}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:
        import os
        if os.environ.get("EFFECTMOD_DEBUG"):
            import traceback
            traceback.print_exc()
        else:
            from .console import printable
            exc = sys.exc_info()[1]
            print(f"effectmod: internal error ({type(exc).__name__}: {printable(exc)}). This is a bug in effectmod; "
                  "rerun with EFFECTMOD_DEBUG=1 for the traceback and report it.", file=sys.stderr)
        return 1
    finally:
        restore()


def _terminate_like_interrupt():
    """Treat SIGTERM (a job scheduler stopping the run) like Ctrl-C: clean up, exit 130.
    Returns the function that puts the previous handler back."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
