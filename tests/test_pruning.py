"""Pruning: compaction, criteria, schedules, history, regrowth; Chechik et al. 1998 (associative memory)."""

import numpy as np
import pytest
from brian2 import Hz, ms, mV, second, um

from neurosim import (
    LIF,
    GaussianKernel,
    NetworkDescription,
    PairSTDP,
    PoissonBackground,
    PoissonSource,
    Population,
    Projection,
    SpikeRecording,
    StateRecording,
    TsodyksMarkram,
    UniformBox,
    build,
)
from neurosim.backend import DopamineSignal, compact, resize_projection
from neurosim.frontal import (
    ConstantRate,
    DecreasingRate,
    LowActivity,
    PenaltyCount,
    Pruner,
    RandomDeletion,
    Regrowth,
    SynapseStats,
    TargetSparsity,
    WeightMagnitude,
    prune_array,
    regrow,
    select,
)
from neurosim.plasticity.reward import RewardModulated
from neurosim.validation import ParameterError

NEURON = LIF(synapse="delta", refractory=2 * ms)  # delta synapses: no slow symbolic integration at build


def recurrent(rules=(), *, n=60, seed=0, recordings=(), p_max=0.5, sigma=200 * um, rate=30 * Hz, bg=50 * Hz):
    """Poisson inputs onto a recurrent LIF population; 'inp' and 'rec' projections."""
    return NetworkDescription(
        populations=(
            Population("src", 40, PoissonSource(rate=rate), placement=UniformBox(size=500 * um)),
            Population("E", n, NEURON, placement=UniformBox(size=500 * um)),
        ),
        projections=(
            Projection(
                "inp",
                "src",
                "E",
                4 * mV,
                connectivity=GaussianKernel(p_max=p_max, sigma=sigma),
                rules=tuple(rules),
                w_init="0.3 + 0.4*rand()",
            ),
            Projection("rec", "E", "E", 1 * mV, connectivity=GaussianKernel(p_max=0.3, sigma=sigma)),
        ),
        inputs=(PoissonBackground("bg", "E", bg, 10, 1 * mV),),
        recordings=(SpikeRecording("E"), *recordings),
        seed=seed,
        dt=0.5 * ms,
    )


def test_compaction_keeps_every_survivors_state_exactly():
    # Compaction replaces the Synapses object; every survivor keeps w, each rule's variables (STP, STDP
    # traces, eligibility, trust-region anchor), lastupdate, its delay, indices and distance; recordings of
    # surviving synapses go on.
    rules = (TsodyksMarkram(), PairSTDP(), RewardModulated(clip_epsilon=0.5))
    rec = (StateRecording("inp", ("w", "stdp_apre"), indices=(0, 3, 7, 8)),)
    # active enough for eligibility to build up (background mean at threshold: tens of E spikes in 100 ms)
    sim = build(recurrent(rules, recordings=rec, rate=200 * Hz, bg=100 * Hz))
    sim.run(100 * ms)
    DopamineSignal.of(sim).deliver(1.0, at=0.12 * second)
    old = sim.synapses["inp"]
    names = ["w", "stdp_apre", "stdp_apost", "stp_x", "reward_c", "reward_w_ref", "lastupdate"]
    before = {k: np.array(getattr(old, k)[:]) for k in names}
    assert np.abs(before["reward_c"]).max() > 1e-3  # the dopamine below has something to act on
    delay, i, j = np.array(old.delay[:]), np.array(old.i[:]), np.array(old.j[:])
    dist = sim.distances["inp"].copy()
    keep = np.random.default_rng(0).random(len(old)) < 0.4
    keep[[0, 3]] = True
    keep[7] = False
    kept = sim.compact("inp", keep)
    new = sim.synapses["inp"]
    assert new is not old and len(new) == keep.sum() < len(old)
    np.testing.assert_array_equal(kept, np.flatnonzero(keep))
    for k in names:
        np.testing.assert_array_equal(np.asarray(getattr(new, k)[:]), before[k][keep], err_msg=k)
    np.testing.assert_array_equal(np.asarray(new.delay[:]), delay[keep])
    np.testing.assert_array_equal(np.asarray(new.i[:]), i[keep])
    np.testing.assert_array_equal(np.asarray(new.j[:]), j[keep])
    np.testing.assert_array_equal(sim.distances["inp"], dist[keep])
    assert old not in sim.network.objects and new in sim.network.objects
    sim.run(50 * ms)  # the dopamine scheduled before compaction still arrives (shared table)
    assert np.any(sim.weights("inp") != before["w"][keep])
    mon = sim.state("inp")
    survivors = np.searchsorted(kept, [0, 3, 8])[: 2 + int(keep[8])]  # 0 and 3 survived, 7 did not
    assert list(mon.record) == survivors.tolist() and mon.w.shape[0] == len(survivors)
    assert sim.monitors["state:inp#1"].w.shape[1] == 200  # the old recording stays readable


