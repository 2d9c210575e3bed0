"""Plausible but hostile inputs (docs/bad-inputs.md, "Hostile inputs"): each through the real
command line, ending in exit 2 with one line per problem naming the key, column, option or path.

They used to end in exit 1 (an internal error), or after minutes and gigabytes: unhashable YAML
keys, YAML alias bombs, negative seeds, unbounded or non-integer counts, confidence levels that
make an interval meaningless, infinite values, memory exhaustion, over-long output names, and
NaN, infinite or oversized `effectmod power` grids.
"""
from __future__ import annotations

import errno
import re
import socket
from pathlib import Path

import numpy as np
import pytest
import yaml

from effectmod.cli import main
from test_bad_inputs import Case, plan_dict, trial_frame, write

LONG_NAME = "x" * 300          # over the 255 bytes a file name may have on every common file system


def plan_text(extra: str = "", **sections) -> str:
    """The catalogue's plan as YAML text, with raw YAML appended (for what yaml.safe_dump cannot write)."""
    return yaml.safe_dump(plan_dict(**sections), sort_keys=False) + extra


def alias_bomb(levels: int = 9) -> str:
    """'Billion laughs': each level a list of nine aliases of the level below, 9**9 strings when expanded."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _parquet(tmp: Path, frame) -> list[str]:
    frame.to_parquet(tmp / "trial.parquet", index=False)
    return write(tmp, None, data_name="trial.parquet")


def _with_infinities(column: str):
    frame = trial_frame()
    frame[column] = frame[column].astype(float)
    frame.loc[2, column] = np.inf
    frame.loc[5, column] = -np.inf
    return frame


def _out(args: list[str], out: Path) -> list[str]:
    return args[:args.index("--out") + 1] + [str(out)] + args[args.index("--out") + 2:]


CASES: dict[str, Case] = {
    # ------------------------------------------------------------------ the plan file
    "plan key a list": Case(lambda t: write(t, trial_frame(), plan_text("analysis:\n  ? [a, b]\n  : 1\n", analysis=None)), 2,
                            ("plan.yaml: at line", "a key is a list", "plan keys are names")),
    "plan key a mapping": Case(lambda t: write(t, trial_frame(), plan_text("? {a: 1}\n: 1\n")), 2,
                               ("plan.yaml: at line", "a key is a mapping")),
    "plan alias bomb": Case(lambda t: write(t, trial_frame(), alias_bomb() + plan_text(covariates=None) + "covariates: *l8\n"), 2,
                            ("plan.yaml: its aliases (*name) expand it to more than 100,000 values",)),
    "plan alias to itself": Case(lambda t: write(t, trial_frame(), plan_text("analysis: &a {seed: *a}\n", analysis=None)), 2,
                                 ("plan.yaml: an alias refers to the value that contains it",)),
    "plan file of megabytes": Case(lambda t: write(t, trial_frame(), plan_text(f"# {'x' * (1 << 20)}\n")), 2,
                                   ("plan.yaml: 1,04", "bytes is far more than a plan (limit 1,048,576 bytes)")),
    "plan bootstrap true": Case(lambda t: write(t, trial_frame(), plan_text("analysis: {bootstrap: true}\n", analysis=None)), 2,
                                ("analysis.bootstrap: expected a whole number, got true (YAML reads unquoted",)),
    "plan bootstrap 1.5": Case(lambda t: write(t, trial_frame(), plan_dict(analysis={"bootstrap": 1.5})), 2,
                               ("analysis.bootstrap: expected a whole number, got 1.5",)),
    "plan imputations .nan": Case(lambda t: write(t, trial_frame(), plan_text("analysis: {imputations: .nan}\n", analysis=None)), 2,
                                  ("analysis.imputations: expected a whole number, got nan",)),
    "plan permutations .inf": Case(lambda t: write(t, trial_frame(), plan_text("analysis: {permutations: .inf}\n", analysis=None)), 2,
                                   ("analysis.permutations: expected a whole number, got inf",)),
    "plan bootstrap huge": Case(lambda t: write(t, trial_frame(), plan_dict(analysis={"bootstrap": 10**9})), 2,
                                ("analysis.bootstrap: at most 100,000, got 1,000,000,000",)),
    "plan imputations huge": Case(lambda t: write(t, trial_frame(), plan_dict(analysis={"imputations": 5000})), 2,
                                  ("analysis.imputations: at most 1,000, got 5,000",)),
    "plan permutations huge": Case(lambda t: write(t, trial_frame(), plan_dict(analysis={"permutations": 10**7})), 2,
                                   ("analysis.permutations: at most 1,000,000, got 10,000,000",)),
    "plan seed quoted": Case(lambda t: write(t, trial_frame(), plan_dict(analysis={"seed": "42"})), 2,
                             ("analysis.seed: expected a whole number, got the text '42'",)),
    "plan seed negative": Case(lambda t: write(t, trial_frame(), plan_dict(analysis={"seed": -5})), 2,
                               ("analysis.seed: seeds are whole numbers, 0 or more (numpy takes no negative seeds); got -5",)),
    "plan ci_level next to 1": Case(lambda t: write(t, trial_frame(), plan_dict(analysis={"ci_level": 1 - 1e-12})), 2,
                                    ("analysis.ci_level: 0.999999999999 is not a usable confidence level; give one from 0.5 to 0.9999",)),
    "plan ci_level next to 0": Case(lambda t: write(t, trial_frame(), plan_dict(analysis={"ci_level": 1e-9})), 2,
                                    ("analysis.ci_level: 1e-09 is not a usable confidence level",)),
    # ------------------------------------------------------------------ the data
    "infinite values in parquet": Case(lambda t: _parquet(t, _with_infinities("frebaq")), 2,
                                       ("column 'frebaq' (plan: moderators[0].column): infinite values 'inf' (row 3), '-inf' (row 6); "
                                        "expected finite numbers",)),
    "infinite covariate in parquet": Case(lambda t: _parquet(t, _with_infinities("age")), 2,
                                          ("column 'age' (plan: covariates[0]): infinite values 'inf' (row 3), '-inf' (row 6)",)),
    "infinite outcome in parquet": Case(lambda t: _parquet(t, _with_infinities("pain_12")), 2,
                                        ("column 'pain_12' (plan: outcomes[0].followups['12']): infinite values 'inf' (row 3)",)),
    "inf text in a csv covariate": Case(lambda t: write(t, trial_frame().astype({"age": object}).assign(
        age=lambda f: f.age.where(f.index != 4, "inf"))), 2,
        ("column 'age' (plan: covariates[0]): infinite values 'inf' (row 5); expected finite numbers",)),
    # ------------------------------------------------------------------ the command line
    "--seed negative": Case(lambda t: write(t, trial_frame()) + ["--seed", "-1"], 2,
                            ("--seed -1: seeds are whole numbers, 0 or more",)),
    "simulate --seed negative": Case(lambda t: ["simulate", "--out", str(t / "sim.csv"), "--seed", "-7"], 2,
                                     ("--seed -7: seeds are whole numbers, 0 or more",)),
    "--out name too long": Case(lambda t: _out(write(t, trial_frame()), t / LONG_NAME), 2,
                                (f"{LONG_NAME}: cannot write the output folder there (File name too long: a name in it has 300 "
                                 "characters, and file systems allow 255 bytes per name)",)),
    "simulate --out name too long": Case(lambda t: ["simulate", "--out", str(t / f"{LONG_NAME}.csv")], 2,
                                         ("cannot write the simulated data there (File name too long",)),
    "init --out name too long": Case(lambda t: ["init", write(t, trial_frame())[1], "--out", str(t / f"{LONG_NAME}.yaml")], 2,
                                     ("cannot write the plan there (File name too long",)),
    "data file name too long": Case(lambda t: ["validate", str(t / f"{LONG_NAME}.csv"), "--plan", write(t, None)[3]], 2,
                                    (f"{LONG_NAME}.csv: cannot be read (File name too long)",)),
    "plan file name too long": Case(lambda t: ["validate", write(t, trial_frame())[1], "--plan", str(t / f"{LONG_NAME}.yaml")], 2,
                                    (f"{LONG_NAME}.yaml: cannot be read (File name too long)",)),
    # ------------------------------------------------------------------ effectmod power
    "power --scale nan, inf, negative": Case(lambda t: ["power", "--scale", "nan,inf,-1", "--out", str(t / "out")], 2,
                                             ("--scale nan,inf,-1: multipliers of the interactions are finite numbers, 0 or more",
                                              "got nan, inf, -1")),
    "power --n zero, negative, fractional, nan": Case(lambda t: ["power", "--n", "0,-50,100.5,nan,1e12", "--out", str(t / "out")], 2,
                                                      ("--n 0,-50,100.5,nan,1e12: sample sizes are whole numbers from 20 to 100,000; "
                                                       "got 0, -50, 100.5, nan, 1e+12",)),
    "power --interaction nan": Case(lambda t: ["power", "--moderator", "back_perception", "--interaction", "0.1,nan,-inf",
                                               "--out", str(t / "out")], 2,
                                    ("--interaction 0.1,nan,-inf: interaction sizes are finite numbers; got nan, -inf",)),
    "power grid too large": Case(lambda t: ["power", "--n", "100,200", "--scale", "0.5,1", "--replicates", "5000000",
                                            "--out", str(t / "out")], 2,
                                 ("--replicates 5,000,000 x 4 grid cell(s) = 20,000,000 simulated trials, more than one run "
                                  "simulates (10,000,000)",)),
    "power --alpha nan, --seed and --workers negative": Case(lambda t: ["power", "--alpha", "nan", "--seed", "-1", "--workers", "-2",
                                                                        "--out", str(t / "out")], 2,
                                                             ("--alpha nan: the significance level lies between 0 and 1",
                                                              "--seed -1: seeds are whole numbers, 0 or more",
                                                              "--workers -2: give 1 or more local processes")),
    "power --scheduler not an address": Case(lambda t: ["power", "--scheduler", "foo", "--out", str(t / "out")], 2,
                                             ("--scheduler foo: not HOST:PORT; a Dask scheduler address looks like tcp://",)),
    "power --scheduler a web address": Case(lambda t: ["power", "--scheduler", "http://10.0.0.5:8787", "--out", str(t / "out")], 2,
                                            ("--scheduler http://10.0.0.5:8787: a web address, not a Dask scheduler's",
                                             "usually 8786, not the dashboard's 8787")),
    "power --out name too long": Case(lambda t: ["power", "--out", str(t / LONG_NAME)], 2,
                                      ("cannot write the output folder there (File name too long",)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input(name, tmp_path, capsys, results_only):  # noqa: F811 (the fixture)
    case = CASES[name]
    code = main(case.build(tmp_path))
    out, err = capsys.readouterr()
    assert code == case.code, err
    assert "Traceback" not in err and "internal error" not in err
    for phrase in case.phrases:
        assert phrase in err, f"{phrase!r} not in:\n{err}"
    lines = err.strip().splitlines()
    assert lines and all(line.startswith("effectmod: ") for line in lines), err
    assert not (tmp_path / "out").exists()


def test_hostile_inputs_are_documented():
    doc = (Path(__file__).parents[1] / "docs" / "bad-inputs.md").read_text(encoding="utf-8")
    missing = [name for name in CASES if f"**{name}**" not in doc]
    assert not missing, missing


def test_whole_numbers_and_limits_are_accepted_at_the_bounds():
    from effectmod.plan import validate_plan
    plan = validate_plan(plan_dict(analysis={"bootstrap": 100_000, "imputations": 1000.0, "permutations": 1_000_000,
                                             "seed": 0, "ci_level": 0.9999}))
    a = plan.analysis
    assert (a.bootstrap, a.imputations, a.permutations, a.seed, a.ci_level) == (100_000, 1000, 1_000_000, 0, 0.9999)
    assert isinstance(a.imputations, int)
    assert validate_plan(plan_dict(analysis={"ci_level": 0.5, "seed": np.int64(7)})).analysis.seed == 7


def test_aliases_within_reason_still_work(tmp_path, capsys):
    """A plan may reuse text with anchors and aliases; only an expansion far beyond a plan is refused."""
    text = plan_text().replace("column: frebaq\n  type: continuous\n",
                               "column: frebaq\n  type: continuous\n  rationale: &why prespecified in the protocol\n")
    text = text.replace("reference: 'no'\n", "reference: 'no'\n  rationale: *why\n")
    assert "*why" in text
    assert main(write(tmp_path, trial_frame(), text, command="validate")) == 0


def test_library_seed_override_is_checked(tmp_path):
    import effectmod as em
    from effectmod.errors import UsageError
    write(tmp_path, trial_frame())
    with pytest.raises(UsageError, match=r"seed -3: seeds are whole numbers, 0 or more"):
        em.analyze(tmp_path / "trial.csv", tmp_path / "plan.yaml", seed=-3)


# ---------------------------------------------------------------------- memory

def test_memory_error_while_reading_is_a_data_error(tmp_path, capsys, monkeypatch):
    import effectmod.data.load as load

    def exhausted(*a, **k):
        raise MemoryError
    monkeypatch.setattr(load, "_read", exhausted)
    assert main(write(tmp_path, trial_frame(), command="validate")) == 2
    err = capsys.readouterr().err
    assert err.startswith("effectmod: data file trial.csv (") and err.count("\n") == 1
    assert "too large to check and analyse in this machine's memory; save only the analysed rows and columns" in err


def test_memory_error_after_reading_is_exit_2(tmp_path, capsys, monkeypatch, results_only):  # noqa: F811
    """Anywhere in the run (checks, models, resampling): the data's size, not a bug."""
    import effectmod.data.inputs as inputs

    def exhausted(*a, **k):
        raise MemoryError
    monkeypatch.setattr(inputs, "prepare_trial", exhausted)
    assert main(write(tmp_path, trial_frame())) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and "Traceback" not in err
    assert err.startswith("effectmod: data file trial.csv (") and "too large to check and analyse in this machine's memory" in err
    assert not (tmp_path / "out").exists()


