"""Experiment runner, CLI and sweeps: results directories, atomic files, resume, config validation."""

import json
import textwrap

import pytest

from neurosim import cli
from neurosim.experiment import ExperimentError
from neurosim.sweep import grid, parse_grid, run_sweep

TOY = textwrap.dedent(
    '''
    """Toy experiment: a seeded random walk, one checkpointed trial per step, and one figure."""
    import os
    import sys
    import time
    from dataclasses import dataclass
    from neurosim.experiment import Experiment

    @dataclass(frozen=True)
    class Config:
        steps: int = 6
        scale: float = 1.0

    def run(config, ctx):
        def trial(k):
            if k == int(os.environ.get("TOY_KILL_AT", -1)):  # simulates a run killed at trial k
                raise KeyboardInterrupt("killed")
            time.sleep(float(os.environ.get("TOY_SLEEP", 0)))  # a slow trial (a real kill lands mid-run)
            return float(ctx.rng("trial", k).normal() * config.scale)
        values = ctx.trials("walk", list(range(config.steps)), trial)
        if os.environ.get("TOY_FIGURE"):
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            fig, ax = plt.subplots()
            ax.plot(values)
            ctx.save_figure(fig, "walk")
        return {"final": sum(values), "values": values}

    EXPERIMENT = Experiment("toy", "a seeded random walk", Config, run, quick_overrides={"steps": 3})

    if __name__ == "__main__":
        sys.exit(EXPERIMENT.main())
    '''
)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "toy.py").write_text(TOY)
    monkeypatch.setenv("NEUROSIM_EXPERIMENTS", str(folder))
    return cli.find_experiment("toy")


def test_run_writes_a_complete_results_directory(toy, tmp_path):
    out = tmp_path / "run"
    assert cli.main(["run", "toy", "--out", str(out), "--seed", "3"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"config.toml", "run.json", "metrics.json", "metrics.csv", "log.txt"} <= names
    assert not any(n.endswith(".tmp") for n in names)  # atomic writes leave no temporaries
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "complete" and run["seed"] == 3 and "brian2" in run["versions"]


def test_resume_after_a_kill_equals_an_uninterrupted_run(toy, tmp_path, monkeypatch):
    # Checkpoint/resume contract: completed trials are kept, the final result equals an uninterrupted run.
    import pickle

    config = toy.make_config(None, [])
    full = toy.execute(config, tmp_path / "full", seed=7)
    monkeypatch.setenv("TOY_KILL_AT", "4")
    with pytest.raises(KeyboardInterrupt):
        toy.execute(config, tmp_path / "killed", seed=7)
    assert json.loads((tmp_path / "killed" / "run.json").read_text())["status"] == "interrupted"
    ckpt = pickle.loads((tmp_path / "killed" / "checkpoint.pkl").read_bytes())
    assert ckpt["walk"] == full["values"][:4]  # trials 0-3 survived the kill
    # resuming with another config or seed is refused and changes nothing
    with pytest.raises(ExperimentError, match="different config"):
        toy.execute(toy.make_config(None, ["scale=2.0"]), tmp_path / "killed", seed=7, resume=True)
    monkeypatch.delenv("TOY_KILL_AT")
    resumed = toy.execute(config, tmp_path / "killed", seed=7, resume=True)
    assert resumed["values"] == full["values"] and resumed["final"] == full["final"]
    assert not (tmp_path / "killed" / "checkpoint.pkl").exists()


def test_bad_input_is_refused_before_running(toy, tmp_path, capsys):
    assert cli.main(["run", "nope", "--out", str(tmp_path / "a")]) == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err
    assert cli.main(["run", "toy", "--set", "stepz=3", "--out", str(tmp_path / "b")]) == 2
    assert "stepz" in capsys.readouterr().err
    assert cli.main(["run", "toy", "--set", "steps=many", "--out", str(tmp_path / "c")]) == 2
    assert "'steps'" in capsys.readouterr().err
    assert (
        cli.main(["run", "toy", "--config", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "d")])
        == 2
    )
    assert "missing.toml" in capsys.readouterr().err
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()
    # an output directory holding other results is never overwritten
    other = tmp_path / "other"
    other.mkdir()
    (other / "precious.txt").write_text("keep")
    assert cli.main(["run", "toy", "--out", str(other)]) == 2
    assert (other / "precious.txt").read_text() == "keep"
    # --resume on a directory of another experiment is refused
    assert cli.main(["run", "toy", "--out", str(other), "--resume"]) == 2


