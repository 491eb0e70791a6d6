"""Units on a local pool or a Dask cluster (neurosim.cluster): stored as they finish, resumed without
rerunning what finished, identical wherever they ran; a lost worker and a lost client lose nothing; a
scheduler address that does not answer is refused before anything runs.

Two toy experiments keep every check to seconds: the seeded random walk of tests/test_experiment.py (one
checkpointed trial per step; a sweep point is one unit), and ``units``, a walk whose steps are independent
units, step k of seed s being ``numpy.random.default_rng([s, k]).normal() * scale``: the test computes that
walk directly and holds every run, local or on a cluster, to it. The clusters are ``LocalCluster``s of
worker processes on the loopback interface.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from neurosim import cli
from neurosim.cluster import Unit, UnitStore, map_units
from neurosim.experiment import ExperimentError
from neurosim.sweep import run_sweep

from .test_experiment import TOY

UNITS_TOY = textwrap.dedent(
    '''
    """Toy experiment with units: a seeded random walk whose steps are independent units."""
    import os
    import sys
    import time
    from dataclasses import dataclass

    import numpy as np

    from neurosim.cluster import Unit
    from neurosim.experiment import Experiment

    @dataclass(frozen=True)
    class Config:
        steps: int = 4
        scale: float = 1.0
        workers: int = 1

    def step(seed, k, scale):
        if k == int(os.environ.get("TOY_KILL_AT", -1)):  # simulates a run stopped at step k
            raise KeyboardInterrupt("killed")
        time.sleep(float(os.environ.get("TOY_SLEEP", 0)))
        if os.environ.get("TOY_CALLS"):  # records which steps ran
            with open(os.environ["TOY_CALLS"], "a") as fh:
                fh.write(f"{k}\\n")
        return float(np.random.default_rng([seed, k]).normal() * scale)

    def run(config, ctx):
        units = [Unit(f"step{k}", step, (ctx.seed, k, config.scale)) for k in range(config.steps)]
        values = ctx.map_units("steps", units, processes=config.workers)
        return {"final": sum(values), "values": values}

    EXPERIMENT = Experiment("units", "a walk of independent steps", Config, run, has_units=True)

    if __name__ == "__main__":
        sys.exit(EXPERIMENT.main())
    '''
)


def _walk(seed: int, steps: int, scale: float = 1.0) -> list[float]:
    """The units toy's walk, computed directly."""
    return [float(np.random.default_rng([seed, k]).normal() * scale) for k in range(steps)]


