"""Start-up: `--help`, `--version`, argument errors and `validate` do not load the numerical
stack, the public API loads it on first use, and Ctrl-C at any moment - even while Python is
still importing - ends with exit code 130 and one line, never a traceback. No timing asserts:
what is measured is which modules are loaded."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from effectmod.cli import main

HEAVY = ("scipy", "statsmodels", "matplotlib", "jinja2", "docx")
NUMERIC = HEAVY + ("numpy", "pandas", "pydantic")
INTERRUPTED = "effectmod: interrupted; no output folder was left behind"

LOADED = textwrap.dedent("""
    import json, sys
    from effectmod.cli import main
    try:
        code = main(json.loads(sys.argv[1]))
    except SystemExit as exc:
        code = exc.code
    sys.stdout.flush()
    print("\\nLOADED", json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
    print("CODE", code)
""")


def loaded_modules(argv: list[str]) -> tuple[set[str], str, str]:
    done = subprocess.run([sys.executable, "-c", LOADED, json.dumps(argv)], capture_output=True, text=True,
                          timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("LOADED "))
    code = next(ln for ln in done.stdout.splitlines() if ln.startswith("CODE "))
    return set(json.loads(line[len("LOADED "):])), code.split()[1], done.stderr


@pytest.mark.parametrize("argv, code", [(["--help"], "0"), (["--version"], "0"), (["analyze", "--help"], "0"),
                                        (["power", "--help"], "0"), (["analyze"], "2"),
                                        (["simulate", "--out", "x.csv", "--n", "five"], "2"),
                                        (["simulate", "--out", "x.csv", "--n", "5"], "2"),
                                        (["power", "--replicates", "5", "--out", "no-such-power-folder"], "2"),
                                        (["no-such-command"], "2")])
def test_help_version_and_argument_errors_load_no_numerical_library(argv, code):
    modules, exit_code, _ = loaded_modules(argv)
    assert exit_code == code
    assert not modules & set(NUMERIC), sorted(modules & set(NUMERIC))


def test_validate_loads_no_scipy_statsmodels_or_matplotlib(tmp_path, capsys):
    data = tmp_path / "trial.csv"
    assert main(["simulate", "--out", str(data), "--n", "60", "--seed", "3"]) == 0
    modules, code, err = loaded_modules(["validate", str(data), "--plan", str(tmp_path / "trial.plan.yaml")])
    assert code == "0", err
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_package_import_is_light_and_the_api_loads_on_first_use():
    code = textwrap.dedent("""
        import sys
        import effectmod as em
        assert not {"pandas", "numpy", "scipy", "pydantic"} & set(sys.modules), sorted(sys.modules)
        assert em.jama(0.18, 0.05, 0.32, 0.007) == "β-coefficient = 0.18 [95% CI, 0.05-0.32]; P = .007"
        assert em.Plan.__name__ == "Plan" and callable(em.load_plan) and callable(em.analyze)
        assert em.Results.__name__ == "Results" and em.PlanError is em.errors.PlanError
        from effectmod import analyze, Plan, load_plan, simulate
        import effectmod.simulation          # the simulator package leaves the function alone
        assert callable(em.simulate) and em.simulate.__module__ == "effectmod"
        assert em.simulate("null", n=40, seed=1).data.shape[0] == 40
        assert set(em.__all__) <= set(dir(em))
        try:
            em.no_such_name
        except AttributeError:
            pass
        else:
            raise AssertionError("no AttributeError")
        print("OK")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "OK", done.stderr


# A KeyboardInterrupt (or a real SIGINT) raised when a given module is first imported: the
# moments that used to print a traceback (the package root importing pandas and scipy before
# any handler ran; `python -m effectmod` importing the command line).
INTERRUPT_AT_IMPORT = textwrap.dedent("""
    import os, runpy, signal, sys
    target, how, entry, argv = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

    class Interrupt:
        def find_spec(self, name, path=None, target_=None):
            if name == target:
                sys.meta_path.remove(self)
                if how == "signal":
                    os.kill(os.getpid(), signal.SIGINT)   # Python raises KeyboardInterrupt soon after
                    for _ in range(1000):
                        pass
                else:
                    raise KeyboardInterrupt
            return None

    sys.meta_path.insert(0, Interrupt())
    sys.argv = ["effectmod", *argv]
    if entry == "module":           # python -m effectmod
        runpy.run_module("effectmod", run_name="__main__", alter_sys=True)
    else:                           # the console script: from effectmod.cli import main; sys.exit(main())
        from effectmod.cli import main
        sys.exit(main())
""")


@pytest.mark.parametrize("target, how, entry, command", [
    ("effectmod.cli", "raise", "module", "help"),
    ("argparse", "raise", "module", "help"),
    ("argparse", "raise", "script", "help"),
    ("pandas", "raise", "module", "validate"),
    ("pandas", "signal", "script", "validate"),
    ("scipy", "signal", "module", "analyze"),
    ("effectmod.cli.commands", "raise", "script", "analyze"),
])
def test_ctrl_c_while_importing_exits_130_without_traceback(tmp_path, target, how, entry, command):
    data, plan = tmp_path / "trial.csv", tmp_path / "trial.plan.yaml"
    argv = {"help": ["--help"], "validate": ["validate", str(data), "--plan", str(plan)],
            "analyze": ["analyze", str(data), "--plan", str(plan), "--out", str(tmp_path / "out")]}[command]
    if command != "help":
        assert main(["simulate", "--out", str(data), "--n", "40", "--seed", "2"]) == 0
    done = subprocess.run([sys.executable, "-c", INTERRUPT_AT_IMPORT, target, how, entry, *argv],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == INTERRUPTED, done.stderr
    assert not (tmp_path / "out").exists()