def test_config_file_and_set_override(toy, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("steps = 4\nscale = 2.0\n")
    config = toy.make_config(cfg, ["scale=0.5"])
    assert config.steps == 4 and config.scale == 0.5


def test_list_and_info(toy, capsys):
    assert cli.main(["list"]) == 0
    assert "toy" in capsys.readouterr().out
    assert cli.main(["info"]) == 0
    assert "brian2" in capsys.readouterr().out


def test_local_sweep_collects_a_table(toy, tmp_path):
    axes = parse_grid(["scale=1.0,2.0", "steps=2"])
    points = grid(axes)
    assert points == [{"scale": 1.0, "steps": 2}, {"scale": 2.0, "steps": 2}]
    rows = run_sweep("toy", points, tmp_path / "sweep", seeds=(0,), processes=1)
    assert [r["scale"] for r in rows] == [1.0, 2.0]
    # the same seed gives the same walk, scaled: final(scale=2) = 2 * final(scale=1)
    assert rows[1]["final"] == pytest.approx(2 * rows[0]["final"])
    assert (tmp_path / "sweep" / "sweep.csv").read_text().startswith("scale,steps,seed")
    with pytest.raises(ExperimentError, match="unknown config key"):
        run_sweep("toy", [{"nope": 1}], tmp_path / "sweep2")


def test_declared_ranges_and_finite_floats_are_checked_at_their_boundaries():
    # The four bounds of neurosim.configs.bounded hold exactly at their edges (> gt, >= ge, < lt, <= le),
    # for every item of a tuple; floats must be finite unless a key takes inf (finite=False); nan never.
    import math
    from dataclasses import dataclass

    from neurosim.configs import bounded, build_config, check_ranges

    @dataclass(frozen=True)
    class Config:
        step: float = bounded(0.1, gt=0, le=1)
        count: int = bounded(3, ge=1, lt=10)
        rates: tuple[float, ...] = bounded((5.0,), gt=0)
        horizon: float = bounded(math.inf, gt=0, finite=False)
        scale: float = 1.0

    def make(**values):
        return build_config(Config, values, owner="toy")

    assert make(step=1, count=1, rates=[1e-9, 2.0], horizon=math.inf).step == 1.0
    assert make(count=9).count == 9 and make(scale=-2.5).scale == -2.5
    refused = {
        "step": [0, -0.1, 1.0000001],
        "count": [0, 10],
        "rates": [[1.0, 0.0], [-1.0]],
        "horizon": [0.0, -math.inf, math.nan],
    }
    for key, values in refused.items():
        for value in values:
            with pytest.raises(ExperimentError, match=f"config key '{key}' = .* is not allowed"):
                make(**{key: value})
    with pytest.raises(ExperimentError, match="'step' = 0.0 is not allowed; must be > 0 and <= 1"):
        make(step=0)
    for value in (math.nan, math.inf, -math.inf):  # a float key without a range still needs a finite value
        with pytest.raises(ExperimentError, match="'scale' = .* expected a finite number"):
            make(scale=value)
    with pytest.raises(ExperimentError, match="'rates' = \\(1.0, -2.0\\) \\(item -2.0\\)"):
        check_ranges(Config(rates=(1.0, -2.0)), owner="toy")  # a config made in Python
