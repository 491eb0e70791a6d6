"""experiments/compare_lstm.py: every task on both backends, results.json schema, results.md and figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("torch")

FIGURES = (
    "accuracy_vs_delay",
    "accuracy_vs_load",
    "accuracy_vs_pruning",
    "accuracy_vs_training",
    "retention",
)
TASK_NAMES = (
    "associative_recall",
    "paired_association",
    "store_recall",
    "sequence_recall",
    "continual_learning",
)
REQUIRED = ("accuracy", "train_trials", "train_wall_s", "test_wall_s", "parameters", "ops", "energy_j")


def _experiment():
    from neurosim import cli

    return cli.find_experiment("compare_lstm")


def _check_outputs(out: Path, seeds: list[int]) -> dict:
    data = json.loads((out / "results.json").read_text())
    assert set(data) >= {"tasks", "config", "seeds"} and data["seeds"] == seeds
    assert tuple(data["tasks"]) == TASK_NAMES
    for name, per in data["tasks"].items():
        assert set(per) == {"snn", "lstm"}, name
        for backend, entry in per.items():
            for field in REQUIRED:
                assert isinstance(entry[field], (int, float)), (name, backend, field)
            assert 0.0 <= entry["accuracy"] <= 1.0
            assert entry["parameters"] > 0 and entry["ops"] > 0 and entry["energy_j"] > 0
    assert data["tasks"]["continual_learning"]["snn"]["retention_a"] is not None
    assert "accuracy_vs_delay" in data["tasks"]["store_recall"]["snn"]
    assert "accuracy_vs_pruned_fraction" in data["tasks"]["associative_recall"]["lstm"]
    table = (out / "results.md").read_text()
    assert "| associative_recall | snn |" in table and "| continual_learning | lstm |" in table
    targets = re.search(r"^## Targets\n\n((?:- .+\n)+)", table, flags=re.M)
    assert targets, "results.md has no Targets section"
    for line in targets.group(1).splitlines():  # every target says whether the run met it
        assert re.search(r": (met|\*\*not met\*\*|not run) \(.+\)$", line), line
    for fig in FIGURES:
        assert (out / f"{fig}.png").stat().st_size > 1000, fig
    return data


@pytest.mark.integration
def test_tiny_comparison_writes_the_required_results(tmp_path):
    """The experiment's contract: results.json {"tasks": {TASK: {"snn"|"lstm": {accuracy, ...}}},
    "config", "seeds"}, a Markdown table and the five figures, for every task on both backends."""
    experiment = _experiment()
    tiny = experiment.config_type.TINY  # the smallest sizes: every task, both backends, a trial or two each
    config = experiment.make_config(None, [f"{k}={_toml(v)}" for k, v in tiny.items()])
    experiment.execute(config, tmp_path / "run", seed=0)
    data = _check_outputs(tmp_path / "run", [0])
    # matched sizes: the LSTM's weights ≈ the spiking network's plastic synapses
    for name, per in data["tasks"].items():
        snn, lstm = per["snn"]["parameters"], per["lstm"]["parameters"]
        assert abs(lstm - snn) <= 0.5 * snn, (name, snn, lstm)


def test_bad_config_is_refused_before_running(tmp_path):
    from neurosim.experiment import ExperimentError
    from neurosim.validation import ParameterError

    experiment = _experiment()
    with pytest.raises(ParameterError, match="'tasks'"):
        experiment.make_config(None, ['tasks=["nope"]'])
    with pytest.raises(ParameterError, match="'delays'"):
        experiment.make_config(None, ["sr_max_delay=2", "delays=[0, 4]"])
    with pytest.raises(ExperimentError, match="unknown config key"):
        experiment.make_config(None, ["n_hidden=3"])
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_quick_run_writes_every_result(tmp_path):
    """``--quick`` (the README's main job) runs every task on both backends for its two seeds and writes the
    full contract (its run time is the benchmark's business, not a test's)."""
    experiment = _experiment()
    experiment.execute(experiment.make_config(None, [], quick=True), tmp_path / "quick", seed=0, quick=True)
    _check_outputs(tmp_path / "quick", [0, 1])


def _toml(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def test_recorded_results_render_to_their_recorded_report():
    """Independent of any training run: the full comparison recorded in docs/results/compare_lstm renders,
    from its results.json, to the targets stored there and to the report stored beside it (from the first
    section on; the paragraph above it says how that run was made)."""
    import dataclasses

    from neurosim.comparison.markdown import markdown
    from neurosim.comparison.summary import targets

    folder = Path(__file__).resolve().parents[1] / "docs" / "results" / "compare_lstm"
    summary = json.loads((folder / "results.json").read_text())
    config = _experiment().make_config(None, [])
    stored = {k: tuple(v) if isinstance(v, list) else v for k, v in summary["config"].items()}
    config = dataclasses.replace(config, **stored)
    assert [list(t) for t in targets(summary, config)] == summary["targets"]
    rendered = markdown(summary, config, summary["wall_s"])
    recorded = (folder / "results.md").read_text()
    assert rendered[rendered.index("\n## ") :] == recorded[recorded.index("\n## ") :]
