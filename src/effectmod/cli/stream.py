"""``effectmod analyze DATA --plan P --stream``: the streamed analysis of a Parquet file or directory."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def run_stream(args, out: Path, console, started: float) -> int:
    from ..plan.load import load_plan
    from ..stream.run import analyze_stream, write_stream
    from ..writing import output_problem
    plan = load_plan(args.plan)
    if args.seed is not None:
        plan = plan.model_copy(update={"analysis": plan.analysis.model_copy(update={"seed": args.seed})})
    if getattr(args, "pdf", False):
        from ..errors import UsageError
        raise UsageError("--pdf: the streamed analysis (--stream) writes no report")
    client = _client(args.scheduler) if getattr(args, "scheduler", None) else None
    try:
        result = analyze_stream(args.data, plan, client=client)
    finally:
        if client is not None:
            client.close()
    try:
        result["inputs"] = {"data": str(Path(args.data).name), "plan": str(Path(args.plan).name)}
        write_stream(result, out, force=getattr(args, "force", False), inputs=(args.data, args.plan))
    except OSError as exc:
        raise output_problem(out, exc) from None
    if getattr(args, "json", False):
        json.dump({"results": json.loads(result["table"].to_json(orient="records", double_precision=15)), "flow": result["flow"]},
                  sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        flow = result["flow"]
        console.print(f"Streamed {flow['rows_in_file']:,} rows from {flow['files']} file(s); "
                      f"{flow['participants_in_arms']:,} participants in the two arms; {len(result['table'])} result rows.")
        console.print(f"Wrote {out}/ (results.csv, average_effects.csv, stream.json) in {time.time() - started:.1f} s.")
    return 0


def _client(address: str):
    """A client of the Dask scheduler at ``address`` (UsageError in one line if there is none)."""
    from ..errors import UsageError
    from .power import _scheduler_problem
    problem = _scheduler_problem(address)
    if problem:
        raise UsageError(f"--scheduler {address}: {problem}")
    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError("--scheduler needs dask.distributed: pip install 'effectmod[dask]'") from None
    try:
        return Client(address, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"--scheduler {address}: no Dask scheduler answered there "
                         f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                         "check the address and that the scheduler runs") from None
