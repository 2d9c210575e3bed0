"""The command line's entry point: parse arguments, run the command, set the exit code.

Exit codes: 0 success; 2 bad input (one line per problem on stderr, no traceback);
1 an internal error (a bug); 130 interrupted.

Start-up is kept light: this module imports only ``sys`` at the top, and each
command imports what it needs (pandas, scipy, ...) inside ``main``, where Ctrl-C and errors are
handled; `effectmod --help`, `--version` and argument errors never load the numerical stack.
"""
from __future__ import annotations

import sys

INTERRUPTED = "effectmod: interrupted; no output folder was left behind"


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl-C before a command started (while Python loads the libraries) or after it ended
        print(INTERRUPTED, file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    from .parser import build_parser  # inside main: Ctrl-C while importing argparse is handled
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    restore = _terminate_like_interrupt()
    try:
        from ..errors import EffectmodError
        from . import commands
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
    except MemoryError:
        print(f"effectmod: {_out_of_memory(args)}", file=sys.stderr)
        return 2
    except Exception as error:
        import os
        if os.environ.get("EFFECTMOD_DEBUG"):
            import traceback
            traceback.print_exc()
        else:
            from .console import printable
            print(f"effectmod: internal error ({type(error).__name__}: {printable(error)}). This is a bug in effectmod; "
                  "rerun with EFFECTMOD_DEBUG=1 for the traceback and report it.", file=sys.stderr)
        return 1
    finally:
        restore()


def _out_of_memory(args) -> str:
    """What to do when a run has exhausted the memory: it is the input's size, not a bug."""
    if getattr(args, "data", None):
        from pathlib import Path

        from ..data.load import too_large_for_memory
        return too_large_for_memory(Path(args.data))
    if args.command == "power":
        return ("ran out of memory simulating the trials; give smaller sample sizes (--n) or a smaller pilot "
                "dataset, or run on a machine with more memory")
    return "ran out of memory; close other programs or run on a machine with more memory"


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
