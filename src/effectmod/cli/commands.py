"""What each command does, between the argument parser and the library."""
from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..errors import UsageError
from ..writing import check_new_files, check_output_folder, output_problem, write_output_file
from .progress import LazyProgress


def _console(args):
    from rich.console import Console
    return Console(stderr=False, quiet=getattr(args, "quiet", False) or getattr(args, "json", False), highlight=False)


def _inputs(args) -> tuple:
    """The input files of a command: an output folder that holds one is never replaced."""
    return tuple(p for p in (getattr(args, "data", None), getattr(args, "plan", None)) if p)


def _finish(results, out: Path, args, console, started: float) -> int:
    from .console import escaped, print_summary
    _print_warnings(results.trial.flow.warnings + results.plan.unset_better())
    try:
        results.write(out, force=getattr(args, "force", False), pdf=getattr(args, "pdf", False), inputs=_inputs(args))
    except OSError as exc:
        raise output_problem(out, exc) from None
    if getattr(args, "json", False):
        json.dump(results.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_summary(console, results)
        pdf = ", report.pdf" if getattr(args, "pdf", False) else ""
        console.print(f"\nWrote [bold]{escaped(str(out))}[/bold]/ (report.html{pdf}, results.csv, results.json, tables.docx, "
                      f"figures/, manifest.json) in {time.time() - started:.1f} s.")
    return 0


def _print_warnings(lines) -> None:
    # on stderr, so that --json output stays machine-readable
    from .console import printable
    for line in lines:
        print(f"effectmod: warning: {printable(line)}", file=sys.stderr)


def run_analyze(args) -> int:
    from ..analysis import analyze
    from ..counts import checked_seed
    started = time.time()
    out = Path(args.out)
    if args.seed is not None:
        checked_seed(args.seed, "--seed")
    if getattr(args, "scheduler", None) and not getattr(args, "stream", False):
        raise UsageError("--scheduler: only with --stream (the streamed analysis reads the files on the cluster)")
    check_output_folder(out, args.force, _inputs(args))
    console = _console(args)
    if getattr(args, "stream", False):
        from .stream import run_stream
        return run_stream(args, out, console, started)
    with LazyProgress(console) as progress:
        results = analyze(args.data, args.plan, seed=args.seed, progress=progress.update)
    return _finish(results, out, args, console, started)


def run_demo(args) -> int:

    from ..analysis import analyze
    from ..plan import validate_plan
    from ..simulation import simulate, simulation_files
    started = time.time()
    out = Path(args.out)
    check_output_folder(out, args.force)
    console = _console(args)
    trial = simulate("resolve", n=276, seed=2024)
    plan = validate_plan(trial.plan, origin="built-in demo plan")
    with LazyProgress(console) as progress:
        results = analyze(trial.data, plan, progress=progress.update)
    source = "simulated: effectmod simulate --scenario resolve --n 276 --seed 2024"
    files = {f"demo-data/{name}": body for name, body in simulation_files(trial, "resolve.csv").items()}
    results = replace(results, inputs={**results.inputs, "data": {**results.inputs["data"], "source": source}},
                      attachments=files)
    return _finish(results, out, args, console, started)


def run_simulate(args) -> int:
    from ..counts import checked_seed
    from .console import printable
    from .simulate_cluster import cluster_problems, simulate_cluster
    checked_seed(args.seed, "--seed")
    problems = cluster_problems(args)
    if problems:
        raise UsageError(problems)
    n = 276 if args.n is None else args.n
    if args.scenario != "cluster" and n < 20:
        raise UsageError(f"--n {n}: a simulated trial needs at least 20 participants")
    from ..simulation import simulate, simulation_paths, write_simulation
    # before simulating: refuse to replace the data file or the plan and truth beside it
    check_new_files(simulation_paths(args.out), args.force)
    overrides = {"dropout": args.dropout} if args.dropout else {}
    try:
        trial = (simulate_cluster(args) if args.scenario == "cluster"
                 else simulate(args.scenario, n=n, seed=args.seed, **overrides))
    except KeyError:
        from ..simulation import SCENARIOS
        from ..simulation.counts import COUNT_SCENARIOS
        raise UsageError(f"--scenario {args.scenario}: unknown; choose one of "
                         f"{', '.join([*SCENARIOS, *COUNT_SCENARIOS, 'survival', 'cluster'])}") from None
    try:
        paths = write_simulation(trial, args.out, force=args.force)
    except OSError as exc:
        raise output_problem(Path(args.out), exc, "the simulated data") from None
    for p in paths:
        print(f"wrote {printable(str(p))}")
    return 0


def run_validate(args) -> int:
    from ..data.inputs import load_inputs
    from ..models.fit import build_design, estimability_problem
    from ..models.spec import model_specs
    from .console import printable

    def say(text: str) -> None:     # values from the data and plan, made safe for the terminal
        print(printable(text))
    plan, _, trial = load_inputs(args.data, args.plan)
    from ..report.display import display_flow
    flow = display_flow(plan, trial.flow)      # the arms' display names (data.arm_labels)
    say(f"{args.data}: {flow.rows_in_file} rows; {flow.randomised} participants in {flow.analysed_arms} "
        f"({flow.arm_counts()})")
    for reason, count in flow.excluded:
        say(f"  excluded: {count} ({reason})")
    if flow.clusters is not None:
        say(f"  clusters: {flow.clusters['total']} ({flow.arm_values['treated']} arm {flow.clusters['treated']}, "
            f"{flow.arm_values['control']} arm {flow.clusters['control']})")
    from ..data.coding import undeclared_code_covariates
    for w in flow.missing_words:
        say(f"  missing: {w}")
    for w in flow.warnings + undeclared_code_covariates(plan, trial) + plan.unset_better():
        say(f"  warning: {w}")
    notes = 0
    specs = model_specs(plan, trial)
    for spec in specs:
        design = build_design(spec, trial, plan)
        problem = estimability_problem(spec, design, trial)
        where = f"{spec.kind} {spec.outcome}" + (f" at {spec.timepoint}" if spec.timepoint else "") + f" x {spec.moderator}"
        if problem:
            notes += 1
            say(f"  not estimable: {where}: {problem}")
    print(f"plan and data agree; {len(specs)} model{'' if len(specs) == 1 else 's'} to fit" + (f", {notes} not estimable" if notes else ""))
    return 0


def run_init(args) -> int:
    from ..plan.draft import draft_with_notes
    from .console import printable
    text, notes = draft_with_notes(args.data)
    _print_warnings(notes)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    # atomic: never a half-written plan beside the real one; without --force never over a file
    write_output_file(out, lambda tmp: tmp.write_text(text, encoding="utf-8"), args.force, "the plan")
    print(printable(f"wrote {out}: a draft plan; check every line marked CONFIRM, then run "
                    f"effectmod analyze {args.data} --plan {out}"))
    return 0


def run_sap(args) -> int:
    from ..plan import load_plan
    from ..report.sap import SAP_FORMATS, write_sap
    from .console import printable
    out = Path(args.out)
    if out.suffix.lower() not in SAP_FORMATS:
        raise UsageError(f"--out {out}: unknown format '{out.suffix}'; give a file ending in .md (Markdown) or .docx (Word)")
    plan = load_plan(args.plan)
    write_sap(plan, out, force=args.force)
    post_hoc = sum(not m.prespecified for m in plan.moderators)
    k = len(plan.moderators)
    print(printable(f"wrote {out}: the effect-modifier section of the statistical analysis plan "
                    f"({k} moderator" + ("" if k == 1 else "s") + (f", {post_hoc} post hoc" if post_hoc else "") + ")"))
    return 0


def run_report(args) -> int:
    from ..report.pdf import html_to_pdf
    folder = Path(args.folder)
    html = folder / "report.html"
    if not html.is_file():
        raise UsageError(f"{folder}: no report.html here; give an effectmod output folder")
    if not args.pdf:
        raise UsageError("effectmod report: nothing to do; pass --pdf to print report.html to report.pdf")
    html_to_pdf(html, folder / "report.pdf")
    print(f"wrote {folder / 'report.pdf'}")
    return 0


def run_power(args) -> int:
    from .power import run_power as _run
    return _run(args)