def test_compaction_equals_zeroing_the_pruned_synapses():
    # Equivalence of two formulations: removing static synapses gives the same spikes, bit for bit, as
    # keeping them with w = 0 -- also for spikes still travelling along delayed pathways at that moment.
    desc = recurrent(p_max=0.8, sigma=300 * um)

    def run(prune):  # one network at a time: Brian2's random numbers are global, seeded at build
        sim = build(desc)
        sim.run(60 * ms)
        keep = np.random.default_rng(4).random(len(sim.synapses["rec"])) < 0.3
        assert np.any(sim.synapses["rec"].delay[:] > 1 * ms)  # delays longer than a step: spikes in flight
        prune(sim, keep)
        sim.run(120 * ms)
        return sim

    a = run(lambda sim, keep: sim.compact("rec", keep))
    b = run(lambda sim, keep: sim.synapses["rec"].w.__setitem__(np.flatnonzero(~keep), 0.0))
    ia, ta = a.spikes("E")
    ib, tb = b.spikes("E")
    assert len(ia) > 100
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_array_equal(np.asarray(ta), np.asarray(tb))


def test_resize_adds_synapses_with_initial_state_and_distance_delays():
    sim = build(recurrent((TsodyksMarkram(),)))
    sim.run(20 * ms)
    n = len(sim.synapses["inp"])
    resize_projection(
        sim, "inp", np.arange(n), add_i=[1, 2], add_j=[3, 4], add_distance=[100.0, 250.0], add_w=0.05
    )
    syn = sim.synapses["inp"]
    assert len(syn) == n + 2
    np.testing.assert_array_equal(syn.w[n:], [0.05, 0.05])
    np.testing.assert_array_equal(syn.stp_x[n:], [1.0, 1.0])  # the rule's initial value
    delays = sim.description.projection("inp").delay.delays_ms(np.array([100.0, 250.0]))
    np.testing.assert_allclose(np.asarray(syn.delay[n:] / ms), delays)
    np.testing.assert_array_equal(sim.distances["inp"][n:], [100.0, 250.0])
    sim.run(20 * ms)


def hopfield(n, patterns):
    """Hebbian (Hopfield 1982) weights of ±1 patterns, zero diagonal."""
    w = patterns.T @ patterns / n
    np.fill_diagonal(w, 0.0)
    return w


def recall_overlap(w, patterns, rng, flip=0.1, sweeps=10):
    """Mean overlap m = ξ·s/N after asynchronous recall from each pattern with ``flip`` of its bits flipped"""
    n = w.shape[0]
    out = []
    for xi in patterns:
        s = xi.copy()
        s[rng.choice(n, int(flip * n), replace=False)] *= -1
        for _ in range(sweeps):
            for k in rng.permutation(n):
                h = w[k] @ s
                s[k] = 1 if h >= 0 else -1
        out.append(xi @ s / n)
    return float(np.mean(out))


def test_minimal_value_deletion_keeps_recall_far_better_than_random_deletion():
    # Chechik, Meilijson & Ruppin 1998: in a Hebbian associative memory, deleting the weakest synapses
    # ("minimal-value deletion") keeps recall far better than deleting the same fraction at random.
    # Hopfield network, N = 300, 21 patterns (load 0.07 < 0.138), 90% of the synapses removed (pairwise, so
    # the matrix stays symmetric), the same criterion code that prunes the spiking networks.
    rng = np.random.default_rng(0)
    n, p = 300, 21  # odd: no Hebbian weight is exactly 0
    patterns = rng.choice([-1.0, 1.0], size=(p, n))
    w = hopfield(n, patterns)
    intact = recall_overlap(w, patterns, np.random.default_rng(1))
    weakest = prune_array(w, WeightMagnitude(), 0.9, symmetric=True)
    randomly = prune_array(w, RandomDeletion(), 0.9, rng=2, symmetric=True)
    assert (
        np.count_nonzero(weakest) == np.count_nonzero(randomly) == pytest.approx(0.1 * n * (n - 1), rel=0.01)
    )
    m_weakest = recall_overlap(weakest, patterns, np.random.default_rng(1))
    m_random = recall_overlap(randomly, patterns, np.random.default_rng(1))
    assert intact > 0.98
    assert m_weakest > 0.95
    assert m_random < 0.7
    assert m_weakest - m_random > 0.3


