"""Metrics: overlap and accuracy on known cases, trials to criterion, compute and energy formulas."""

import numpy as np
import pytest

from neurosim import metrics
from neurosim.learners.base import ResultRecord
from neurosim.tasks import AssociativeRecall, StoreRecall, Trial
from neurosim.validation import ParameterError


def test_overlap_known_values():
    """m = 1 for the pattern, c for a clean cue keeping a fraction c, ≈ 0 for an unrelated pattern."""
    task = AssociativeRecall(n_patterns=50, n_units=1000, coding_level=0.1)
    xi = task.patterns[0]
    assert metrics.overlap(xi, xi) == pytest.approx(1.0)
    cue = xi.copy()
    cue[np.flatnonzero(xi)[:25]] = 0
    assert metrics.overlap(cue, xi) == pytest.approx(0.75)
    others = [metrics.overlap(p, xi) for p in task.patterns[1:]]
    assert abs(np.mean(others)) < 0.05
    assert metrics.overlap(np.ones(1000), xi) == pytest.approx(0.0)
    assert metrics.overlap(np.zeros(1000), xi) == 0.0
    with pytest.raises(ParameterError, match="'recalled'"):
        metrics.overlap(np.ones(3), xi)


def test_accuracy_pools_scored_steps_and_counts_no_decision_as_wrong():
    task = StoreRecall()
    a = task.trial_from_symbols(["STORE", 1, "RECALL", "STORE", 0, "RECALL"])  # two answers due
    b = task.trial_from_symbols(["STORE", 0, 1, "RECALL"])  # one answer due
    pa = np.array([0, 0, 1, 0, 0, 1])  # first right, second wrong
    pb = np.array([-1, -1, -1, -1])  # no decision
    assert metrics.score_trial(a, pa) == 0.5
    assert metrics.accuracy([a, b], [pa, pb]) == pytest.approx(1 / 3)
    with pytest.raises(ParameterError, match="'predictions'"):
        metrics.accuracy([a], [np.zeros(3, dtype=int)])
    empty = Trial(np.zeros((2, 4)), np.array([-1, -1]), ("wait", "wait"))
    with pytest.raises(ParameterError, match="no scored steps"):
        metrics.accuracy([empty], [np.zeros(2, dtype=int)])


def test_trials_to_criterion_first_window_reaching_criterion():
    scores = [0, 0, 1, 1, 1, 0, 1, 1, 1, 1]
    assert metrics.trials_to_criterion(scores, criterion=1.0, window=3) == 5
    assert metrics.trials_to_criterion(scores, criterion=0.6, window=3) == 4
    assert metrics.trials_to_criterion(scores, criterion=1.0, window=4) == 10
    assert metrics.trials_to_criterion(scores, criterion=1.0, window=5) is None
    assert metrics.trials_to_criterion(scores, criterion=0.0, window=11) is None  # fewer trials than window
    assert metrics.trials_to_criterion([1, float("nan"), 1], criterion=1.0, window=2) == 3


def test_lstm_compute_formulas():
    """MACs 4(n_in h + h² + h)·steps + readout; training = 3 forward passes (Kaplan et al. 2020)."""
    assert metrics.lstm_forward_macs(4, 10, 2, 1) == 4 * (40 + 100 + 10) + 20
    assert metrics.lstm_forward_macs(4, 10, 2, 7) == 7 * (4 * (40 + 100 + 10) + 20)
    assert metrics.lstm_training_macs(4, 10, 2, 7) == 3 * metrics.lstm_forward_macs(4, 10, 2, 7)
    assert metrics.lstm_parameter_count(4, 10, 2) == 4 * 10 * (4 + 10 + 2) + 10 * 2 + 2


def test_lstm_parameter_count_matches_torch():
    """Equivalence: the formula counts exactly torch.nn.LSTM + nn.Linear parameters."""
    torch = pytest.importorskip("torch")
    for n_in, h, n_out in [(4, 32, 2), (100, 7, 10)]:
        modules = [torch.nn.LSTM(n_in, h), torch.nn.Linear(h, n_out)]
        count = sum(p.numel() for m in modules for p in m.parameters())
        assert metrics.lstm_parameter_count(n_in, h, n_out) == count


def test_energy_constants_are_the_cited_values():
    """Horowitz 2014 (45 nm): 3.7 pJ fp32 mult + 0.9 pJ add; Davies et al. 2018 (Loihi): 23.6 pJ/synop."""
    assert metrics.E_MAC_FP32_45NM_J == pytest.approx(4.6e-12)
    assert metrics.E_SYNOP_LOIHI_J == pytest.approx(23.6e-12)
    assert metrics.lstm_energy_j(1e6) == pytest.approx(4.6e-6)
    assert metrics.snn_energy_j(1e6, 1e3) == pytest.approx(23.6e-6 + 120e-9)
    with pytest.raises(ParameterError, match="'ops'"):
        metrics.energy_j(-1, 1e-12)


def test_energy_breakdown_counts_every_operation_at_its_cited_energy():
    """Davies et al. 2018 (Loihi, Table 1): 23.6 pJ per synaptic event, 81 pJ per (active) neuron update,
    120 pJ per plastic update; Horowitz 2014 (45 nm): 4.6 pJ per fp32 MAC, 5 pJ per 32-bit SRAM read (Han
    et al. 2015)."""
    snn = metrics.energy_breakdown({"synaptic_events": 1e6, "neuron_updates": 2e6, "plastic_updates": 1e3})
    assert snn["neuron_updates_j"] == pytest.approx(162e-6)
    assert snn["energy_j"] == pytest.approx(23.6e-6 + 162e-6 + 120e-9)
    dense = metrics.energy_breakdown({"multiply_accumulates": 1e6, "memory_reads": 1e6})
    assert dense["energy_j"] == pytest.approx(4.6e-6 + 5e-6)
    with pytest.raises(ParameterError, match="'counts'"):
        metrics.energy_breakdown({"flops": 1})
    with pytest.raises(ParameterError, match="'ops'"):
        metrics.energy_breakdown({"memory_reads": -1})


def test_summarize_over_seeds():
    s = metrics.summarize([0.9, 1.0, 0.8, float("nan")])
    assert s["n"] == 3 and s["mean"] == pytest.approx(0.9) and s["std"] == pytest.approx(0.1)
    assert s["sem"] == pytest.approx(0.1 / np.sqrt(3))


def test_result_record_round_trips_as_plain_data():
    rec = ResultRecord(0.9, 100, None, 1.5, 0.1, 1000, 10**9, 4.6e-3, {"overlap": np.float64(0.8)})
    data = rec.to_dict()
    assert list(data) == list(ResultRecord.FIELDS)
    assert data["extra"]["overlap"] == 0.8 and type(data["extra"]["overlap"]) is float
    assert ResultRecord.from_dict(data) == rec
    with pytest.raises(ParameterError, match="unknown key"):
        ResultRecord.from_dict({**data, "acc": 1})