def test_a_file_that_cannot_fit_in_memory_is_refused_before_reading(tmp_path, capsys, monkeypatch):
    import effectmod.data.load as load

    monkeypatch.setattr(load, "MEMORY_CHECK_BYTES", 0)
    monkeypatch.setattr(load, "available_memory", lambda: 10_000)
    monkeypatch.setattr(load, "_read", lambda *a, **k: pytest.fail("read although it cannot fit"))
    assert main(write(tmp_path, trial_frame(), command="validate")) == 2
    err = capsys.readouterr().err
    assert re.search(r"^effectmod: data file trial.csv: 1.2 KB, about [0-9,]+ cells to read, would need about ", err)
    assert "of memory to check and analyse, and this machine has 9.8 KB available; save only the analysed rows" in err


def test_memory_estimate_is_close_for_text_and_parquet(tmp_path):
    import effectmod.data.load as load
    frame = trial_frame(n=2000)
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    for name in ("t.csv", "t.parquet"):
        path = tmp_path / name
        cells = load._estimated_cells(path, path.suffix, path.stat().st_size, None)
        assert abs(cells - frame.size) < 0.05 * frame.size, (name, cells)
    assert load._estimated_cells(tmp_path / "t.csv", ".csv", (tmp_path / "t.csv").stat().st_size, ["pid", "arm"]) < frame.size / 4
    available = load.available_memory()
    assert available is None or available > 0