def test_schedules_produce_the_documented_counts():
    # Step s removes round(n0*F(s)) - round(n0*F(s-1)): constant rate (same count per step), decreasing rate
    # (geometric, Navlakha et al. 2015) and target sparsity (cubic ramp, Zhu & Gupta 2017).
    assert ConstantRate(total=0.5, steps=5).counts(1000).tolist() == [100] * 5
    # 500 split as 8:4:2:1 -> cumulative 266.7, 400, 466.7, 500
    assert DecreasingRate(total=0.5, steps=4, ratio=0.5).counts(1000).tolist() == [267, 133, 67, 33]
    # F(s) = 0.9*(1 - (1 - s/4)^3): 0.5203, 0.7875, 0.8859, 0.9
    assert TargetSparsity(final=0.9, steps=4).counts(1000).tolist() == [520, 268, 98, 14]
    for schedule in (ConstantRate(0.3, 7), DecreasingRate(0.6, 9, 0.8), TargetSparsity(0.95, 11, 0.1)):
        total = schedule.cumulative(schedule.steps)
        assert schedule.counts(12345).sum() == round(12345 * total)
        assert schedule.count(schedule.steps + 1, 12345) == 0
    counts = DecreasingRate(total=0.5, steps=6).counts(10_000)
    assert np.all(np.diff(counts) < 0)


def test_criteria_choose_candidates_and_order():
    w = np.array([0.5, 0.05, 0.2, 0.01, 0.9, 0.02])
    stats = SynapseStats(
        w=w,
        penalties=np.array([0, 3, 1, 5, 3, 0]),
        weak_steps=np.array([0, 4, 0, 1, 0, 9]),
        pre_rate=np.array([5.0, 0.0, 2.0, 9.0, 1.0, 4.0]),
        post_rate=np.array([5.0, 8.0, 2.0, 9.0, 0.5, 4.0]),
        rng=np.random.default_rng(0),
    )
    assert select(WeightMagnitude(), stats, 2).tolist() == [3, 5]  # the two weakest
    assert select(WeightMagnitude(threshold=0.1), stats).tolist() == [1, 3, 5]
    assert select(WeightMagnitude(threshold=0.1, sustain=3), stats).tolist() == [1, 5]  # weak for >= 3 steps
    assert select(PenaltyCount(k=3), stats).tolist() == [1, 3, 4]
    assert select(PenaltyCount(k=3), stats, 1).tolist() == [3]  # the most penalised first
    assert select(LowActivity(threshold=1 * Hz), stats).tolist() == [1, 4]  # sqrt(0*8) = 0, sqrt(0.5) < 1
    assert select((PenaltyCount(k=5), WeightMagnitude(threshold=0.03)), stats).tolist() == [3, 5]
    picks = [
        tuple(select(RandomDeletion(), SynapseStats(w=w, rng=np.random.default_rng(s)), 3)) for s in range(20)
    ]
    assert len(set(picks)) > 5  # random


