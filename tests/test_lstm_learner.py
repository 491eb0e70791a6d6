"""The LSTM learner, the learner protocol, and a user's GRU learner written against the protocol."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from neurosim.learners import (  # noqa: E402
    Fit,
    Learner,
    LearnerBase,
    LSTMLearner,
    Prediction,
    ResultRecord,
    hidden_size_for_parameters,
    run_task,
)
from neurosim.metrics import (  # noqa: E402
    E_MAC_FP32_45NM_J,
    E_SRAM_READ_32BIT_45NM_J,
    lstm_forward_macs,
    lstm_parameter_count,
)
from neurosim.tasks import (  # noqa: E402
    AssociativeRecall,
    ContinualAssociative,
    PairedAssociation,
    SequenceRecall,
    StoreRecall,
    Trial,
    stack_trials,
)
from neurosim.validation import ParameterError  # noqa: E402

#: A small store-recall setting the LSTM solves in seconds: delays of 0–4 steps (≤ 0.8 s at 200 ms/step).
FAST_STORE_RECALL = StoreRecall(min_delay=0, max_delay=4, n_recalls=2)
FAST_LSTM = {"hidden_size": 32, "lr": 1e-2, "epochs": 8, "batch_size": 16}


class GRULearner(LearnerBase):
    """A user's learner, outside the package: a GRU + readout trained like the LSTM, via LearnerBase."""

    name = "gru"
    op_name = "multiply-accumulates"
    joules_per_op = E_MAC_FP32_45NM_J

    def __init__(self, n_inputs: int, n_outputs: int, hidden_size=32, lr=1e-2, epochs=8, batch=16, seed=0):
        super().__init__(n_inputs, n_outputs)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.gru = nn.GRU(n_inputs, hidden_size, batch_first=True)
            self.readout = nn.Linear(hidden_size, n_outputs)
        self.params = [*self.gru.parameters(), *self.readout.parameters()]
        self.optimizer = torch.optim.Adam(self.params, lr=lr)
        self.h, self.epochs, self.batch = hidden_size, epochs, batch
        self.rng = np.random.default_rng(seed)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.params)

    def _macs(self, steps: int) -> int:  # 3 gates
        h = self.h
        return 3 * (self.n_inputs * h + h * h + h) * steps + self.n_outputs * h * steps

    def _answers(self, trials: Sequence[Trial]):
        batch = stack_trials(trials)
        out, _ = self.gru(torch.as_tensor(batch.inputs, dtype=torch.float32))
        return batch, self.readout(out)

    def _fit(self, trials: Sequence[Trial]) -> Fit:
        presented, answers, ops = [], [], 0
        loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
        for _ in range(self.epochs):
            order = self.rng.permutation(len(trials))
            for start in range(0, len(order), self.batch):
                idx = order[start : start + self.batch]
                batch, logits = self._answers([trials[i] for i in idx])
                pred = logits.argmax(-1).numpy()
                presented += idx.tolist()
                answers += [pred[b, :n] for b, n in enumerate(batch.lengths)]
                loss = loss_fn(logits.reshape(-1, self.n_outputs), torch.as_tensor(batch.targets).reshape(-1))
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                ops += 3 * self._macs(int(batch.lengths.sum()))
        return Fit(presented, answers, ops)

    def _predict(self, trials: Sequence[Trial]) -> Prediction:
        with torch.no_grad():
            batch, logits = self._answers(trials)
        pred = logits.argmax(-1).numpy()
        return Prediction(
            [pred[b, :n] for b, n in enumerate(batch.lengths)], self._macs(int(batch.lengths.sum()))
        )


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_lstm_learns_store_recall_to_95_percent():
    """Target: the LSTM reaches ≥ 95% on store-recall (delays ≤ 4 steps, 256 trials × 8 epochs)."""
    learner = LSTMLearner.for_task(FAST_STORE_RECALL, **FAST_LSTM, seed=0)
    rec = run_task(learner, FAST_STORE_RECALL, n_train=256, n_test=200, seed=0)
    assert rec.accuracy >= 0.95
    assert rec.trials_to_criterion is not None and rec.trials_to_criterion <= rec.train_trials
    assert rec.train_trials == 256 * 8
    assert rec.parameters == lstm_parameter_count(4, 32, 2)