def test_power_refuses_trials_that_cannot_fit_in_memory(tmp_path, capsys, monkeypatch):
    import effectmod.data.load as load
    monkeypatch.setattr(load, "available_memory", lambda: 1 << 30)
    assert main(["power", "--n", "50000", "--workers", "2", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--n 50000: 2 process(es) each simulating 250 trials of 50,000 participants at once would need about" in err
    assert "and this machine has 1.0 GB available; give smaller sample sizes or fewer --workers" in err


# ---------------------------------------------------------------------- output paths

def test_any_oserror_creating_the_output_folder_names_the_path(tmp_path, capsys, monkeypatch, results_only):  # noqa: F811
    import tempfile

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(tempfile, "mkdtemp", full)
    assert main(write(tmp_path, trial_frame())) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("effectmod: warning:")]
    assert errors == [f"effectmod: --out {tmp_path / 'out'}: cannot write the output folder there (No space left on device); "
                      "choose another name or place (nothing was written)"]


def test_a_whole_path_too_long(tmp_path, capsys):
    deep = tmp_path.joinpath(*(["d" * 200] * 25))          # each name fits, the path does not (PATH_MAX 4096)
    assert main(_out(write(tmp_path, trial_frame()), deep)) == 2
    err = capsys.readouterr().err
    assert "cannot write the output folder there (File name too long: the whole path has" in err


# ---------------------------------------------------------------------- Dask

def test_power_scheduler_that_does_not_answer(tmp_path, capsys, monkeypatch):
    pytest.importorskip("dask.distributed")
    import dask

    with socket.socket() as s:                 # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code = main(["power", "--n", "40", "--replicates", "10", "--scheduler", f"tcp://127.0.0.1:{port}",
                     "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"effectmod: --scheduler tcp://127.0.0.1:{port}: no Dask scheduler answered there (")
    assert "check the address and that the scheduler runs" in err and err.count("\n") == 1

