"""Parameter sweeps: run one experiment at many config points in parallel and collect a table.

Each point × seed is one unit (:mod:`neurosim.cluster`): a call of :func:`run_point` that runs the experiment
into ``OUT/point-NNN`` with the usual results directory. The units run in a local pool of fresh processes
(``--processes``) or on a Dask cluster (``--scheduler ADDRESS``, with ``OUT`` on a file system the workers
share); each unit's row is stored in ``OUT/units/`` as it finishes, so ``--resume`` runs only the points
still missing. A point is idempotent: a complete run in its folder is read back and an interrupted one
resumed, so a unit that Dask runs again after losing its worker continues from its checkpoint. The sweep
then writes ``OUT/sweep.json``, ``OUT/sweep.csv`` and one figure per numeric metric.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .cluster import Unit, connection, map_units
from .configs import ExperimentError, parse_value, to_plain
from .experiment import fingerprint, save_png
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
    """Run one sweep point into ``out`` and return its row (importable and picklable: what a local pool or a
    Dask worker calls). A complete run of this point in ``out`` is read back, an interrupted one resumed."""
    experiment = find_experiment(name)
    config = experiment.make_config(None, _overrides(values), quick=quick)
    folder = Path(out)
    previous = _run_record(folder)
    if previous.get("status") == "complete" and previous.get("fingerprint") == fingerprint(
        name, config, seed
    ):
        metrics = json.loads((folder / "metrics.json").read_text())
    else:
        metrics = experiment.execute(config, folder, seed=seed, quick=quick, resume=bool(previous))
    return {**values, "seed": seed, **{k: v for k, v in metrics.items() if _scalar(v)}}


def run_sweep(
    name: str,
    points: Sequence[Mapping[str, Any]],
    out: str | Path,
    *,
    seeds: Sequence[int] = (0,),
    processes: int = 2,
    quick: bool = False,
    scheduler: str | None = None,
    resume: bool = False,
) -> list[dict[str, Any]]:
    """Run ``name`` at every point × seed, in ``processes`` local processes or on the Dask cluster at
    ``scheduler``; write the table and plots. ``resume`` continues the same sweep in ``out``."""
    experiment = find_experiment(name)
    for point in points:  # fail before anything runs
        experiment.make_config(None, _overrides(point), quick=quick)
    out = Path(out)
    jobs = [(dict(p), s) for p in points for s in seeds]
    plan = to_plain({"experiment": name, "quick": quick, "jobs": [{"point": p, "seed": s} for p, s in jobs]})
    _check_out(out, plan, resume)
    with connection(scheduler) as client:  # an address without a scheduler fails here, before any unit
        atomic_write_json(out / "plan.json", plan)
        units = [
            Unit(f"point-{k:03d}", run_point, (name, p, str(out / f"point-{k:03d}"), s, quick))
            for k, (p, s) in enumerate(jobs)
        ]
        rows = map_units(units, out / "units", processes=processes, client=client, desc=f"sweep {name}")
    atomic_write_json(out / "sweep.json", to_plain({"experiment": name, "rows": rows}))
    atomic_write_text(out / "sweep.csv", _table_csv(rows))
    _plot(rows, list(points[0]) if points else [], out)
    return rows


def _check_out(out: Path, plan: Mapping[str, Any], resume: bool) -> None:
    """A new sweep needs an empty ``out``; ``resume`` needs the same sweep's plan there."""
    if not resume:
        if out.exists() and any(out.iterdir()):
            raise ExperimentError(
                f"sweep: output directory '{out}' already holds results; choose a new --out"
            )
        return
    try:
        previous = json.loads((out / "plan.json").read_text())
    except (OSError, ValueError):
        raise ExperimentError(
            f"sweep --resume: '{out}' holds no sweep to resume (no readable plan.json)"
        ) from None
    if previous != plan:
        raise ExperimentError(
            f"sweep --resume: '{out}' holds a sweep of other points, seeds or experiment; nothing changed"
        )


def _overrides(values: Mapping[str, Any]) -> list[str]:
    return [f"{k}={json.dumps(v)}" for k, v in values.items()]


def _run_record(folder: Path) -> dict[str, Any]:
    """The point's ``run.json`` (empty if it has none yet)."""
    try:
        record = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


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
