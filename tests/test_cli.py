"""The user's workflow, item by item: the installed command, direct scripts, results directories,
atomic files, progress bars, a real kill and --resume, parallel sweeps, and bad input that changes nothing.

The toy experiment (tests/test_experiment.py: a seeded random walk, one checkpointed trial per step) keeps
each check to a few seconds; the expected values follow from its definition (same seed → same walk).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from neurosim import cli
from neurosim.io import atomic_write, atomic_write_text

from .test_experiment import TOY

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def toys(tmp_path, monkeypatch):
    """An experiments folder with the toy and a second experiment of another name."""
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "toy.py").write_text(TOY)
    (folder / "other.py").write_text(
        TOY.replace('Experiment("toy", "a seeded', 'Experiment("other", "another')
    )
    monkeypatch.setenv("NEUROSIM_EXPERIMENTS", str(folder))
    for name in ("neurosim_experiment_toy", "neurosim_experiment_other"):  # load this folder's scripts
        monkeypatch.delitem(sys.modules, name, raising=False)
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "NEUROSIM_TARGET": "numpy", **extra}


# ---------------------------------------------------------------------------------- commands and scripts


@pytest.mark.integration
def test_installed_neurosim_command_lists_experiments(toys):
    """`neurosim` is an installed entry point (pyproject [project.scripts]); `neurosim list` prints every
    experiment with its one-line description."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["neurosim"] == "neurosim.cli:main"
    exe = shutil.which("neurosim")
    if exe is None:
        pytest.skip("the package is not installed (pip install -e .)")
    done = subprocess.run([exe, "list"], capture_output=True, text=True, env=_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(re.match(r"toy\s+a seeded random walk$", line) for line in lines)
    assert any(re.match(r"other\s+another random walk$", line) for line in lines)


def test_list_shows_every_script_of_the_experiments_folder(monkeypatch, capsys):
    """`neurosim list` on the repository: one line per script in experiments/, each with a description."""
    monkeypatch.delenv("NEUROSIM_EXPERIMENTS", raising=False)
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = sorted(p.stem for p in (ROOT / "experiments").glob("*.py") if not p.name.startswith("_"))
    assert sorted(line.split()[0] for line in lines) == names
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)  # a description on every line


def test_run_and_sweep_help_describe_the_experiment_and_its_config_keys(monkeypatch, capsys):
    """`neurosim run NAME --help` (and `sweep NAME --help`): the experiment's own description and every key
    of its config with its default, beside the shared options; an unknown NAME gets the general help."""
    import dataclasses

    monkeypatch.delenv("NEUROSIM_EXPERIMENTS", raising=False)
    exp = cli.find_experiment("short_term_plasticity")
    for command in ("run", "sweep"):
        with pytest.raises(SystemExit) as done:
            cli.main([command, "short_term_plasticity", "--help"])
        assert done.value.code == 0
        out = capsys.readouterr().out
        assert f"short_term_plasticity: {exp.description}" in out
        for field in dataclasses.fields(exp.config_type):
            assert re.search(rf"^  {field.name}: \S.* = {re.escape(repr(field.default))}", out, flags=re.M)
        assert "  dt_ms: float = 0.1 (> 0, <= 1)  # simulation step" in out  # its declared range too
    assert "--set KEY=VALUE" in out and "--grid KEY=V1,V2" in out
    with pytest.raises(SystemExit):
        cli.main(["run", "nope", "--help"])
    assert "usage: neurosim run" in capsys.readouterr().out


def test_info_reports_versions_target_and_cache(capsys):
    """`neurosim info`: versions, the code generation target (numpy in the tests) and the cache location."""
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    for key in ("python", "neurosim", "brian2", "numpy", "torch"):
        assert re.search(rf"^{key}\s+\S", out, flags=re.M), key
    assert re.search(r"^target\s+numpy", out, flags=re.M)
    assert re.search(r"^cython cache\s+\S", out, flags=re.M)


