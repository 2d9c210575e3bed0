"""Layering: the numerical and inference layers never import the report or the command line.

Walks every module of ``effectmod/inference`` and ``effectmod/engines`` (imports at any depth,
inside functions too) and fails on an import of ``effectmod.report`` or ``effectmod.cli`` (and the
command-line modules ``commands``, ``console``, ``power_cli``), absolute or relative.
"""
from __future__ import annotations

import ast
from pathlib import Path

import effectmod

PACKAGE = Path(effectmod.__file__).parent
LOWER_LAYERS = ("inference", "engines")
FORBIDDEN = ("effectmod.report", "effectmod.cli", "effectmod.commands", "effectmod.console", "effectmod.power_cli")


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file; ``from x import y`` also
    yields ``x.y`` (y may be a module)."""
    package = ".".join(("effectmod", *path.relative_to(PACKAGE).parent.parts))
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((node.lineno, module))
            out += [(node.lineno, f"{module}.{a.name}") for a in node.names]
    return out


def _violations(folder: Path) -> list[str]:
    bad = []
    for path in sorted(folder.glob("*.py")):
        for line, module in _imported(path):
            if any(module == f or module.startswith(f + ".") for f in FORBIDDEN):
                bad.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    return bad


def test_inference_and_engines_never_import_report_or_cli():
    files = [p for layer in LOWER_LAYERS for p in (PACKAGE / layer).glob("*.py")]
    assert len(files) >= 10          # the walk found the modules
    bad = [v for layer in LOWER_LAYERS for v in _violations(PACKAGE / layer)]
    assert not bad, "\n".join(bad)


def test_the_walk_catches_relative_absolute_and_nested_imports(tmp_path):
    # the checker itself: each spelling of a forbidden import is caught
    layer = PACKAGE / "inference"
    probe = layer / "_layering_probe.py"
    assert not probe.exists()
    sources = ["from ..report.sentences import p_text\n", "from ..report import tables\n",
               "import effectmod.report.figures\n", "def f():\n    from effectmod.cli import main\n",
               "from .. import report\n"]
    try:
        for src in sources:
            probe.write_text(src, encoding="utf-8")
            assert _violations(layer), src
    finally:
        probe.unlink(missing_ok=True)
    probe_ok = "from ..formatting import p_text\nfrom .multiplicity import adjust\n"
    try:
        probe.write_text(probe_ok, encoding="utf-8")
        assert not [v for v in _violations(layer) if "_layering_probe" in v]
    finally:
        probe.unlink(missing_ok=True)