def test_regrowth_draws_from_the_distance_kernel_and_prefers_active_neurons():
    # Structural plasticity: new synapses are drawn from the projection's own kernel p(d) (so their
    # distances follow the same distribution as the original ones), never duplicate an existing synapse,
    # start at w_init, and with a preference for activity land mostly on active neurons.
    sigma = 120 * um
    desc = recurrent(n=300, p_max=0.2, sigma=sigma)  # p well below 1: existing pairs hardly bias the draw
    sim = build(desc)
    syn = sim.synapses["rec"]
    d_orig = sim.distances["rec"].copy()
    sim.compact("rec", np.random.default_rng(0).random(len(syn)) < 0.3)
    n_before = len(sim.synapses["rec"])
    ai, aj = regrow(sim, "rec", Regrowth(per_step=600, w_init=0.2, activity_bias=0), rng=1)
    syn = sim.synapses["rec"]
    assert len(ai) == 600 and len(syn) == n_before + 600
    d_new = sim.distances["rec"][n_before:]
    assert d_new.max() <= 5 * 120 + 1e-6  # within the kernel's cutoff
    assert np.mean(d_new) == pytest.approx(np.mean(d_orig), rel=0.08)
    keys = np.asarray(syn.i[:], dtype=np.int64) * 300 + np.asarray(syn.j[:])
    assert len(np.unique(keys)) == len(keys)  # no duplicates
    np.testing.assert_array_equal(syn.w[n_before:], 0.2)
    rate = np.where(np.arange(300) < 150, 10.0, 0.0)  # the first half is active
    ai, aj = regrow(
        sim, "rec", Regrowth(per_step=150, activity_bias=1.0), rng=2, pre_rate=rate, post_rate=rate
    )
    assert np.mean(ai < 150) > 0.9 and np.mean(aj < 150) > 0.9
    sim.run(5 * ms)  # the grown network runs


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: ConstantRate(total=1.5), "total"),
        (lambda: ConstantRate(steps=0), "steps"),
        (lambda: DecreasingRate(ratio=1.0), "ratio"),
        (lambda: TargetSparsity(final=0.5, initial=0.7), "initial"),
        (lambda: TargetSparsity(final=-0.1), "final"),
        (lambda: WeightMagnitude(threshold=-0.1), "threshold"),
        (lambda: WeightMagnitude(sustain=2), "sustain"),
        (lambda: PenaltyCount(k=0), "k"),
        (lambda: LowActivity(threshold=-1 * Hz), "threshold"),
        (lambda: Regrowth(per_step=-1), "per_step"),
        (lambda: Pruner(criterion="weights"), "criterion"),
        (lambda: Pruner(schedule=0.5), "schedule"),
        (lambda: Pruner(every=0), "every"),
        (lambda: prune_array(np.ones((3, 3)), WeightMagnitude(), 1.2), "fraction"),
    ],
)
def test_bad_pruning_parameters_name_the_parameter(make, name):
    with pytest.raises(ParameterError, match=f"'{name}'"):
        make()


def test_bad_compaction_requests_are_refused():
    sim = build(recurrent())
    n = len(sim.synapses["inp"])
    with pytest.raises(ParameterError, match="'keep'"):
        sim.compact("inp", np.ones(n + 1, dtype=bool))
    with pytest.raises(ParameterError, match="'keep'"):
        sim.compact("inp", [0, n])
    with pytest.raises(ParameterError, match="'projection'"):
        compact(sim, "nope", [0])
    assert len(sim.synapses["inp"]) == n  # nothing happened


def test_compacted_network_stores_less():
    # Pruned synapses cost no memory: the per-synapse arrays shrink to the survivors.
    sim = build(recurrent((PairSTDP(),), p_max=0.9, sigma=400 * um))
    n = len(sim.synapses["inp"])
    sim.compact("inp", np.arange(n) % 10 == 0)
    syn = sim.synapses["inp"]
    assert len(syn) == (n + 9) // 10
    for var in ("w", "stdp_apre", "lastupdate", "i", "j"):
        assert syn.variables[var].get_value().shape == (len(syn),)


def test_compaction_carries_a_users_rule_including_shared_state_and_can_empty_a_projection():
    # Extension: a rule written here, with a per-synapse and a shared variable, survives compaction; pruning
    # every synapse leaves a projection that still runs (and can regrow).
    from dataclasses import dataclass

    from neurosim.plasticity import Rule, RuleCode

    @dataclass(frozen=True)
    class Counter(Rule):
        role = "modifier"
        namespace = "count"

        def code(self) -> RuleCode:
            return RuleCode(equations="hits : 1\ntotal : 1 (shared)", on_pre="hits += 1")

    sim = build(recurrent((Counter(),)))
    sim.run(30 * ms)
    syn = sim.synapses["inp"]
    syn.count_total = 42.0
    hits = np.array(syn.count_hits[:])
    assert hits.sum() > 0
    keep = hits > 0
    sim.compact("inp", keep)
    np.testing.assert_array_equal(sim.synapses["inp"].count_hits[:], hits[keep])
    assert float(sim.synapses["inp"].count_total[:]) == 42.0
    sim.run(10 * ms)
    sim.compact("inp", np.zeros(len(sim.synapses["inp"]), dtype=bool))
    assert len(sim.synapses["inp"]) == 0
    sim.run(10 * ms)
    ai, _ = regrow(sim, "inp", Regrowth(per_step=5, activity_bias=0), rng=0)
    assert len(sim.synapses["inp"]) == len(ai) == 5
    sim.run(10 * ms)


