"""The package's shape stays as designed: no import cycles (checked by import-linter, every import statement
counted), Brian2 objects made and touched only in :mod:`neurosim.backend`, modules small enough to read,
and no tracker references in code that a stranger reads."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "neurosim"

#: Brian2 names that make or run simulation objects (as opposed to units, quantities and equation text,
#: which descriptions and rules use freely).
BRIAN2_RUNTIME = frozenset(
    {
        "Network",
        "NeuronGroup",
        "Synapses",
        "SpikeGeneratorGroup",
        "PoissonGroup",
        "PoissonInput",
        "SpikeMonitor",
        "StateMonitor",
        "PopulationRateMonitor",
        "TimedArray",
        "NetworkOperation",
        "network_operation",
        "run",
        "device",
        "set_device",
        "defaultclock",
        "Clock",
        "start_scope",
        "seed",
    }
)


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_import_cycles_at_any_depth():
    """import-linter's ``acyclic_siblings`` contract (pyproject.toml): no cycle between the modules or
    subpackages of any package of neurosim, with imports inside functions and TYPE_CHECKING blocks counted."""
    lint = Path(sys.executable).with_name("lint-imports")
    assert lint.exists(), "import-linter is part of the dev extra: pip install -e .[dev]"
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def _brian2_runtime_uses(tree: ast.AST) -> set[str]:
    """Runtime names taken from Brian2: ``from brian2 import Synapses`` and ``b2.Synapses`` alike."""
    aliases = set()
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "brian2":
            used |= {a.name for a in node.names if a.name in BRIAN2_RUNTIME}
            if node.module and node.module.startswith("brian2.devices"):
                used.add(node.module)
        elif isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "brian2"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr in BRIAN2_RUNTIME:
                used.add(node.attr)
    return used


def test_only_the_backend_makes_or_runs_brian2_objects():
    """Descriptions, rules, the controller and the learners speak numpy and a typed Simulation; the
    backend package alone makes, runs, resizes and saves Brian2 objects."""
    backend = PACKAGE / "backend"
    offenders = {}
    for path in _modules(PACKAGE):
        if backend in path.parents:
            continue
        used = _brian2_runtime_uses(ast.parse(path.read_text()))
        if used:
            offenders[str(path.relative_to(ROOT))] = sorted(used)
    assert not offenders, offenders


#: The Brian2 objects a Simulation holds; code above the backend uses its numpy readers instead.
SIMULATION_INTERNALS = frozenset({"synapses", "groups", "monitors", "network"})


def _simulation_internals_read(tree: ast.AST) -> set[str]:
    """``sim.synapses``, ``self.sim.groups`` …: a simulation's Brian2 objects reached from outside."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in SIMULATION_INTERNALS:
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
            if name in ("sim", "simulation"):
                found.add(node.attr)
    return found


def test_code_above_the_backend_reads_simulations_through_their_readers():
    backend = PACKAGE / "backend"
    paths = [p for p in _modules(PACKAGE) if backend not in p.parents] + _modules(ROOT / "experiments")
    offenders = {
        str(p.relative_to(ROOT)): sorted(u)
        for p in paths
        if (u := _simulation_internals_read(ast.parse(p.read_text())))
    }
    assert not offenders, offenders
    assert _simulation_internals_read(ast.parse("n = len(self.sim.synapses['x'])")) == {"synapses"}


def test_the_rule_detects_runtime_brian2_use():
    """The check above is not vacuous: it finds both import styles."""
    tree = ast.parse("import brian2 as b2\nfrom brian2 import ms, Synapses\nx = b2.NeuronGroup\ny = b2.ms\n")
    assert _brian2_runtime_uses(tree) == {"Synapses", "NeuronGroup"}


def test_every_module_reads_in_one_sitting():
    """One module per concept: none over 500 lines (a longer one is two concepts)."""
    long = {
        str(p.relative_to(ROOT)): n for p in _modules(PACKAGE) if (n := len(p.read_text().splitlines())) > 500
    }
    assert not long, long


def test_code_and_front_page_cite_no_tracker_or_machine_notes():
    """The repository makes sense to a stranger: no issue numbers or notes about one machine in code,
    docstrings, help texts or the README (measurements live in docs/results)."""
    pattern = re.compile(r"\bissues?\s*#?\d+|\bloaded 2-core|\bthis machine\b", re.IGNORECASE)
    folders = ("neurosim", "neurosim_benchmark", "experiments", "tests", "docs", "notebooks")
    files = [ROOT / "README.md"] + [
        p
        for folder in folders
        for p in sorted((ROOT / folder).rglob("*"))
        if p.suffix in (".py", ".ipynb") and p.resolve() != Path(__file__).resolve()
    ]
    files += [p for p in sorted((ROOT / "docs").rglob("*.md")) if "results" not in p.relative_to(ROOT).parts]
    hits = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in files
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits, "\n".join(hits)
