"""Task generators: determinism, the store-recall spec, exact coding levels, validation, round trips."""

import math

import numpy as np
import pytest

from neurosim.metrics import overlap
from neurosim.tasks import (
    TASKS,
    AssociativeRecall,
    ContinualAssociative,
    PairedAssociation,
    SequenceRecall,
    StoreRecall,
    Trial,
    make_cue,
    round_half_up,
    sample_patterns,
    stack_trials,
)
from neurosim.tasks.repeats import repeated_trials
from neurosim.validation import ParameterError

SMALL = [
    AssociativeRecall(n_patterns=6, n_units=40, coding_level=0.1, noise=0.05),
    PairedAssociation(n_pairs=6, n_units=30, n_classes=3, noise=0.05),
    StoreRecall(max_delay=4, n_recalls=3),
    StoreRecall(n_bits=2, min_delay=2, max_delay=3, value_with_store=True),
    SequenceRecall(length=4, n_units=30, n_sequences=2, cue_fraction=0.5),
    SequenceRecall(length=4, n_units=40, n_sequences=4, n_items=9, cue_fraction=0.5),
    PairedAssociation(n_pairs=4, n_units=30, cue_fraction=0.6, noise=0.02),
    ContinualAssociative(n_patterns_per_set=3, n_units=40),
]
IDS = [type(t).__name__ + str(i) for i, t in enumerate(SMALL)]


def same(a: list[Trial], b: list[Trial]) -> bool:
    return all(
        np.array_equal(x.inputs, y.inputs)
        and np.array_equal(x.targets, y.targets)
        and x.phase == y.phase
        and x.metadata == y.metadata
        for x, y in zip(a, b, strict=True)
    )


# -- determinism (invariance) ----------------------------------------------------------------------
@pytest.mark.parametrize("task", SMALL, ids=IDS)
def test_generators_are_deterministic_under_a_seed_and_differ_across_seeds(task):
    """Same (seed, split) → identical trials, also from a rebuilt task; another seed → other trials."""
    for split in task.splits:
        first = task.trials(12, seed=3, split=split)
        again = type(task).from_dict(task.to_dict()).trials(12, seed=3, split=split)
        other = task.trials(12, seed=4, split=split)
        assert same(first, again)
        assert not same(first, other)


def test_train_and_test_splits_of_one_seed_are_independent_draws():
    task = StoreRecall(max_delay=4)
    train = task.trials(10, seed=0, split="train")
    test = task.trials(10, seed=0, split="test")
    assert not same(train, test)
    assert {t.metadata["split"] for t in train} == {"train"}


@pytest.mark.parametrize("task", SMALL, ids=IDS)
def test_trials_are_consistent_records(task):
    """Shapes match the task's sizes; scored steps are where targets ≥ 0; arrays are read-only."""
    for split in task.splits:
        for t in task.trials(8, seed=1, split=split):
            assert t.inputs.shape == (t.n_steps, task.n_inputs)
            assert t.targets.max() < task.n_outputs and t.targets.min() >= -1
            assert np.array_equal(t.reward_steps, np.flatnonzero(t.targets >= 0)) and t.reward_steps.size
            assert len(t.phase) == t.n_steps
            with pytest.raises(ValueError):
                t.inputs[0, 0] = 0.5


@pytest.mark.parametrize("task", SMALL, ids=IDS)
def test_tasks_round_trip_through_dict_json_and_toml(task):
    assert type(task).from_dict(task.to_dict()) == task
    assert type(task).from_json(task.to_json()) == task
    assert type(task).from_toml(task.to_toml()) == task
    assert TASKS[task.name] is type(task)


# -- store-recall spec (Bellec et al. 2018) --------------------------------------------
def test_store_recall_targets_follow_the_spec_on_hand_built_sequences():
    """Target at each RECALL = the value on the step after the last STORE; nothing due elsewhere."""
    task = StoreRecall()
    assert task.channel_names == ("0", "1", "STORE", "RECALL")
    t = task.trial_from_symbols([0, "STORE", 1, 0, 0, "RECALL"])
    assert t.targets.tolist() == [-1, -1, -1, -1, -1, 1]
    assert t.inputs.tolist()[1] == [0, 0, 1, 0] and t.inputs.tolist()[5] == [0, 0, 0, 1]
    # the last STORE wins; distractors between do not count
    t = task.trial_from_symbols(["STORE", 1, 1, "STORE", 0, 1, 1, "RECALL"])
    assert t.targets[-1] == 0
    # a second RECALL without a new STORE asks for the same value again
    t = task.trial_from_symbols(["STORE", 1, "RECALL", 0, "RECALL"])
    assert t.targets.tolist() == [-1, -1, 1, -1, 1]
    # a RECALL before any STORE, or right after STORE with no value yet, owes nothing
    t = task.trial_from_symbols(["RECALL", "STORE", "RECALL"])
    assert t.targets.tolist() == [-1, -1, -1]