def test_compaction_keeps_pathways_with_their_own_delays():
    # A rule timed at spike emission (FastPairSTDP: a zero-delay pathway next to the delayed transmission)
    # keeps both delays through compaction and regrowth, and the eligibility of reward modulation.
    import dataclasses

    from neurosim.plasticity import FastPairSTDP

    desc = recurrent()
    rec = dataclasses.replace(desc.projections[1], rules=(FastPairSTDP(), RewardModulated()))
    sim = build(dataclasses.replace(desc, projections=(desc.projections[0], rec)))
    sim.run(30 * ms)
    syn = sim.synapses["rec"]
    w, c, delay = np.array(syn.w[:]), np.array(syn.reward_c[:]), np.asarray(syn.delay[:] / ms)
    keep = np.arange(len(syn)) % 3 == 0
    sim.compact("rec", keep)
    new = sim.synapses["rec"]
    np.testing.assert_array_equal(new.w[:], w[keep])
    np.testing.assert_array_equal(new.reward_c[:], c[keep])
    np.testing.assert_array_equal(np.asarray(new.delay[:] / ms), delay[keep])
    delays = {p.objname: np.asarray(p.variables["delay"].get_value()) for p in new._pathways}
    assert set(delays) == {p.objname for p in syn._pathways}
    if "emission" in delays:
        assert np.all(delays["emission"] == 0)
    regrow(sim, "rec", Regrowth(per_step=5, activity_bias=0), rng=0)
    sim.run(20 * ms)


def test_compaction_then_run_equals_a_fresh_build_of_the_kept_synapses():
    # Pruned synapses leave nothing behind: compact() before the first run, then run, gives bit for bit the
    # spikes, weights, eligibility traces and STP state of the same network built fresh with only the kept
    # synapses (build(connections=...)), with the benchmark's case (c) rules (Tsodyks-Markram STP, pair
    # STDP, reward-modulated eligibility) on a recurrent projection and dopamine turning eligibility into w.
    rules = (
        TsodyksMarkram(U=0.2, tau_d=200 * ms, tau_f=None),
        PairSTDP(),
        RewardModulated(tau_c=200 * ms, period=10 * ms),
    )
    box = UniformBox(size=500 * um)
    desc = NetworkDescription(
        populations=(
            Population("src", 40, PoissonSource(rate=100 * Hz), placement=box),
            Population("E", 60, NEURON, placement=box),
        ),
        projections=(
            Projection("inp", "src", "E", 4 * mV, connectivity=GaussianKernel(p_max=0.5, sigma=200 * um)),
            Projection(
                "rec",
                "E",
                "E",
                2 * mV,
                connectivity=GaussianKernel(p_max=0.6, sigma=300 * um),
                rules=rules,
                w_init=0.5,
            ),
        ),
        inputs=(PoissonBackground("bg", "E", 100 * Hz, 10, 1 * mV),),
        recordings=(SpikeRecording("E"),),
        seed=3,
        dt=0.5 * ms,
    )

    def run(sim):  # one network at a time: Brian2's random numbers are global, seeded at build
        DopamineSignal.of(sim).deliver(1.0, at=60 * ms)
        sim.run(120 * ms)
        i, t = sim.spikes("E")
        names = [v for v in sim.variable_names("rec") if v.startswith(("stp_", "stdp_", "reward_"))]
        state = {v: sim.variable("rec", v) for v in ("w", "delay", "lastupdate", *names)}
        state["v of E"] = sim.variable("E", "v")
        return np.asarray(i), np.asarray(t), state, sim.connections("rec")

    full = build(desc)
    rng = np.random.default_rng(5)
    keep = {name: rng.random(len(full.synapses[name])) < 0.3 for name in ("inp", "rec")}
    kept = {}
    for name, mask in keep.items():
        i, j = full.connections(name)
        kept[name] = (i[mask], j[mask], np.asarray(full.distances[name])[mask])
        full.compact(name, mask)
    compacted = run(full)
    fresh = run(build(desc, connections=kept))

    assert len(compacted[0]) > 100  # active enough for STDP and eligibility to matter
    assert np.ptp(compacted[2]["w"]) > 0  # dopamine changed the weights, unevenly
    for a, b in zip(compacted[:2], fresh[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    assert compacted[2].keys() == fresh[2].keys() and len(compacted[2]) >= 9
    for name in compacted[2]:
        np.testing.assert_array_equal(compacted[2][name], fresh[2][name], err_msg=name)
    for a, b in zip(compacted[3], fresh[3], strict=True):
        np.testing.assert_array_equal(a, b)
