"""Parameter sweeps: run one experiment at many config points in parallel processes and collect a table.

Each point runs in its own process (its own Brian2 state) into ``OUT/point-NNN`` with the usual results
directory, and the sweep writes ``OUT/sweep.json``, ``OUT/sweep.csv`` and one figure per numeric metric.

Across a cluster: every point is an independent call of :func:`run_point`, so the same sweep runs on
Dask's distributed scheduler by submitting those calls to a ``dask.distributed.Client`` instead of the local
process pool (``client.map(run_point, [name]*n, points, dirs, seeds)``) with the results directory on a
shared file system; see docs/extending.md.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .configs import ExperimentError, parse_value, to_plain
from .experiment import save_png
from .io import atomic_write_json, atomic_write_text
from .registry import find_experiment


def grid(axes: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the values on each axis (the first key varies slowest)."""
    if not axes:
        raise ExperimentError("sweep: give at least one --grid KEY=V1,V2,...")
    for key, values in axes.items():
        if len(values) == 0:
            raise ExperimentError(f"sweep: axis '{key}' has no values")
    keys = list(axes)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(axes[k] for k in keys))]


def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """``["n=10,20", "rate=5.0"]`` → ``{"n": [10, 20], "rate": [5.0]}``."""
    axes: dict[str, list[Any]] = {}
    for spec in specs:
        key, sep, raw = spec.partition("=")
        if not sep or not key.strip():
            raise ExperimentError(f"--grid expects KEY=V1,V2,..., got '{spec}'")
        axes[key.strip()] = [parse_value(v.strip()) for v in raw.split(",") if v.strip()]
    return axes


def run_point(
    name: str, values: Mapping[str, Any], out: str, seed: int, quick: bool = False
) -> dict[str, Any]:
    """Run one sweep point (importable, picklable: what a local pool or a Dask worker calls)."""
    experiment = find_experiment(name)
    overrides = [f"{k}={json.dumps(v)}" for k, v in values.items()]
    config = experiment.make_config(None, overrides, quick=quick)
    metrics = experiment.execute(config, out, seed=seed, quick=quick)
    return {**values, "seed": seed, **{k: v for k, v in metrics.items() if _scalar(v)}}


def run_sweep(
    name: str,
    points: Sequence[Mapping[str, Any]],
    out: str | Path,
    *,
    seeds: Sequence[int] = (0,),
    processes: int = 2,
    quick: bool = False,
) -> list[dict[str, Any]]:
    """Run ``name`` at every point × seed in ``processes`` parallel processes; write the table and plots."""
    experiment = find_experiment(name)
    for point in points:  # fail before anything runs
        experiment.make_config(None, [f"{k}={json.dumps(v)}" for k, v in point.items()], quick=quick)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ExperimentError(f"sweep: output directory '{out}' already holds results; choose a new --out")
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(p, s) for p in points for s in seeds]
    dirs = [str(out / f"point-{k:03d}") for k in range(len(jobs))]
    if processes <= 1:
        rows = [run_point(name, p, d, s, quick) for (p, s), d in zip(jobs, dirs, strict=True)]
    else:
        with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
            futures = [
                pool.submit(run_point, name, p, d, s, quick) for (p, s), d in zip(jobs, dirs, strict=True)
            ]
            rows = [f.result() for f in futures]
    atomic_write_json(out / "sweep.json", to_plain({"experiment": name, "rows": rows}))
    atomic_write_text(out / "sweep.csv", _table_csv(rows))
    _plot(rows, list(points[0]) if points else [], out)
    return rows


def _scalar(v: Any) -> bool:
    return isinstance(v, (int, float, str, bool)) or v is None


def _table_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _plot(rows: Sequence[Mapping[str, Any]], axes: Sequence[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not axes:
        return
    x_key = axes[0]
    numeric = [k for k in rows[0] if k not in (*axes, "seed") and isinstance(rows[0][k], (int, float))]
    for metric in numeric:
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([r[x_key] for r in rows], [r[metric] for r in rows], "o")
        ax.set_xlabel(x_key)
        ax.set_ylabel(metric)
        fig.tight_layout()
        save_png(fig, out / f"sweep_{metric}.png", dpi=100)
