"""The GRU and causal Transformer learners beside the LSTM: one record schema, learning on recall tasks,
sizing to a parameter budget, counting, pruning, and an independent GRU written here in plain PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from neurosim.learners import (  # noqa: E402
    GRULearner,
    Learner,
    LSTMLearner,
    ResultRecord,
    TransformerLearner,
    run_task,
    size_for_parameters,
)
from neurosim.learners.gru import gru_parameter_count  # noqa: E402
from neurosim.learners.transformer import TransformerArchitecture, sinusoidal_positions  # noqa: E402
from neurosim.metrics import E_MAC_FP32_45NM_J, E_SRAM_READ_32BIT_45NM_J  # noqa: E402
from neurosim.tasks import AssociativeRecall, StoreRecall, stack_trials  # noqa: E402
from neurosim.validation import ParameterError  # noqa: E402

#: Store-recall with delays of 0–4 steps, as the LSTM's fast test (tests/test_lstm_learner.py).
FAST_STORE_RECALL = StoreRecall(min_delay=0, max_delay=4, n_recalls=2)
LEARNERS = (LSTMLearner, GRULearner, TransformerLearner)
SMALL = {LSTMLearner: {"hidden_size": 8}, GRULearner: {"hidden_size": 8}, TransformerLearner: {"d_model": 8}}


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_every_learner_returns_the_same_record_fields():
    """LSTM, GRU and Transformer records through run_task: the same fields, the same types, the same
    common extras (the spiking learner's record is checked against the LSTM's in test_spiking_learner.py)."""
    task = StoreRecall(max_delay=2)
    records = {cls: run_task(cls.for_task(task, **SMALL[cls]), task, 16, 8, seed=0) for cls in LEARNERS}
    dicts = [r.to_dict() for r in records.values()]
    for d in dicts:
        assert list(d) == list(ResultRecord.FIELDS)
    for key in ResultRecord.FIELDS:
        types = {type(d[key]) for d in dicts}
        assert len(types) == 1 or types <= {int, type(None)}, (key, types)
    common = {"backend", "op_name", "train_ops", "test_ops", "hyperparameters", "task", "seed"}
    common |= {
        "test_correct",
        "test_answers",
        "test_repeats",
        "train_wall_s_per_trial",
        "test_wall_s_per_trial",
    }
    sizes = {"parameters_total", "nonzero_weights", "weight_reads", "activation_reads", "energy_breakdown"}
    assert all(common | sizes <= set(d["extra"]) for d in dicts)
    assert [d["extra"]["backend"] for d in dicts] == ["lstm", "gru", "transformer"]
    for cls, r in records.items():
        assert isinstance(cls.for_task(task, **SMALL[cls]), Learner)
        assert r.ops == r.extra["train_ops"] + r.extra["test_ops"] > 0
        # every MAC reads one operand from SRAM: a weight, or (attention only) a cached key or value
        assert r.extra["weight_reads"] + r.extra["activation_reads"] == r.ops
        assert (r.extra["activation_reads"] > 0) == (cls is TransformerLearner)
        assert r.energy_j == pytest.approx(r.ops * (E_MAC_FP32_45NM_J + E_SRAM_READ_32BIT_45NM_J))
        assert len(r.extra["test_correct"]) == r.extra["test_answers"] >= 8
        assert np.mean(r.extra["test_correct"]) == pytest.approx(r.accuracy)  # the pooled accuracy
        assert (
            r.parameters == r.extra["parameters_total"] > r.extra["nonzero_weights"] > 0
        )  # biases: not weights


def test_gru_learns_store_recall():
    """Target: the GRU reaches ≥ 95% on store-recall with delays ≤ 4 steps (256 trials × 8 epochs), as
    the LSTM does (gated recurrent units hold a bit over distractors: Cho et al. 2014, Chung et al. 2014)."""
    learner = GRULearner.for_task(FAST_STORE_RECALL, hidden_size=32, epochs=8, batch_size=16, seed=0)
    rec = run_task(learner, FAST_STORE_RECALL, n_train=256, n_test=200, seed=0)
    assert rec.accuracy >= 0.95
    assert rec.parameters == gru_parameter_count(4, 32, 2)


def test_transformer_learns_store_recall():
    """Target: a 2-block causal Transformer reaches ≥ 95% on the same store-recall setting: attention to
    the step after the last STORE solves it without a recurrent state."""
    learner = TransformerLearner.for_task(FAST_STORE_RECALL, d_model=32, epochs=8, batch_size=16, seed=0)
    rec = run_task(learner, FAST_STORE_RECALL, n_train=256, n_test=200, seed=0)
    assert rec.accuracy >= 0.95


@pytest.mark.parametrize("cls", [GRULearner, TransformerLearner], ids=["gru", "transformer"])
def test_learns_associative_recall_from_half_cues(cls):
    """Trained on 10 full sparse patterns, the learner names the pattern from 50% cues (≥ 90%)."""
    task = AssociativeRecall(n_patterns=10, n_units=100, coding_level=0.1, cue_fraction=0.5)
    learner = cls.for_task(task, **{cls.architecture_type.size_field: 32}, epochs=10, batch_size=10, seed=0)
    assert run_task(learner, task, n_train=100, n_test=200, seed=0).accuracy >= 0.9


def test_parameter_counts_are_the_networks_own():
    """The count formulas equal torch's own parameter count for several shapes."""
    for h in (1, 7, 32):
        assert GRULearner(5, 3, hidden_size=h).n_parameters == gru_parameter_count(5, h, 3)
    for shape in ({"d_model": 8}, {"d_model": 12, "n_heads": 3, "n_layers": 3, "ffn_factor": 4}):
        for positions in (0, 40):
            learner = TransformerLearner(5, 3, **shape, learned_positions=positions)
            arch = TransformerArchitecture(**shape, learned_positions=positions)
            assert learner.n_parameters == arch.parameter_count(5, 3)