@pytest.fixture
def toys(tmp_path, monkeypatch):
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "toy.py").write_text(TOY)
    (folder / "units.py").write_text(UNITS_TOY)
    monkeypatch.setenv("NEUROSIM_EXPERIMENTS", str(folder))
    for name in ("neurosim_experiment_toy", "neurosim_experiment_units"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return folder


def _closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _calls(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _without_wall(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]


# ------------------------------------------------------------------------------ stored units and --resume


def test_map_units_stores_each_result_and_runs_only_the_missing_ones(tmp_path):
    """A unit that fails stops the run; the units finished before it are stored and are read back, not
    run again, by the next call, which returns what one uninterrupted call returns."""
    ran: list[int] = []
    failed: list[int] = []

    def square(k: int) -> int:
        if k == 2 and not failed:
            failed.append(k)
            raise RuntimeError("unit 2 fails the first time")
        ran.append(k)
        return k * k

    units = [Unit(f"u{k}", square, (k,)) for k in range(4)]
    with pytest.raises(RuntimeError, match="fails the first time"):
        map_units(units, tmp_path / "store")
    assert ran == [0, 1] and sorted(p.name for p in (tmp_path / "store").iterdir()) == ["u0.pkl", "u1.pkl"]
    assert map_units(units, tmp_path / "store") == [0, 1, 4, 9]
    assert ran == [0, 1, 2, 3]  # 0 and 1 were read back
    assert UnitStore(tmp_path / "store").load("u3") == 9
    with pytest.raises(ExperimentError, match="unit keys must be unique; repeated: \\['u0'\\]"):
        map_units([units[0], units[0]], tmp_path / "other")
    with pytest.raises(ExperimentError, match="unit key 'a/b' is not a file name"):
        Unit("a/b", square)


def test_interrupted_run_resumes_only_the_missing_units(toys, tmp_path, monkeypatch):
    """`neurosim run` of an experiment with units, stopped at step 3 of 5: steps 0-2 are stored in
    OUT/steps/; --resume runs only steps 3 and 4, the walk equals the one computed directly, and the stored
    units are removed once the run is complete."""
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("TOY_CALLS", str(calls))
    monkeypatch.setenv("TOY_KILL_AT", "3")
    out = tmp_path / "run"
    argv = ["run", "units", "--set", "steps=5", "--seed", "2", "--out", str(out)]
    assert cli.main(argv) == 130
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    assert sorted(p.name for p in (out / "steps").iterdir()) == ["step0.pkl", "step1.pkl", "step2.pkl"]
    assert _calls(calls) == [0, 1, 2]
    monkeypatch.delenv("TOY_KILL_AT")
    assert cli.main([*argv, "--resume"]) == 0
    assert _calls(calls) == [0, 1, 2, 3, 4]
    assert json.loads((out / "metrics.json").read_text())["values"] == _walk(2, 5)
    assert "steps: 3 of 5 units stored; running 2 in this process" in (out / "log.txt").read_text()
    assert not (out / "steps").exists()


def test_units_in_forked_processes_equal_the_serial_run(toys, tmp_path):
    """workers=2 runs the units in a local pool; the walk is the one computed directly, as in one process."""
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        argv = ["run", "units", "--set", "steps=4", "--set", f"workers={workers}", "--seed", "1"]
        assert cli.main([*argv, "--out", str(out)]) == 0
        assert json.loads((out / "metrics.json").read_text())["values"] == _walk(1, 4)


def test_interrupted_sweep_resumes_only_the_missing_points(toys, tmp_path, monkeypatch):
    """A sweep stopped inside its second point keeps the first (its files untouched by the rerun) and the
    second's checkpoint; `sweep --resume` continues the second from its checkpoint, and the table equals an
    uninterrupted sweep's. --resume of other points or of a folder without a sweep is refused."""
    argv = ["sweep", "toy", "--grid", "steps=2,5", "--processes", "1"]
    out = tmp_path / "sweep"
    monkeypatch.setenv("TOY_KILL_AT", "3")  # the walk of 2 steps never reaches trial 3; the walk of 5 does
    with pytest.raises(KeyboardInterrupt):
        cli.main([*argv, "--out", str(out)])
    assert sorted(p.name for p in (out / "units").iterdir()) == ["point-000.pkl"]
    first = {p.name: p.read_bytes() for p in (out / "point-000").iterdir()}
    monkeypatch.delenv("TOY_KILL_AT")
    assert cli.main([*argv, "--out", str(out), "--resume"]) == 0
    assert {p.name: p.read_bytes() for p in (out / "point-000").iterdir()} == first
    assert "resuming 'walk' at 3/5" in (out / "point-001" / "log.txt").read_text()
    fresh = run_sweep("toy", [{"steps": 2}, {"steps": 5}], tmp_path / "fresh", processes=1)
    resumed = json.loads((out / "sweep.json").read_text())["rows"]
    assert _without_wall(resumed) == _without_wall(fresh)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(ExperimentError, match="holds a sweep of other points"):
        run_sweep("toy", [{"steps": 3}], out, processes=1, resume=True)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    with pytest.raises(ExperimentError, match="holds no sweep to resume"):
        run_sweep("toy", [{"steps": 3}], tmp_path / "nothing", processes=1, resume=True)


# ---------------------------------------------------------------------------------------------- bad input


def test_a_scheduler_that_does_not_answer_is_refused_before_anything_runs(toys, tmp_path, capsys):
    """An address where no scheduler listens (a closed loopback port), one of an unknown scheme and one
    without a port: exit status 2 with a message naming the address and what to check; nothing written.
    An experiment without units refuses --scheduler, naming the experiment."""
    pytest.importorskip("distributed")
    closed = f"tcp://127.0.0.1:{_closed_port()}"
    for address, reason in [
        (closed, "ConnectionRefusedError"),
        ("nonsense://127.0.0.1:1", "unknown address scheme"),
        ("127.0.0.1", "port"),
    ]:
        for argv in (
            ["sweep", "toy", "--grid", "steps=2", "--scheduler", address, "--out", str(tmp_path / "s")],
            ["run", "units", "--scheduler", address, "--out", str(tmp_path / "r")],
        ):
            assert cli.main(argv) == 2, argv
            err = capsys.readouterr().err
            assert f"--scheduler '{address}': cannot connect" in err and reason in err, err
            assert "check that a Dask scheduler runs there" in err
            assert not (tmp_path / "s").exists() and not (tmp_path / "r").exists()
    assert cli.main(["run", "toy", "--scheduler", closed, "--out", str(tmp_path / "t")]) == 2
    assert "experiment 'toy' does not split its work into units" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()


# ------------------------------------------------------------------------------------------ on a cluster


@pytest.fixture
def local_cluster(toys, monkeypatch):
    """Start a LocalCluster of two single-threaded worker processes on 127.0.0.1 (workers inherit the
    environment as it is when they start, restarted ones too)."""
    distributed = pytest.importorskip("distributed")
    started = []

    def start(**env: str):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.close()


class _Submitted:
    """A scheduler plugin that records the units submitted to it (task keys are UNIT-DIGEST)."""

    def __init__(self) -> None:
        from distributed.diagnostics.plugin import SchedulerPlugin

        recorder = self

        class Recorder(SchedulerPlugin):
            def update_graph(self, scheduler, *, keys, **kwargs):
                recorder.units.extend(str(k).rsplit("-", 1)[0] for k in keys)

        self.units: list[str] = []
        self.plugin = Recorder()


@pytest.mark.integration
def test_sweep_and_run_on_a_cluster_equal_the_local_results(local_cluster, tmp_path):
    """The same sweep on a LocalCluster and on the local pool gives the same table (but for wall times);
    `run units --scheduler` gives the walk computed directly, its step functions shipped by value."""
    cluster = local_cluster()
    address = cluster.scheduler_address
    grid = ["--grid", "scale=1.0,2.0", "--grid", "steps=3", "--seeds", "0,1"]
    assert cli.main(["sweep", "toy", *grid, "--scheduler", address, "--out", str(tmp_path / "dask")]) == 0
    assert cli.main(["sweep", "toy", *grid, "--processes", "2", "--out", str(tmp_path / "pool")]) == 0
    tables = [json.loads((tmp_path / f / "sweep.json").read_text())["rows"] for f in ("dask", "pool")]
    assert len(tables[0]) == 4 and _without_wall(tables[0]) == _without_wall(tables[1])
    out = tmp_path / "run"
    assert (
        cli.main(
            ["run", "units", "--set", "steps=5", "--seed", "3", "--scheduler", address, "--out", str(out)]
        )
        == 0
    )
    assert json.loads((out / "metrics.json").read_text())["values"] == _walk(3, 5)


@pytest.mark.integration
def test_a_worker_killed_mid_unit_loses_nothing(local_cluster, tmp_path, monkeypatch):
    """SIGKILL of the worker running a sweep point, after some of its trials: Dask runs the unit again, the
    retry continues from the point's checkpoint, and the table equals a local sweep's."""
    cluster = local_cluster(TOY_SLEEP="0.3")
    out = tmp_path / "dask"
    failures: list[BaseException] = []

    def sweep() -> None:
        try:
            run_sweep("toy", [{"steps": 6}, {"steps": 4}], out, scheduler=cluster.scheduler_address)
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            failures.append(err)

    thread = threading.Thread(target=sweep)
    thread.start()
    checkpoint = out / "point-000" / "checkpoint.pkl"
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    running = {
        ws.address
        for ws in cluster.scheduler.workers.values()
        if any("point-000" in str(t.key) for t in ws.processing)
    }
    victim = next(n for n in cluster.workers.values() if n.worker_address in running)
    os.kill(victim.process.pid, signal.SIGKILL)
    thread.join(120)
    assert not thread.is_alive() and not failures, failures
    log = (out / "point-000" / "log.txt").read_text()
    assert "resuming 'walk' at" in log  # the retry started from the checkpoint the killed worker left
    monkeypatch.delenv("TOY_SLEEP")
    local = run_sweep("toy", [{"steps": 6}, {"steps": 4}], tmp_path / "local", processes=1)
    assert _without_wall(json.loads((out / "sweep.json").read_text())["rows"]) == _without_wall(local)


@pytest.mark.integration
def test_a_lost_client_loses_nothing_and_resume_submits_only_the_missing_units(
    local_cluster, tmp_path, monkeypatch
):
    """`neurosim sweep --scheduler` killed (SIGKILL) once its first point is stored: `sweep --resume`
    submits exactly the points not stored (the scheduler's own record), and the table equals a local
    sweep's."""
    cluster = local_cluster(TOY_SLEEP="0.2")
    recorder = _Submitted()
    cluster.scheduler.add_plugin(recorder.plugin)
    out = tmp_path / "dask"
    argv = ["sweep", "toy", "--grid", "steps=1,6,6", "--grid", "scale=1.0", "--out", str(out)]
    client = subprocess.Popen(
        [sys.executable, "-m", "neurosim.cli", *argv, "--scheduler", cluster.scheduler_address],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while (
            not list((out / "units").glob("*.pkl")) and time.monotonic() < deadline and client.poll() is None
        ):
            time.sleep(0.02)
    finally:
        client.kill()
        client.wait()
    stored = {p.stem for p in (out / "units").glob("*.pkl")}
    assert 1 <= len(stored) < 3, stored
    from distributed import Client

    with Client(cluster, set_as_default=False) as watcher:  # the lost client's units may still be running
        while sum(watcher.run(_executing).values()) and time.monotonic() < deadline + 60:
            time.sleep(0.05)
    recorder.units.clear()
    assert cli.main([*argv, "--resume", "--scheduler", cluster.scheduler_address]) == 0
    assert sorted(recorder.units) == sorted({"point-000", "point-001", "point-002"} - stored)
    monkeypatch.delenv("TOY_SLEEP")
    local = run_sweep("toy", [{"steps": s, "scale": 1.0} for s in (1, 6, 6)], tmp_path / "local", processes=1)
    assert _without_wall(json.loads((out / "sweep.json").read_text())["rows"]) == _without_wall(local)


def _executing(dask_worker) -> int:
    """How many tasks a worker is executing (its threads may outlive the client that asked for them)."""
    return len(dask_worker.state.executing)


# ------------------------------------------------------------------------------------------ the comparison


def _without_wall_times(data):
    """``data`` without its wall-clock entries (``*wall_s*``), which no two runs share."""
    if isinstance(data, dict):
        return {k: _without_wall_times(v) for k, v in data.items() if "wall_s" not in k}
    if isinstance(data, list):
        return [_without_wall_times(v) for v in data]
    return data


@pytest.mark.integration
def test_comparison_units_resume_and_equal_a_pool_run(tmp_path, monkeypatch):
    """The comparison's task × seed units at its tiny sizes: a run stopped after its first unit keeps that
    unit's result, --resume runs only the second, and the results equal those of an uninterrupted run whose
    units ran in a pool of two processes."""
    pytest.importorskip("torch")
    monkeypatch.delenv("NEUROSIM_EXPERIMENTS", raising=False)
    experiment = cli.find_experiment("compare_lstm")
    script = sys.modules["neurosim_experiment_compare_lstm"]
    tiny = experiment.config_type.TINY  # without the ablation's units: only the task x seed units run
    settings = {**tiny, "tasks": ("store_recall",), "seeds": (0, 1), "ablation": False}
    make = experiment.config_type
    pooled = experiment.execute(make(**{**settings, "workers": 2}), tmp_path / "pool", seed=0)
    ran: list[int] = []
    stopped: list[int] = []
    run_unit = script.run_unit

    def stop_at_second(unit, config):
        if unit["seed"] == 1 and not stopped:
            stopped.append(1)
            raise KeyboardInterrupt("stopped")
        ran.append(unit["seed"])
        return run_unit(unit, config)

    monkeypatch.setattr(script, "run_unit", stop_at_second)
    out = tmp_path / "serial"
    serial = make(**{**settings, "workers": 1})
    with pytest.raises(KeyboardInterrupt):
        experiment.execute(serial, out, seed=0)
    assert sorted(p.name for p in (out / "units").iterdir()) == ["store_recall-seed0.pkl"]
    resumed = experiment.execute(serial, out, seed=0, resume=True)
    assert ran == [0, 1]  # seed 0 ran before the stop, only seed 1 after it
    assert not (out / "units").exists()
    assert _without_wall_times(resumed) == _without_wall_times(pooled)
    results = [json.loads((tmp_path / f / "results.json").read_text()) for f in ("pool", "serial")]
    assert _without_wall_times(results[0]["tasks"]) == _without_wall_times(results[1]["tasks"])