@pytest.mark.integration
def test_script_runs_directly_with_the_shared_options(toys, tmp_path):
    """`python experiments/NAME.py` takes the same options as `neurosim run NAME` and gives the same
    results: --config FILE, --set KEY=VALUE, --seed, --out."""
    cfg = tmp_path / "walk.toml"
    cfg.write_text("steps = 4\nscale = 2.0\n")
    options = ["--config", str(cfg), "--set", "scale=0.5", "--seed", "2"]
    direct = tmp_path / "direct"
    done = subprocess.run(
        [sys.executable, str(toys / "toy.py"), *options, "--out", str(direct)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert tomllib.loads((direct / "config.toml").read_text()) == {"steps": 4, "scale": 0.5}
    assert cli.main(["run", "toy", *options, "--out", str(tmp_path / "via_cli")]) == 0
    metrics = [json.loads((d / "metrics.json").read_text()) for d in (direct, tmp_path / "via_cli")]
    for m in metrics:
        m.pop("wall_s")
    assert metrics[0] == metrics[1]


# --------------------------------------------------------------------------------------- results directory


def test_results_directory_holds_config_versions_seed_metrics_figures_and_log(toys, tmp_path, monkeypatch):
    """Every run writes the resolved config, versions and seed, metrics as JSON and CSV, its figures
    as PNG and a log; nothing temporary is left behind."""
    monkeypatch.setenv("TOY_FIGURE", "1")
    cfg = tmp_path / "c.toml"
    cfg.write_text("steps = 4\n")
    out = tmp_path / "run"
    assert (
        cli.main(["run", "toy", "--config", str(cfg), "--set", "scale=0.5", "--seed", "5", "--out", str(out)])
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "config.toml", "log.txt", "metrics.csv", "metrics.json", "run.json", "walk.png",
    ]  # fmt: skip
    assert tomllib.loads((out / "config.toml").read_text()) == {"steps": 4, "scale": 0.5}  # defaults resolved
    run = json.loads((out / "run.json").read_text())
    assert run["experiment"] == "toy" and run["seed"] == 5 and run["status"] == "complete"
    assert {"python", "neurosim", "brian2", "numpy"} <= set(run["versions"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["values"]) == 4 and metrics["final"] == pytest.approx(sum(metrics["values"]))
    rows = dict(line.split(",", 1) for line in (out / "metrics.csv").read_text().splitlines())
    assert rows["key"] == "value" and float(rows["final"]) == pytest.approx(metrics["final"])
    assert (out / "walk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    log = (out / "log.txt").read_text()
    assert "running toy (seed 5)" in log and "done in" in log


def test_atomic_write_never_leaves_a_half_written_file(tmp_path):
    """A writer that fails half-way (a crash) leaves the previous file intact and no temporary file."""
    path = atomic_write_text(tmp_path / "metrics.json", '{"complete": true}\n')

    def crash(fh):
        fh.write('{"compl')
        raise KeyboardInterrupt("killed while writing")

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "new.json", crash)
    assert json.loads(path.read_text()) == {"complete": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


# --------------------------------------------------------------------------------------------- progress


class _Terminal:
    """A stderr stand-in that says it is a terminal (progress bars draw only on terminals)."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_progress_bar_counts_trials_with_an_eta(toys, tmp_path, monkeypatch):
    """RunContext.trials draws a tqdm bar on a terminal: trials done / total and elapsed<remaining (ETA)."""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("TOY_SLEEP", "0.15")  # longer than tqdm's 0.1 s redraw interval
    toy = cli.find_experiment("toy")
    toy.execute(toy.make_config(None, ["steps=3"]), tmp_path / "run", seed=0)
    bar = r"walk: +\d+%\|.*\| [12]/3 \[\d\d:\d\d<\d\d:\d\d"  # done/total [elapsed<ETA
    assert re.search(bar, terminal.text)


def test_progress_bar_in_simulated_seconds(capsys):
    """Simulation.run shows a bar in simulated seconds (Brian2 report callback) when asked or for runs of a
    second or more."""
    from brian2 import Hz, second

    import neurosim as ns

    desc = ns.NetworkDescription(populations=(ns.Population("P", 5, ns.PoissonSource(rate=5 * Hz)),))
    ns.build(desc).run(1 * second, progress=True)
    err = capsys.readouterr().err
    assert "simulating" in err and "s (sim)" in err


# ------------------------------------------------------------------------------------ kill and --resume


@pytest.mark.integration
def test_killed_process_resumes_to_the_uninterrupted_result(toys, tmp_path):
    """A run killed with SIGKILL mid-way keeps every completed trial (checkpoint written atomically after each
    one); --resume continues from there and the final results equal an uninterrupted run with the seed."""
    toy = cli.find_experiment("toy")
    full = toy.execute(toy.make_config(None, ["steps=8"]), tmp_path / "full", seed=4)
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, str(toys / "toy.py"), "--set", "steps=8", "--seed", "4", "--out", str(out)],
        env=_env(TOY_SLEEP="0.3"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    done: list[float] = []
    deadline = time.monotonic() + 120
    try:
        while len(done) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            if (out / "checkpoint.pkl").exists():
                done = pickle.loads((out / "checkpoint.pkl").read_bytes())["walk"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert 3 <= len(done) < 8, "the run must be killed mid-way"
    assert json.loads((out / "run.json").read_text())["status"] == "running"
    assert not (out / "metrics.json").exists()  # no result from a killed run
    kept = pickle.loads((out / "checkpoint.pkl").read_bytes())["walk"]
    assert kept == full["values"][: len(kept)]
    assert cli.main(["run", "toy", "--set", "steps=8", "--seed", "4", "--out", str(out), "--resume"]) == 0
    resumed = json.loads((out / "metrics.json").read_text())
    assert resumed["values"] == full["values"] and resumed["final"] == full["final"]
    assert f"resuming 'walk' at {len(kept)}/8" in (out / "log.txt").read_text()


# ----------------------------------------------------------------------------------------------- sweeps


@pytest.mark.integration
def test_sweep_runs_in_parallel_processes_and_collects_a_table_and_plots(toys, tmp_path, monkeypatch):
    """`neurosim sweep` with --processes 2 runs each point in another process and writes sweep.csv,
    sweep.json, one plot per metric and a results directory per point; the parallel rows equal a serial
    sweep over the same points given as a list."""
    from neurosim.sweep import run_sweep

    out = tmp_path / "sweep"
    argv = ["sweep", "toy", "--grid", "scale=1.0,2.0", "--grid", "steps=2", "--seeds", "0,1"]
    assert cli.main([*argv, "--processes", "2", "--out", str(out)]) == 0
    data = json.loads((out / "sweep.json").read_text())
    assert data["experiment"] == "toy" and len(data["rows"]) == 4
    assert (out / "sweep.csv").read_text().splitlines()[0] == "scale,steps,seed,final,wall_s"
    assert (out / "sweep_final.png").stat().st_size > 1000
    assert not list(out.rglob("*.tmp"))  # every file written atomically
    assert sorted(p.name for p in out.glob("point-*")) == [f"point-{k:03d}" for k in range(4)]
    assert json.loads((out / "point-003" / "run.json").read_text())["status"] == "complete"
    points = [{"scale": 1.0, "steps": 2}, {"scale": 2.0, "steps": 2}]
    serial = run_sweep("toy", points, tmp_path / "serial", seeds=(0, 1), processes=1)
    assert [r["final"] for r in data["rows"]] == [r["final"] for r in serial]


# -------------------------------------------------------------------------------------------- bad input


def test_missing_unreadable_or_invalid_config_is_refused_before_running(toys, tmp_path, capsys):
    """Bad config input: a clear message naming the file or key (and what is allowed), exit status 2, and no
    results directory."""
    folder = tmp_path / "a_folder.toml"
    folder.mkdir()
    broken = tmp_path / "broken.toml"
    broken.write_text("steps = [1,\n")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00steps")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("stpes = 3\n")
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('steps = "many"\n')
    cases = [
        (["--config", str(tmp_path / "missing.toml")], "missing.toml' does not exist"),
        (["--config", str(folder)], "is not a file"),
        (["--config", str(broken)], "broken.toml' cannot be read"),
        (["--config", str(binary)], "binary.toml' cannot be read"),
        (["--config", str(unknown)], "unknown config key(s) ['stpes']; allowed: ['scale', 'steps']"),
        (["--config", str(wrong)], "'steps' = 'many' has the wrong type; expected int"),
        (["--set", "scale=big"], "'scale' = 'big' has the wrong type; expected float"),
        (["--set", "scale"], "--set expects KEY=VALUE"),
    ]
    for k, (options, message) in enumerate(cases):
        out = tmp_path / f"out{k}"
        assert cli.main(["run", "toy", *options, "--out", str(out)]) == 2, options
        assert message in capsys.readouterr().err, options
        assert not out.exists(), options


def test_unknown_experiment_is_refused_with_the_available_names(toys, tmp_path, capsys):
    assert cli.main(["run", "nope", "--out", str(tmp_path / "a")]) == 2
    assert "unknown experiment 'nope'; available: other, toy" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_existing_results_are_never_overwritten(toys, tmp_path, capsys):
    """--resume on a directory of another experiment or of another config or seed, a run into a directory
    that holds results, or an --out that is a file: refused with a message, every file unchanged."""
    out = tmp_path / "run"
    assert cli.main(["run", "toy", "--set", "steps=3", "--out", str(out)]) == 0
    before = _snapshot(out)
    refusals = [
        (["other", "--set", "steps=3", "--resume"], "holds a run of experiment 'toy', not 'other'"),
        (["toy", "--set", "steps=4", "--resume"], "different config or seed"),
        (["toy", "--set", "steps=3", "--seed", "9", "--resume"], "different config or seed"),
        (["toy", "--set", "steps=3"], "already holds results"),
    ]
    for options, message in refusals:
        assert cli.main(["run", *options, "--out", str(out)]) == 2, options
        assert message in capsys.readouterr().err, options
        assert _snapshot(out) == before, options
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    assert cli.main(["run", "toy", "--out", str(a_file)]) == 2
    assert "notes.txt" in capsys.readouterr().err and a_file.read_text() == "keep"
    sweep_out = tmp_path / "sweep"
    sweep_out.mkdir()
    (sweep_out / "precious.csv").write_text("keep")
    assert cli.main(["sweep", "toy", "--grid", "steps=2", "--processes", "1", "--out", str(sweep_out)]) == 2
    assert "already holds results" in capsys.readouterr().err
    assert _snapshot(sweep_out) == {"precious.csv": b"keep"}
