"""experiments/compare_lstm.py: every task on every learner, results.json schema, results.md with a verdict
per task, figures, the console's table, config validation, and the report built from known answers."""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

import numpy as np
import pytest

from .records import learner_result

pytest.importorskip("torch")

FIGURES = (
    "accuracy_vs_delay",
    "accuracy_vs_load",
    "accuracy_vs_pruning",
    "accuracy_vs_training",
    "retention",
    "novelty_recall",
)
TASK_NAMES = (
    "associative_recall",
    "paired_association",
    "store_recall",
    "sequence_recall",
    "continual_learning",
    "novelty_recall",
)
LEARNERS = ("snn", "lstm", "gru", "transformer")
#: Novelty recall also runs the spiking network without salience.
NOVELTY_LEARNERS = ("snn", "snn_no_salience", "lstm", "gru", "transformer")
REQUIRED = (
    "accuracy",
    "train_trials",
    "train_wall_s",
    "test_wall_s",
    "train_wall_s_per_trial",
    "test_wall_s_per_trial",
    "parameters_plastic",
    "parameters_total",
    "nonzero_weights",
    "ops",
    "energy_j",
    "test_answers",
    "test_repeats",
)


def _experiment():
    from neurosim import cli

    return cli.find_experiment("compare_lstm")


def _script(name: str):
    """A function of the experiment's script (experiments/compare_lstm.py)."""
    return _experiment().run.__globals__[name]


def _check_outputs(out: Path, seeds: list[int], answers: int) -> dict:
    data = json.loads((out / "results.json").read_text())
    assert set(data) >= {"tasks", "verdicts", "config", "seeds"} and data["seeds"] == seeds
    assert tuple(data["tasks"]) == TASK_NAMES
    for name, per in data["tasks"].items():
        assert tuple(per) == (NOVELTY_LEARNERS if name == "novelty_recall" else LEARNERS), name
        for learner, entry in per.items():
            for field in REQUIRED:
                assert isinstance(entry[field], (int, float)), (name, learner, field)
            assert 0.0 <= entry["accuracy"] <= 1.0 and entry["test_answers"] >= answers
            assert entry["parameters_total"] >= entry["parameters_plastic"] > 0 and entry["energy_j"] > 0
        # matched sizes: every conventional learner's weights ≈ the spiking network's synapses, all of them
        snn = per["snn"]["parameters_total"]
        for learner in LEARNERS[1:]:
            assert abs(per[learner]["parameters_total"] - snn) <= 0.25 * snn, (name, learner)
        assert per["snn"]["energy_counts"]["neuron_updates"] > 0
    assert data["tasks"]["continual_learning"]["snn"]["retention_a"] is not None
    assert "accuracy_vs_delay" in data["tasks"]["store_recall"]["gru"]
    assert "accuracy_vs_pruned_fraction" in data["tasks"]["associative_recall"]["transformer"]
    novelty = data["tasks"]["novelty_recall"]
    for learner, entry in novelty.items():  # the same test answers split by kind of item, for every learner
        assert 0 <= entry["accuracy_novel"] <= 1 and 0 <= entry["accuracy_familiar"] <= 1, learner
    assert novelty["snn_no_salience"]["parameters_total"] == novelty["snn"]["parameters_total"]
    assert "salience on vs off, novel items: " in data["verdicts"]["novelty_recall"]["line"]
    report = (out / "results.md").read_text()
    _check_verdicts(report, TASK_NAMES)
    _check_ablation(data, report)
    for fig in FIGURES:
        assert (out / f"{fig}.png").stat().st_size > 1000, fig
    return data


def _check_ablation(data: dict, report: str) -> None:
    """The controller's ablation: every variant on each of its tasks with a verdict against the snn, or,
    when it did not run, results.md saying so; its section in results.md either way."""
    from neurosim.comparison.ablation import VARIANTS

    ab = data["ablation"]
    assert "## Ablation: the frontal controller" in report
    if not ab["run"]:
        assert f"The ablation was {ab['why_not']}." in report
        return
    assert {(t, v) for t, per in ab["tasks"].items() for v in per} == {
        (t, v.name) for v in VARIANTS for t in v.tasks
    }
    for task, per in ab["comparisons"].items():
        for variant, c in per.items():
            assert c["line"] in report and c["line"].startswith(f"{task}, "), (task, variant)


def _check_verdicts(report: str, tasks) -> None:
    """results.md opens with one verdict line per task, and has the priors and the targets."""
    section = re.search(r"\A# .+\n\n## Verdict\n\n((?:- .+\n)+)", report)
    assert section, "results.md does not open with the verdict"
    lines = section.group(1).splitlines()
    assert [line.split(":")[0] for line in lines] == [f"- {t}" for t in tasks]
    for line in lines:
        assert re.search(r": (\w+ better than \w+|no significant difference between \w+ and \w+)", line)
    assert "## Priors" in report and "## Targets" in report