@pytest.mark.parametrize("cls", LEARNERS, ids=["lstm", "gru", "transformer"])
@pytest.mark.parametrize("budget", [300, 5000, 40000])
def test_sizing_hits_the_budget_within_one_size_step(cls, budget):
    """for_parameters picks the size whose count is closest to the budget: no other size is closer, and
    the miss is at most one size step's worth of parameters."""
    task = AssociativeRecall(n_patterns=5, n_units=40, coding_level=0.1)
    learner = cls.for_parameters(task, budget, seed=0)
    arch = learner.architecture
    step = arch.size_step

    def count(size):
        return arch.resized(size).parameter_count(task.n_inputs, task.n_outputs)

    sizes = range(step, 400 * step, step)
    assert arch.size == min(sizes, key=lambda s: (abs(count(s) - budget), s))
    assert learner.n_parameters == count(arch.size)
    assert abs(learner.n_parameters - budget) <= count(arch.size + step) - count(arch.size)
    assert learner.record(learner.evaluate(task.trials(2, seed=0))).extra["parameters_total"] == count(
        arch.size
    )


def test_sizing_keeps_the_other_settings():
    task = FAST_STORE_RECALL
    learner = TransformerLearner.for_parameters(task, 20000, n_heads=4, n_layers=1, lr=1e-3, seed=2)
    assert learner.d_model % 4 == 0 and learner.architecture.n_layers == 1
    assert (learner.lr, learner.seed) == (1e-3, 2)
    assert size_for_parameters(learner.architecture, 20000, 4, 2) == learner.architecture


def _gru_by_hand(gru: nn.GRU, x: torch.Tensor) -> torch.Tensor:
    """The GRU equations (Cho et al. 2014, in PyTorch's form) written out step by step."""
    w_ir, w_iz, w_in = gru.weight_ih_l0.chunk(3)
    w_hr, w_hz, w_hn = gru.weight_hh_l0.chunk(3)
    b_ir, b_iz, b_in = gru.bias_ih_l0.chunk(3)
    b_hr, b_hz, b_hn = gru.bias_hh_l0.chunk(3)
    h = torch.zeros(x.shape[0], gru.hidden_size)
    out = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        r = torch.sigmoid(xt @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
        z = torch.sigmoid(xt @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
        n = torch.tanh(xt @ w_in.T + b_in + r * (h @ w_hn.T + b_hn))
        h = (1 - z) * n + z * h
        out.append(h)
    return torch.stack(out, dim=1)


def test_gru_learner_agrees_with_an_independent_plain_pytorch_gru():
    """Equivalence: (1) the learner's network equals the GRU equations written out here; (2) a plain
    training loop written here (same seed, same batches, Adam, clipping, cross-entropy on scored steps)
    ends with the learner's weights."""
    task = StoreRecall(max_delay=3)
    trials = task.trials(24, seed=0)
    learner = GRULearner.for_task(task, hidden_size=6, epochs=2, batch_size=8, lr=5e-3, grad_clip=0.5, seed=4)

    x = torch.as_tensor(stack_trials(trials[:5]).inputs, dtype=torch.float32)
    with torch.no_grad():
        by_hand = learner.readout(_gru_by_hand(learner.rnn, x))
        np.testing.assert_allclose(learner.network(x).numpy(), by_hand.numpy(), rtol=1e-5, atol=1e-6)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        gru, readout = nn.GRU(4, 6, batch_first=True), nn.Linear(6, 2)
    params = [*gru.parameters(), *readout.parameters()]
    optimizer = torch.optim.Adam(params, lr=5e-3)
    rng = np.random.default_rng(4)
    for _ in range(2):
        order = rng.permutation(len(trials))
        for start in range(0, len(order), 8):
            batch = stack_trials([trials[i] for i in order[start : start + 8]])
            logits = readout(_gru_by_hand(gru, torch.as_tensor(batch.inputs, dtype=torch.float32)))
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, 2), torch.as_tensor(batch.targets).reshape(-1), ignore_index=-1
            )
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 0.5)
            optimizer.step()
    learner.train(trials)
    for mine, theirs in zip(params, learner.network.parameters(), strict=True):
        np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_transformer_is_causal_and_ignores_padding():
    """The causal mask: changing the input at step k leaves the logits before k unchanged; a trial's
    answers alone equal its answers in a batch padded to a longer trial."""
    learner = TransformerLearner(4, 2, d_model=8, seed=0)
    x = torch.randn(1, 12, 4)
    y = x.clone()
    y[0, 7:] = torch.randn(5, 4)
    with torch.no_grad():
        a, b = learner.network(x), learner.network(y)
    assert torch.allclose(a[0, :7], b[0, :7], atol=1e-6) and not torch.allclose(a[0, 7:], b[0, 7:])
    trials = StoreRecall(max_delay=5).trials(6, seed=1)
    alone = [learner.evaluate([t]).predictions[0] for t in trials]
    together = learner.evaluate(trials).predictions
    assert all(np.array_equal(p, q) for p, q in zip(alone, together, strict=True))


