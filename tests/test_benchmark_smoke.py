"""The benchmark script runs end to end (functional check only: no timing is asserted)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def _run(tmp_path, *extra):
    out = tmp_path / "bench.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out), *extra],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout, json.loads(out.read_text())


def test_benchmark_quick_runs_the_fast_items(tmp_path):
    printed, result = _run(tmp_path, "--skip", "mi,mixed,power")
    for phrase in ("numpy:", "load_average_1min", "start-up: effectmod --help", "bootstrap B=50", "scale 5,000",
                   "ratio"):
        assert phrase in printed, phrase
    assert "mixed models" not in printed
    scale = next(r for r in result["items"] if r["item"].startswith("scale"))
    assert scale["peak_mb"] > 0 and scale["effectmod_s"] > 0


@pytest.mark.slow
def test_benchmark_quick_runs_and_reports_every_item(tmp_path):
    printed, result = _run(tmp_path)
    for phrase in ("bootstrap B=50", "power 100 trials", "scale 5,000", "mixed models, 16 fits"):
        assert phrase in printed, phrase
    items = {r["item"] for r in result["items"]}
    assert any(i.startswith("bootstrap") for i in items) and any(i.startswith("power") for i in items)
    assert all(r["effectmod_s"] > 0 for r in result["items"])
    scale = next(r for r in result["items"] if r["item"].startswith("scale"))
    assert scale["peak_mb"] > 0