def test_store_recall_value_with_store_variant_takes_the_value_shown_with_store():
    """LSNN-official variant: the value is shown on the STORE step itself; the next value is a distractor."""
    task = StoreRecall(value_with_store=True)
    t = task.trial_from_symbols([1, ("STORE", 0), 1, 1, "RECALL"])
    assert t.targets[-1] == 0
    assert t.inputs[1].tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize("task", [t for t in SMALL if isinstance(t, StoreRecall)])
def test_store_recall_generator_agrees_with_the_spec_and_the_delay_knob(task):
    """Two formulations: generated targets == the spec applied to the inputs; delays within the knobs."""
    for t in task.trials(200, seed=7):
        assert np.array_equal(t.targets, task.targets_for(t.inputs))
        recalls = np.flatnonzero(t.inputs[:, task.recall_channel] > 0)
        stores = np.flatnonzero(t.inputs[:, task.store_channel] > 0)
        assert recalls.size == stores.size == task.n_recalls
        value_at = stores if task.value_with_store else stores + 1
        assert (recalls - value_at - 1).tolist() == t.metadata["delays"]
        assert all(task.min_delay <= d <= task.max_delay for d in t.metadata["delays"])
        assert t.targets[recalls].tolist() == t.metadata["values"]
        active = t.inputs.sum(axis=1)
        expected = np.where(t.inputs[:, task.recall_channel] > 0, 1, task.n_bits)
        if not task.value_with_store:
            expected[stores] = 1
        else:
            expected[stores] = task.n_bits + 1
        assert np.array_equal(active, expected)


def test_store_recall_fixed_delay_up_to_1200_ms():
    """min_delay == max_delay fixes the hold time: every recall comes exactly 6 steps after its store."""
    task = StoreRecall(min_delay=6, max_delay=6, n_recalls=2)
    delays = [d for t in task.trials(50, seed=0) for d in t.metadata["delays"]]
    assert set(delays) == {6}


def test_store_recall_store_probability_gives_geometric_waits():
    """With p_store = 1/7 (Bellec et al.) the wait before STORE is geometric with mean (1-p)/p = 6 steps."""
    task = StoreRecall(max_delay=0)
    waits = np.array([t.phase.count("wait") for t in task.trials(3000, seed=0)])
    p = 1 / 7
    se = math.sqrt((1 - p) / p**2 / waits.size)
    assert abs(waits.mean() - (1 - p) / p) < 4 * se
    values = np.array([t.metadata["values"][0] for t in task.trials(3000, seed=1)])
    assert abs(values.mean() - 0.5) < 4 * 0.5 / math.sqrt(values.size)


def test_store_recall_inputs_are_one_hot_symbols():
    task = StoreRecall(max_delay=5, n_recalls=2)
    for t in task.trials(50, seed=2):
        assert np.all(t.inputs.sum(axis=1) == 1)


# -- associative patterns --------------------------------------------------------------------------
@pytest.mark.parametrize("n_units,f", [(100, 0.1), (64, 0.05), (10, 0.25), (7, 0.5)])
def test_associative_patterns_have_the_exact_coding_level_and_are_distinct(n_units, f):
    task = AssociativeRecall(n_patterns=5, n_units=n_units, coding_level=f)
    k = round_half_up(f * n_units)
    assert task.n_active == k
    assert np.all(task.patterns.sum(axis=1) == k)
    assert set(np.unique(task.patterns)) <= {0.0, 1.0}
    assert len({p.tobytes() for p in task.patterns}) == 5


def test_every_possible_code_can_be_used():
    """P = C(N, K) exactly: all distinct codes are drawn."""
    pats = sample_patterns(math.comb(6, 2), 6, 2, np.random.default_rng(0))
    assert len({p.tobytes() for p in pats}) == 15


def test_cues_keep_the_cue_fraction_and_noise_flips_at_the_noise_rate():
    """A clean cue keeps round(c K) active units: overlap = c; noise flips ≈ η N units."""
    task = AssociativeRecall(n_patterns=10, n_units=200, coding_level=0.1, cue_fraction=0.5)
    for t in task.trials(20, seed=0, split="test"):
        pattern = task.patterns[t.metadata["pattern"]]
        cue = t.inputs[0]
        assert cue.sum() == 10 and np.all(cue <= pattern)
        assert t.metadata["cue_overlap"] == pytest.approx(0.5)
        assert t.targets.tolist() == [-1, t.metadata["pattern"]]
        assert np.array_equal(t.target_patterns[1], pattern)
        assert t.phase == ("cue", "recall")
    for t in task.trials(10, seed=0, split="train"):
        assert np.array_equal(t.inputs[0], task.patterns[t.metadata["pattern"]])
        assert t.metadata["cue_overlap"] == pytest.approx(1.0) and t.phase == ("store", "recall")
    rng = np.random.default_rng(0)
    pattern = task.patterns[0]
    flips = [np.abs(make_cue(pattern, 1.0, 0.1, rng) - pattern).sum() for _ in range(500)]
    assert abs(np.mean(flips) - 0.1 * 200) < 4 * math.sqrt(200 * 0.1 * 0.9 / 500)


