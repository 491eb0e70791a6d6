"""Start-up time of the ``neurosim`` command: ``--help``, ``list`` and ``run NAME --help``.

The command line should answer at once; what it imports before answering decides how fast it does. Each
command runs in a fresh process exactly as the installed ``neurosim`` script runs it (``from neurosim.cli
import main``), with the checkout under test first on ``sys.path`` and its byte code compiled beforehand (as
an install does). Reported per command: its first call (the operating system's file cache as found), the
median, minimum and maximum of ``repeats`` further calls (warm), and the heavy libraries (Brian2, PyTorch,
Matplotlib, SymPy, SciPy) that one more call under ``python -X importtime`` imported, with its total import
time. With ``baseline`` set to another checkout (``git archive HEAD | tar -x -C DIR``, say) the same is
measured there, for a before/after comparison. Times are recorded, never asserted; ``budget_s`` only marks
them in the report.

Writes ``startup.json`` (every call's time and the machine's conditions) and ``README.md`` (the table) into
``--out``; measured results are kept in ``docs/results/startup``.

    python experiments/startup.py --out results/startup
    python experiments/startup.py --set 'baseline="/tmp/neurosim-head"' --out results/startup
"""

from __future__ import annotations

import compileall
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim.configs import bounded, check_ranges  # noqa: E402
from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.registry import available  # noqa: E402
from neurosim.validation import check_choice, fail  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("brian2", "torch", "matplotlib", "sympy", "scipy")  # libraries the command should not need
MAIN = "import sys; from neurosim.cli import main; sys.exit(main())"  # what the installed script runs


@dataclass(frozen=True)
class Config:
    repeats: int = bounded(7, ge=1, le=100)  # warm calls per command; their median is reported
    experiment: str = "song_abbott_2000"  # the NAME of `neurosim run NAME --help`
    baseline: str = ""  # another checkout of neurosim measured the same way ("" = none)
    budget_s: float = bounded(1.5, gt=0, le=60)  # each command's time limit (marked)

    def __post_init__(self) -> None:
        check_ranges(self, owner="startup")
        check_choice("startup", "experiment", self.experiment, tuple(available()))
        if self.baseline and not (Path(self.baseline) / "neurosim" / "__init__.py").is_file():
            fail("startup", "baseline", self.baseline, "expected a checkout (a folder holding neurosim/)")


def commands(config: Config) -> dict[str, list[str]]:
    """Command label → the arguments after ``neurosim``."""
    return {
        "neurosim --help": ["--help"],
        "neurosim list": ["list"],
        f"neurosim run {config.experiment} --help": ["run", config.experiment, "--help"],
    }


def call(root: Path, args: list[str], *flags: str) -> tuple[float, str]:
    """Run ``neurosim ARGS`` from the checkout ``root`` in a fresh process started in ``root`` (so that
    ``root`` comes first on ``sys.path``): wall time (s) and stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("NEUROSIM_EXPERIMENTS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(root)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *flags, "-c", MAIN, *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"neurosim {' '.join(args)} exited with {done.returncode}: {done.stderr[-2000:]}")
    return wall, done.stderr


def heavy_imports(importtime: str) -> tuple[list[str], float]:
    """From ``python -X importtime`` output: the heavy libraries imported and the total import time (s)."""
    heavy, total_us = set(), 0
    for line in importtime.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.split("|")
        if not cumulative.strip().isdigit():
            continue  # the header line
        if not name[1:].startswith(" "):  # a top-level import (nested ones are indented)
            total_us += int(cumulative)
        if name.strip().split(".")[0] in HEAVY:
            heavy.add(name.strip().split(".")[0])
    return sorted(heavy), total_us / 1e6


def measure(root: Path, args: list[str], repeats: int) -> dict:
    """First call, ``repeats`` warm calls and one call under ``-X importtime`` of ``neurosim ARGS``."""
    first, _ = call(root, args)
    warm = [call(root, args)[0] for _ in range(repeats)]
    heavy, import_s = heavy_imports(call(root, args, "-X", "importtime")[1])
    return {
        "first_s": round(first, 3),
        "warm_median_s": round(statistics.median(warm), 3),
        "warm_min_s": round(min(warm), 3),
        "warm_max_s": round(max(warm), 3),
        "warm_s": [round(t, 3) for t in warm],
        "import_s": round(import_s, 3),
        "heavy_imports": heavy,
    }


def checkout(root: Path) -> dict:
    """Where a checkout is and, when it is a git work tree, its commit and whether it has changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    return {
        "root": str(root),
        "commit": commit,
        "modified": bool(git("status", "--porcelain")) if commit else None,
    }