@pytest.mark.integration
def test_tiny_comparison_writes_the_required_results(tmp_path, capsys):
    """The experiment's contract, run as the command line runs it: results.json {"tasks": {TASK:
    {LEARNER: {...}}}, "verdicts", ...}, results.md opening with a verdict per task, the six figures, and
    the console ending with the table and the verdicts (not a JSON dict); novelty recall runs the spiking
    network with and without salience."""
    experiment = _experiment()
    tiny = experiment.config_type.TINY  # the smallest sizes: every task and learner, a trial or two each
    args = [x for k, v in tiny.items() for x in ("--set", f"{k}={_toml(v)}")]
    assert experiment.main([*args, "--out", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr().out
    _check_outputs(tmp_path / "run", [0], tiny["test_answers"])
    assert "Verdict:" in printed and not printed.lstrip().startswith("{")
    for name in TASK_NAMES:
        assert re.search(rf"^  {name}: ", printed, flags=re.M), name
        assert re.search(rf"^{name} +transformer ", printed, flags=re.M), name
    assert re.search(r"^novelty_recall +snn_no_salience ", printed, flags=re.M)


BAD = [
    ("coding_level", -0.1),
    ("coding_level", math.inf),
    ("assoc_cue", -0.5),
    ("assoc_units", -100),
    ("assoc_patterns", 0),
    ("load_patterns", [-5]),
    ("paired_noise", math.inf),
    ("paired_cue", 0.0),
    ("paired_pairs", -8),
    ("sr_p_store", -0.5),
    ("sr_p_store", math.inf),
    ("seq_length", -3),
    ("seq_items", -1),
    ("seq_cue", 1.5),
    ("cont_units", -1),
    ("cont_patterns", -5),
    ("lstm_lr", -0.01),
    ("lstm_lr", math.inf),
    ("transformer_lr", 0.0),
    ("test_answers", 0),
    ("learners", ["snn", "rnn"]),
    ("tasks", ["nope"]),
    ("novelty_novel", 0),
    ("novelty_items", -12),
    ("novelty_train", 0),
]


@pytest.mark.parametrize(("key", "value"), BAD, ids=[f"{k}={v}" for k, v in BAD])
def test_bad_config_values_are_refused_naming_the_key(key, value):
    """Negative, zero or infinite sizes, rates and probabilities are refused before any work, naming the key
    (TOML spells infinity ``inf``)."""
    from neurosim.validation import ParameterError

    with pytest.raises(ParameterError, match=f"'{key}'"):
        _experiment().make_config(None, [f"{key}={_toml(value)}"])


def test_bad_config_is_refused_before_running(tmp_path):
    from neurosim.experiment import ExperimentError
    from neurosim.validation import ParameterError

    experiment = _experiment()
    with pytest.raises(ParameterError, match="'delays'"):
        experiment.make_config(None, ["sr_max_delay=2", "delays=[0, 4]"])
    with pytest.raises(ParameterError, match=r"'sr_max_delay'.*delays 0 \.\. sr_max_delay.*\[0, 2, 4, 6\]"):
        experiment.make_config(None, ["sr_max_delay=-1"])
    with pytest.raises(ParameterError, match="'n_items'"):  # the task's own check: too few shared items
        experiment.make_config(None, ["seq_sequences=4", "seq_items=5"])
    with pytest.raises(ParameterError, match="'n_items'"):  # novelty recall: fewer items than it shows
        experiment.make_config(None, ["novelty_items=4", "novelty_familiar=3", "novelty_novel=2"])
    # a task left out is not built, so its knobs are not held against the run
    assert experiment.make_config(None, ['tasks=["store_recall"]', "novelty_items=4"]).tasks == (
        "store_recall",
    )
    with pytest.raises(ExperimentError, match="unknown config key"):
        experiment.make_config(None, ["n_hidden=3"])
    assert not (tmp_path / "run").exists()


def test_quick_and_default_runs_score_at_least_200_answers_per_task_and_seed():
    """The number of test trials is the fewest whose scored answers reach ``test_answers`` (200 by default,
    quick runs included): one fewer trial would not."""
    experiment = _experiment()
    n_test_trials, make_task = _script("n_test_trials"), _script("make_task")
    for quick in (False, True):
        config = experiment.make_config(None, [], quick=quick)
        assert config.test_answers >= 200 and len(config.seeds) >= 3
        for name in TASK_NAMES:
            task = make_task(name, config)
            split = "test_a" if name == "continual_learning" else "test"
            for seed in (0, 1):
                n = n_test_trials(task, config.test_answers, seed)
                due = [int(t.scored.sum()) for t in task.trials(n, seed, split)]
                fewer = [int(t.scored.sum()) for t in task.trials(n - 1, seed, split)] if n > 1 else [0]
                assert sum(due) >= config.test_answers > sum(fewer), (name, seed, quick)


@pytest.mark.slow
def test_quick_run_writes_every_result(tmp_path):
    """``--quick`` (the README's main job) runs every task on every learner for its seeds and writes the
    full contract (its run time is the benchmark's business, not a test's)."""
    experiment = _experiment()
    config = experiment.make_config(None, [], quick=True)
    experiment.execute(config, tmp_path / "quick", seed=0, quick=True)
    _check_outputs(tmp_path / "quick", list(config.seeds), 200)


def _toml(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


# -- the report from known answers (no training) ---------------------------------------------------------
class _Config:
    """The settings the report reads."""

    seeds = (0, 1, 2)
    tasks = ("associative_recall", "store_recall", "novelty_recall")
    learners = NOVELTY_LEARNERS
    test_answers = 200
    assoc_patterns = 5
    assoc_cue = 0.5
    sr_max_delay = 2
    epochs = 60
    batch_size = 16
    lstm_lr = gru_lr = 1e-2
    transformer_lr = 3e-3


def _unit(task: str, seed: int, p_right: dict[str, float | tuple[float, float]]) -> dict:
    """A unit whose learners answer the same 200 test questions; where a learner with a lower rate is right,
    every learner with a higher rate is right too (nested answers, as learners of different skill). A rate
    given as (novel, familiar) applies to the alternate answers about novel and familiar items."""
    u = np.random.default_rng([seed, len(task)]).random(200)
    novel = np.arange(200) % 2 == 0
    unit: dict = {"task": task, "seed": seed, "overrides": {}}
    if task == "novelty_recall":
        unit["test_novel"] = novel.tolist()
    for learner, p in p_right.items():
        rate = np.where(novel, p[0], p[1]) if isinstance(p, tuple) else p
        counts = {"synaptic_events": 1000} if learner == "snn" else {"multiply_accumulates": 1000}
        per_trial = {"train_wall_s_per_trial": 0.01, "test_wall_s_per_trial": 0.001}
        result = learner_result(u < rate, n_outputs=2, counts=counts, extra=per_trial)
        curves = {"curve": [0.5, 1.0], "delays": {"0": np.mean(rate), "2": np.mean(rate)}}
        unit[learner] = {**result, **curves}
        if task == "associative_recall":
            unit[learner]["pruning"] = {"0": {"accuracy": rate, "parameters": 100}}
    return unit


@pytest.fixture(scope="module")
def known():
    """Known answers: on associative recall every conventional learner is right on 95% of 200 answers × 3
    seeds and the snn on 60% (nested errors); on store-recall all learners give the same answers; on novelty
    recall the snn is right on 80% of novel and 97% of familiar items, without salience on 35% and 97%, the
    conventional learners on 50% and 90%. Summarized as a ``--quick`` run."""
    from neurosim.comparison import summarize_comparison

    rates = {
        "associative_recall": {"snn": 0.60, "lstm": 0.95, "gru": 0.95, "transformer": 0.95},
        "store_recall": {"snn": 0.9, "lstm": 0.9, "gru": 0.9, "transformer": 0.9},
        "novelty_recall": {
            "snn": (0.8, 0.97),
            "snn_no_salience": (0.35, 0.97),
            "lstm": (0.5, 0.9),
            "gru": (0.5, 0.9),
            "transformer": (0.5, 0.9),
        },
    }
    results = [_unit(t, s, rates[t]) for t in _Config.tasks for s in _Config.seeds]
    return results, summarize_comparison(results, [], _Config(), quick=True)


def test_report_states_the_better_learner_and_whether_it_is_significant(known):
    """From the known answers: "lstm better than snn" with a significant difference of about +0.35 on
    associative recall; no significant difference on store-recall. A quick run cannot test the 10-pattern
    target: it says so. results.md opens with the verdicts; the console ends with them."""
    from neurosim.comparison import console_text, markdown

    _, summary = known
    assoc, sr = summary["verdicts"]["associative_recall"], summary["verdicts"]["store_recall"]
    assert re.match(r"associative_recall: lstm better than snn \(\+0\.3\d, 95% CI", assoc["line"])
    assert all(c["significant"] and c["high"] < 0 for c in assoc["comparisons"])  # snn − each: below 0
    assert sr["line"].startswith("store_recall: no significant difference between snn and ")
    assert not any(c["significant"] for c in sr["comparisons"])
    snn = summary["tasks"]["associative_recall"]["snn"]
    assert snn["accuracy_ci"][0] < snn["accuracy"] < snn["accuracy_ci"][1]
    statuses = {text.split(" (")[0]: status for text, status, _ in summary["targets"]}
    assert (
        statuses["snn associative recall >= 90% with >= 10 patterns from 50% cues"] == "not tested in --quick"
    )
    report = markdown(summary, _Config(), 1.0)
    _check_verdicts(report, _Config.tasks)
    assert "not tested in --quick" in report and "14 nm" in report and "45 nm" in report
    text = console_text(summary)
    assert text.splitlines()[-3:] == [f"  {summary['verdicts'][t]['line']}" for t in _Config.tasks]


def test_novelty_recall_verdict_adds_salience_on_vs_off_on_novel_items(known):
    """From the known answers of novelty recall (novel / familiar items: snn 0.80 / 0.97, without salience
    0.35 / 0.97, the others 0.50 / 0.90; nested, 100 of each kind per seed × 3 seeds): the snn is better than
    the best conventional learner by about +0.18 (the verdict sets it against them, not its own variant),
    salience on beats off on novel items by about +0.45 with the interval above 0 (the target: met), the
    accuracies by kind of item are reported with intervals, and results.md has their table and the verdict
    line."""
    from neurosim.comparison import markdown

    _, summary = known
    line = summary["verdicts"]["novelty_recall"]["line"]
    assert re.match(r"novelty_recall: snn better than (lstm|gru|transformer) \(\+0\.1\d, 95% CI", line), line
    assert re.search(r"; salience on vs off, novel items: snn better than snn_no_salience \(\+0\.4\d", line)
    found = summary["verdicts"]["novelty_recall"]["comparisons"]
    (novel,) = [c for c in found if c.get("answers") == "novel items"]
    assert novel["significant"] and 0 < novel["low"] < novel["difference"] < novel["high"]
    per = summary["tasks"]["novelty_recall"]
    for learner, (p_novel, p_familiar) in {"snn": (0.8, 0.97), "snn_no_salience": (0.35, 0.97)}.items():
        assert abs(per[learner]["accuracy_novel"] - p_novel) < 0.07 and per[learner]["accuracy_novel_ci"]
        assert abs(per[learner]["accuracy_familiar"] - p_familiar) < 0.05
        low, high = per[learner]["accuracy_novel_ci"]
        assert low < per[learner]["accuracy_novel"] < high
    statuses = {text.split(" (")[0].split(",")[0]: status for text, status, _ in summary["targets"]}
    assert statuses["snn novelty recall: salience on beats off on novel items"] == "met"
    report = markdown(summary, _Config(), 1.0)
    assert "## Novelty recall: novel and familiar items" in report
    assert re.search(r"^\| snn_no_salience \| 0\.3\d\d \[", report, flags=re.M)
    assert "| novelty_recall | snn − snn_no_salience | novel items |" in report


def test_only_the_figures_of_the_tasks_run_are_written(known, tmp_path):
    """Without continual learning or a load sweep, no retention or load figure (no empty files); novelty
    recall gets its figure of novel and familiar items."""
    from neurosim.comparison import figures
    from neurosim.experiment import RunContext

    results, summary = known
    ctx = RunContext("compare_lstm", tmp_path, 0, True, logging.getLogger("test"))
    drawn = figures(summary, results, ctx)
    assert drawn == ["accuracy_vs_delay", "accuracy_vs_pruning", "accuracy_vs_training", "novelty_recall"]
    assert sorted(p.stem for p in tmp_path.glob("*.png")) == sorted(drawn)


def test_units_start_one_per_task_in_rounds_and_come_back_in_their_order():
    """Each task's first unit starts before any second one, those of the two spiking networks first (a cold
    cache then compiles both at once); the results still come back in the order of the units."""
    tasks = ("associative_recall", "paired_association", "store_recall")
    units = [{"task": t, "seed": s, "kind": "main"} for t in tasks for s in (0, 1)]
    submitted = []

    class Context:
        def map_units(self, key, calls, processes):
            submitted.extend(call.key for call in calls)
            return [f"result of {call.key}" for call in calls]

    config = _script("Config")()
    results = _script("_run_units")(Context(), "units", units, config)
    first = ("associative_recall", "store_recall", "paired_association")  # the two networks first
    assert submitted == [f"{t}-seed{s}" for s in (0, 1) for t in first]
    assert results == [f"result of {t}-seed{s}" for t in tasks for s in (0, 1)]