def test_trials_cycle_through_patterns_in_balanced_blocks():
    task = AssociativeRecall(n_patterns=7, n_units=50)
    shown = [t.metadata["pattern"] for t in task.trials(21, seed=0)]
    assert sorted(shown) == sorted(list(range(7)) * 3)


def test_recall_steps_zero_scores_the_last_cue_step():
    task = AssociativeRecall(n_patterns=3, n_units=20, cue_steps=2, recall_steps=0)
    t = task.trials(1, seed=0, split="test")[0]
    assert t.n_steps == 2 and t.targets[0] == -1 and t.targets[1] >= 0


def test_paired_association_uses_every_class_and_a_fixed_mapping():
    task = PairedAssociation(n_pairs=9, n_units=40, n_classes=3)
    assert sorted(np.bincount(task.mapping).tolist()) == [3, 3, 3]
    for t in task.trials(18, seed=0):
        assert t.targets[-1] == task.mapping[t.metadata["pair"]]
        assert t.phase == ("cue", "choice") and t.target_patterns is None
    assert PairedAssociation(n_pairs=4, n_units=20).n_outputs == 4


def test_sequence_recall_targets_the_following_items_in_order():
    task = SequenceRecall(length=5, n_units=40, n_sequences=2)
    for t in task.trials(4, seed=0):
        s = t.metadata["sequence"]
        assert np.array_equal(t.inputs[0], task.items[s, 0]) and not t.inputs[1:].any()
        assert t.targets.tolist() == [-1] + [s * 5 + j for j in range(1, 5)]
        assert np.array_equal(t.target_patterns[1:], task.items[s, 1:])
    assert len({p.tobytes() for p in task.class_patterns}) == 10


def test_shared_item_sequences_need_the_cue_to_answer():
    """Sequences over a shared vocabulary (Levy 1996's disambiguation problem): every sequence starts with
    an item of its own, shared items recur in other sequences, and at some recall step two sequences are
    due different items, so no answer can be read from the step's position alone."""
    task = SequenceRecall(length=4, n_units=40, n_sequences=4, n_items=9)
    order = task.order
    assert task.n_outputs == 9 and order.shape == (4, 4)
    assert len(set(order[:, 0])) == 4 and not set(order[:, 0]) & set(order[:, 1:].ravel())
    assert all(len(set(row)) == 4 for row in order)  # items within a sequence are distinct
    counts = np.bincount(order[:, 1:].ravel(), minlength=9)
    assert counts.max() >= 2  # 4 sequences × 3 items from 5 shared ones: items recur
    assert len({tuple(row[1:]) for row in order}) == 4  # no two sequences continue alike
    assert any(len(set(order[:, k])) > 1 for k in range(1, 4))
    for t in task.trials(8, seed=0):
        s = t.metadata["sequence"]
        assert t.targets.tolist() == [-1, *order[s, 1:].tolist()]
        assert np.array_equal(t.target_patterns[1:], task.class_patterns[order[s, 1:]])


def test_test_trials_repeat_training_trials_only_for_memorisation_variants():
    """Full clean cues (paired association without cue degradation, sequence recall with full cues): every
    test trial is a copy of a training trial. Partial or noisy cues: none is (with 30 units and 3 active,
    a 60% cue keeps 2 of 3)."""
    memorise = PairedAssociation(n_pairs=4, n_units=30)
    assert repeated_trials(memorise.trials(40, 0), memorise.trials(40, 0, "test")) == 40
    recall = PairedAssociation(n_pairs=4, n_units=30, cue_fraction=0.6)
    assert repeated_trials(recall.trials(40, 0), recall.trials(40, 0, "test")) == 0
    seq = SequenceRecall(length=3, n_units=30, n_sequences=3, n_items=5)
    assert repeated_trials(seq.trials(30, 0), seq.trials(30, 0, "test")) == 30
    seq = SequenceRecall(length=3, n_units=30, n_sequences=3, n_items=5, cue_fraction=0.6)
    assert repeated_trials(seq.trials(30, 0), seq.trials(30, 0, "test")) == 0
    for t in recall.trials(8, 0, "test"):  # a partial cue: 2 of the pair's 3 active units, nothing else
        cue, pair = t.inputs[0], t.metadata["pair"]
        assert cue.sum() == 2 and set(np.flatnonzero(cue)) <= set(np.flatnonzero(recall.cues[pair]))