def test_lstm_learns_small_associative_recall_from_half_cues():
    """Trained on 10 full sparse patterns, the LSTM names the pattern from 50% cues (≥ 90%, overlap ≥ 0.9)."""
    task = AssociativeRecall(n_patterns=10, n_units=100, coding_level=0.1, cue_fraction=0.5)
    learner = LSTMLearner.for_task(task, hidden_size=32, epochs=10, batch_size=10, seed=0)
    rec = run_task(learner, task, n_train=100, n_test=200, seed=0)
    assert rec.accuracy >= 0.9
    assert rec.extra["overlap"] >= 0.9 and rec.extra["overlap_source"] == "predicted_class"


def test_lstm_forgets_set_a_after_learning_set_b():
    """Catastrophic forgetting (McCloskey & Cohen 1989): sequential training on B erodes A in an LSTM."""
    task = ContinualAssociative(n_patterns_per_set=5, n_units=60, cue_fraction=0.5)
    learner = LSTMLearner.for_task(task, hidden_size=32, epochs=10, batch_size=10, seed=0)
    rec = run_task(learner, task, n_train=50, n_test=100, seed=0)
    assert rec.extra["accuracy_a_before"] >= 0.9 and rec.extra["accuracy_b"] >= 0.9
    assert rec.extra["retention_a"] < 0.8
    assert rec.train_trials == 2 * 50 * 10


@pytest.mark.parametrize(
    "task",
    [PairedAssociation(n_pairs=6, n_units=30), SequenceRecall(length=4, n_units=30, n_sequences=2)],
    ids=["paired", "sequence"],
)
def test_lstm_runs_the_other_tasks(task):
    learner = LSTMLearner.for_task(task, hidden_size=16, epochs=20, batch_size=8, seed=0)
    rec = run_task(learner, task, n_train=24, n_test=24, seed=0)
    assert rec.accuracy >= 0.8


def test_gru_learner_written_outside_the_package_implements_the_protocol():
    """Extension: a GRU learner defined in this test satisfies Learner and learns store-recall."""
    task = FAST_STORE_RECALL
    gru = GRULearner(task.n_inputs, task.n_outputs)
    assert isinstance(gru, Learner)
    rec = run_task(gru, task, n_train=256, n_test=200, seed=0)
    assert rec.accuracy >= 0.9
    assert rec.extra["backend"] == "gru"


def test_result_record_schema_is_identical_for_lstm_and_gru():
    task = StoreRecall(max_delay=2)
    records = [
        run_task(cls(task.n_inputs, task.n_outputs, **kw), task, n_train=16, n_test=8, seed=0)
        for cls, kw in ((LSTMLearner, {"hidden_size": 8}), (GRULearner, {"hidden_size": 8, "epochs": 1}))
    ]
    dicts = [r.to_dict() for r in records]
    assert list(dicts[0]) == list(dicts[1]) == list(ResultRecord.FIELDS)
    for key in ResultRecord.FIELDS:
        types = {type(d[key]) for d in dicts}
        assert len(types) == 1 or types <= {int, type(None)}, (key, types)
    common = {"backend", "op_name", "train_ops", "test_ops", "joules_per_op", "task", "seed"}
    assert common <= set(dicts[0]["extra"]) and common <= set(dicts[1]["extra"])
    for r in records:
        assert r.ops == r.extra["train_ops"] + r.extra["test_ops"]
    # the user's GRU counts arithmetic only; the package's learners add one 32-bit SRAM read per MAC
    assert records[1].energy_j == pytest.approx(records[1].ops * E_MAC_FP32_45NM_J)
    per_op = E_MAC_FP32_45NM_J + E_SRAM_READ_32BIT_45NM_J
    assert records[0].energy_j == pytest.approx(records[0].ops * per_op)


def test_lstm_counts_macs_per_real_step():
    task = StoreRecall(max_delay=5, n_recalls=2)
    learner = LSTMLearner.for_task(task, hidden_size=8)
    trials = task.trials(10, seed=0)
    result = learner.evaluate(trials)
    steps = sum(t.n_steps for t in trials)
    assert result.ops == lstm_forward_macs(4, 8, 2, steps)
    log = learner.train(trials)
    assert log.ops == 3 * lstm_forward_macs(4, 8, 2, steps)