def cpu_model() -> str:
    """The processor's name as Linux reports it, else what :mod:`platform` knows."""
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown processor"


def report(data: dict, budget_s: float) -> str:
    """The README of a results folder: conditions, then one row per checkout and command."""
    c = data["conditions"]
    lines = [
        "# Start-up time of the neurosim command",
        "",
        f"Measured {c['date']} on {c['machine']} ({c['cpus']} CPUs; load average {c['load_before']} "
        f"before, {c['load_after']} after), Python {c['python']}. Each command ran in a fresh process as the "
        "installed `neurosim` script runs it; *first* is its first call (byte code compiled beforehand, "
        f"file cache as found), *warm* the median (min–max) of {c['repeats']} further calls; *imports* the "
        "heavy libraries a call under `python -X importtime` loaded and its total import time. Budget: "
        f"{budget_s:g} s. Written by `python experiments/startup.py` (see its docstring).",
        "",
        "| checkout | command | first (s) | warm (s) | within budget | import (s) | heavy imports |",
        "| --- | --- | ---: | ---: | --- | ---: | --- |",
    ]
    for label, entry in data["checkouts"].items():
        where = entry["checkout"]
        name = (
            f"{label} ({where['commit']}{', modified' if where['modified'] else ''})"
            if where["commit"]
            else label
        )
        for command, m in entry["commands"].items():
            lines.append(
                f"| {name} | `{command}` | {m['first_s']:.2f} | {m['warm_median_s']:.2f} "
                f"({m['warm_min_s']:.2f}–{m['warm_max_s']:.2f}) | "
                f"{'yes' if m['warm_median_s'] <= budget_s else 'no'} | {m['import_s']:.2f} | "
                f"{', '.join(m['heavy_imports']) or 'none'} |"
            )
    return "\n".join(lines) + "\n"


def run(config: Config, ctx: RunContext) -> dict:
    roots = {"this checkout": ROOT}
    if config.baseline:
        roots["baseline"] = Path(config.baseline).resolve()
    load_before = os.getloadavg()
    for root in roots.values():
        compileall.compile_dir(root / "neurosim", quiet=1)
    items = [(label, command) for label in roots for command in commands(config)]

    def one(item: tuple[str, str]) -> dict:
        label, command = item
        return measure(roots[label], commands(config)[command], config.repeats)

    results = ctx.trials("commands", items, one, desc="startup")
    data = {
        "conditions": {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.system()} {platform.machine()}, {cpu_model()}",
            "cpus": os.cpu_count(),
            "load_before": " / ".join(f"{x:.1f}" for x in load_before),
            "load_after": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
            "python": platform.python_version(),
            "repeats": config.repeats,
        },
        "checkouts": {
            label: {
                "checkout": checkout(root),
                "commands": {c: r for (lab, c), r in zip(items, results, strict=True) if lab == label},
            }
            for label, root in roots.items()
        },
    }
    ctx.write_json("startup.json", data)
    ctx.write_text("README.md", report(data, config.budget_s))
    return {
        label: {c: m["warm_median_s"] for c, m in e["commands"].items()}
        for label, e in data["checkouts"].items()
    }


EXPERIMENT = Experiment(
    name="startup",
    description="Start-up time of `neurosim --help`, `neurosim list` and `neurosim run NAME --help`",
    config_type=Config,
    run=run,
    quick_overrides={"repeats": 1},
)

if __name__ == "__main__":
    sys.exit(EXPERIMENT.main())