def test_sinusoidal_positions_follow_vaswani_et_al():
    """PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d)) (Vaswani et al. 2017, §3.5)."""
    code = sinusoidal_positions(9, 6).numpy()
    p, i = 7, 2
    assert code[p, 2 * i] == pytest.approx(np.sin(p / 10000 ** (2 * i / 6)), abs=1e-6)
    assert code[p, 2 * i + 1] == pytest.approx(np.cos(p / 10000 ** (2 * i / 6)), abs=1e-6)


@pytest.mark.parametrize("cls", [GRULearner, TransformerLearner], ids=["gru", "transformer"])
def test_mac_counts_match_torchs_flop_counter_plus_what_it_leaves_out(cls):
    """torch's FlopCounterMode counts the matrix products of the linear maps (2 FLOPs per MAC); the
    learners add what it leaves out: the GRU's per-gate bias/elementwise term (3h per step) and the causal
    attention (scores and weighted values, d T (T + 1) per block). Training counts 3 forward passes."""
    learner = cls(5, 3, **{cls.architecture_type.size_field: 8})
    arch, steps = learner.architecture, 7
    learner.network.train()  # the plain (not fused) path, which the counter sees op by op
    with FlopCounterMode(display=False) as counter:
        learner.network(torch.randn(1, steps, 5))
    linear_macs = counter.get_total_flops() // 2
    if cls is GRULearner:
        left_out = 3 * arch.hidden_size * steps
    else:
        left_out = arch.n_layers * arch.d_model * steps * (steps + 1)
    assert learner.forward_macs([steps]) == linear_macs + left_out
    trials = StoreRecall(max_delay=3).trials(5, seed=0)
    learner = cls(4, 2, **{cls.architecture_type.size_field: 8})
    lengths = [t.n_steps for t in trials]
    assert learner.evaluate(trials).ops == learner.forward_macs(lengths)
    assert learner.train(trials).ops == 3 * learner.forward_macs(lengths)


def test_pruning_the_transformer_keeps_pruned_weights_at_zero():
    """Global magnitude pruning over embedding, attention, feed-forward and readout weights."""
    task = FAST_STORE_RECALL
    learner = TransformerLearner.for_task(task, d_model=8, seed=0)
    learner.train(task.trials(16, seed=0))
    n = learner.n_prunable
    learner.prune(0.6)
    assert learner.n_nonzero_weights == n - round(0.6 * n)
    assert learner.n_parameters == learner.n_parameters_total - round(0.6 * n)
    learner.train(task.trials(16, seed=1))
    assert learner.n_nonzero_weights == n - round(0.6 * n)
    rec = learner.record(learner.evaluate(task.trials(4, seed=2)))
    assert (
        rec.extra["nonzero_weights"] == n - round(0.6 * n) and rec.extra["hyperparameters"]["pruned_fraction"]
    )


def test_same_seed_same_transformer():
    trials = StoreRecall(max_delay=2).trials(16, seed=0)

    def trained(seed):
        learner = TransformerLearner(4, 2, d_model=8, epochs=2, batch_size=8, seed=seed)
        learner.train(trials)
        return torch.cat([p.detach().flatten() for p in learner.network.parameters()])

    assert torch.equal(trained(3), trained(3)) and not torch.equal(trained(3), trained(4))


def test_bad_settings_fail_before_any_training():
    with pytest.raises(ParameterError, match="'d_model'.*multiple of n_heads"):
        TransformerLearner(4, 2, d_model=10, n_heads=4)
    with pytest.raises(ParameterError, match="'hidden_size'"):
        GRULearner(4, 2, hidden_size=0)
    with pytest.raises(ParameterError, match="'lr'"):
        GRULearner(4, 2, lr=-1.0)
    learner = TransformerLearner(4, 2, d_model=8, learned_positions=5)
    with pytest.raises(ParameterError, match="'learned_positions'"):
        learner.train(StoreRecall(min_delay=4, max_delay=4).trials(4, seed=0))
    assert learner.trials_seen == 0
    with pytest.raises(ParameterError, match="'n_params'"):
        GRULearner.for_parameters(FAST_STORE_RECALL, 0)