def test_pruning_half_the_weights_halves_the_nonzero_weights():
    """Global magnitude pruning at 50% leaves half the prunable weights nonzero, the largest ones."""
    task = FAST_STORE_RECALL
    learner = LSTMLearner.for_task(task, hidden_size=16, seed=0)
    learner.train(task.trials(32, seed=0))
    weights = torch.cat([w.flatten() for w in learner.prunable_weights()]).abs()
    n = learner.n_prunable
    assert learner.n_nonzero_weights == n
    learner.prune(0.5)
    assert learner.n_nonzero_weights == n - round(0.5 * n)
    assert learner.pruned_fraction == pytest.approx(0.5, abs=1 / n)
    kept = torch.cat([w.flatten() for w in learner.prunable_weights()]).abs()
    assert kept[kept > 0].min() >= weights.sort().values[round(0.5 * n) - 1]
    assert learner.n_parameters == learner.n_parameters_total - round(0.5 * n)
    learner.train(task.trials(16, seed=1))  # pruned weights stay at zero while training goes on
    assert learner.n_nonzero_weights == n - round(0.5 * n)
    learner.prune(0.75)
    assert learner.n_nonzero_weights == n - round(0.75 * n)
    with pytest.raises(ParameterError, match="'fraction'"):
        learner.prune(0.25)


def test_mismatched_sizes_fail_before_any_training():
    task = FAST_STORE_RECALL
    learner = LSTMLearner(5, 2, hidden_size=8)
    before = [p.detach().clone() for p in learner.rnn.parameters()]
    with pytest.raises(ParameterError, match="'n_inputs'"):
        run_task(learner, task, n_train=8, n_test=8)
    with pytest.raises(ParameterError, match="'n_inputs'"):
        learner.train(task.trials(8, seed=0))
    with pytest.raises(ParameterError, match="'n_outputs'"):
        LSTMLearner(4, 1, hidden_size=8).train(task.trials(8, seed=0))
    assert learner.trials_seen == 0
    assert all(torch.equal(a, b) for a, b in zip(before, learner.rnn.parameters(), strict=True))


def test_same_seed_same_learner_other_seed_other_learner():
    task = StoreRecall(max_delay=2)
    trials = task.trials(32, seed=0)

    def trained(seed):
        learner = LSTMLearner.for_task(task, hidden_size=8, epochs=2, batch_size=8, seed=seed)
        log = learner.train(trials)
        return log, torch.cat([p.detach().flatten() for p in learner.rnn.parameters()])

    (log_a, w_a), (log_b, w_b), (log_c, w_c) = trained(3), trained(3), trained(4)
    assert torch.equal(w_a, w_b) and log_a.presented == log_b.presented
    assert not torch.equal(w_a, w_c) and log_a.presented != log_c.presented


def test_stop_at_criterion_ends_training_early():
    task = StoreRecall(max_delay=1)
    learner = LSTMLearner.for_task(
        task, hidden_size=16, epochs=30, batch_size=16, criterion_window=32, stop_at_criterion=True
    )
    log = learner.train(task.trials(64, seed=0))
    assert log.trials_to_criterion is not None and log.trials < 30 * 64


def test_hidden_size_for_parameters_matches_the_parameter_budget():
    for budget in (500, 5000, 20000):
        h = hidden_size_for_parameters(budget, 100, 10)
        best = min(range(1, 200), key=lambda k: abs(lstm_parameter_count(100, k, 10) - budget))
        assert h == best
    learner = LSTMLearner.for_parameters(FAST_STORE_RECALL, 5000)
    assert abs(learner.n_parameters - 5000) <= lstm_parameter_count(4, 33, 2) - lstm_parameter_count(4, 32, 2)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0, 2, 4, 6])
def test_lstm_store_recall_at_fixed_delays_up_to_1200_ms(delay):
    """Science target: ≥ 95% at fixed delays up to 6 steps × 200 ms = 1.2 s, for 3 seeds."""
    task = StoreRecall(min_delay=delay, max_delay=delay, n_recalls=2)
    for seed in range(3):
        learner = LSTMLearner.for_task(task, **FAST_LSTM, seed=seed)
        assert run_task(learner, task, n_train=256, n_test=200, seed=seed).accuracy >= 0.95