def test_continual_sets_are_disjoint_and_tested_on_their_own_classes():
    task = ContinualAssociative(n_patterns_per_set=4, n_units=50)
    a = {int(t.targets[-1]) for t in task.trials(20, seed=0, split="test_a")}
    b = {int(t.targets[-1]) for t in task.trials(20, seed=0, split="train_b")}
    assert a == {0, 1, 2, 3} and b == {4, 5, 6, 7}
    assert len({p.tobytes() for p in task.patterns}) == 8


def test_prediction_overlap_is_one_for_correct_and_zero_for_no_decision():
    task = AssociativeRecall(n_patterns=4, n_units=40)
    t = task.trials(1, seed=0, split="test")[0]
    assert task.prediction_overlap(t, t.targets) == pytest.approx(1.0)
    assert task.prediction_overlap(t, np.full(t.n_steps, -1)) == 0.0
    assert task.score(t, t.targets) == 1.0
    assert overlap(task.patterns[0], task.patterns[0]) == pytest.approx(1.0)


def test_stack_trials_pads_with_silence_and_no_targets():
    task = StoreRecall(max_delay=5, n_recalls=2)
    trials = task.trials(5, seed=0)
    batch = stack_trials(trials)
    assert batch.inputs.shape == (5, max(t.n_steps for t in trials), 4)
    for b, t in enumerate(trials):
        assert np.array_equal(batch.inputs[b, : t.n_steps], t.inputs)
        assert not batch.inputs[b, t.n_steps :].any() and np.all(batch.targets[b, t.n_steps :] == -1)


# -- bad input -------------------------------------------------------------------------------------
BAD = [
    (AssociativeRecall, {"cue_fraction": 0.0}, "cue_fraction"),
    (AssociativeRecall, {"cue_fraction": 1.2}, "cue_fraction"),
    (AssociativeRecall, {"coding_level": 0.6}, "coding_level"),
    (AssociativeRecall, {"coding_level": 0.0}, "coding_level"),
    (AssociativeRecall, {"n_units": 10, "coding_level": 0.01}, "coding_level"),
    (AssociativeRecall, {"n_patterns": 11, "n_units": 5, "coding_level": 0.4}, "n_patterns"),
    (AssociativeRecall, {"noise": 0.5}, "noise"),
    (AssociativeRecall, {"n_patterns": 2.5}, "n_patterns"),
    (AssociativeRecall, {"cue_steps": 0}, "cue_steps"),
    (AssociativeRecall, {"step_duration": 5}, "step_duration"),
    (StoreRecall, {"min_delay": -1}, "min_delay"),
    (StoreRecall, {"max_delay": -2}, "max_delay"),
    (StoreRecall, {"min_delay": 5, "max_delay": 3}, "max_delay"),
    (StoreRecall, {"p_store": 0.0}, "p_store"),
    (StoreRecall, {"p_recall": 1.5}, "p_recall"),
    (StoreRecall, {"n_bits": 0}, "n_bits"),
    (StoreRecall, {"value_with_store": "yes"}, "value_with_store"),
    (PairedAssociation, {"n_pairs": 4, "n_classes": 5}, "n_classes"),
    (PairedAssociation, {"n_pairs": 100, "n_units": 6, "coding_level": 0.2}, "n_pairs"),
    (SequenceRecall, {"length": 1}, "length"),
    (SequenceRecall, {"length": 20, "n_units": 6, "coding_level": 0.2}, "length"),
    (SequenceRecall, {"length": 4, "n_sequences": 3, "n_items": 5}, "n_items"),
    (SequenceRecall, {"n_items": -1}, "n_items"),
    (PairedAssociation, {"cue_fraction": 0.0}, "cue_fraction"),
    (PairedAssociation, {"cue_fraction": float("inf")}, "cue_fraction"),
    (
        ContinualAssociative,
        {"n_patterns_per_set": 4, "n_units": 4, "coding_level": 0.25},
        "n_patterns_per_set",
    ),
]


@pytest.mark.parametrize("cls,kwargs,knob", BAD, ids=[f"{c.__name__}-{k}" for c, _, k in BAD])
def test_bad_knobs_raise_parameter_error_naming_the_knob(cls, kwargs, knob):
    with pytest.raises(ParameterError, match=f"'{knob}'"):
        cls(**kwargs)


def test_bad_trial_requests_name_the_argument():
    task = StoreRecall()
    with pytest.raises(ParameterError, match="'split'"):
        task.trials(3, seed=0, split="validation")
    with pytest.raises(ParameterError, match="'seed'"):
        task.trials(3, seed=-1)
    with pytest.raises(ParameterError, match="'n'"):
        task.trials(-3)
    with pytest.raises(ParameterError, match="'symbols'"):
        task.trial_from_symbols(["STORE", 2, "RECALL"])
