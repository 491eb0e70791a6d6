"""The benchmark's networks are the same network on every engine, and the benchmark runs end to end.

No timing is asserted (timings belong to the benchmark's report, not to unit tests). What is checked:
the wiring handed to NEST and to the hand-written Brian2 script is exactly what ``neurosim.build`` draws
(same positions, synapses and delays in time steps); each engine reads back the same in-degree of every
neuron; the firing rates agree within sampling tolerance and lie near the 5–10 Hz asynchronous irregular
regime (Brunel 2000, J. Comput. Neurosci. 8:183: inhibition-dominated networks with
external drive fire irregularly at low rates); and a tiny benchmark writes valid JSON.
"""

import importlib.util
import json
import math
import os

import numpy as np
import pytest
from brian2 import ms, second

from neurosim import build
from neurosim_benchmark import ENGINES, BenchmarkNetwork, RunSpec, compare, measure, pruned, table, wiring

SMALL = {"n": 1000, "k": 50}


def test_wiring_is_exactly_what_neurosim_builds(tmp_path):
    # Equivalence by construction: the arrays given to NEST and Brian2 are neurosim's own draws.
    net = BenchmarkNetwork(n=600, k=40, case="b")
    w = wiring(net, cache=tmp_path)
    again = wiring(net, cache=tmp_path)  # read back from the cache
    sim = build(net.description(), target="numpy")
    for name in ("EE", "EI", "IE", "II"):
        i, j = sim.connections(name)
        np.testing.assert_array_equal(i, w.connections[name][0])
        np.testing.assert_array_equal(j, w.connections[name][1])
        np.testing.assert_array_equal(again.connections[name][2], w.connections[name][2])
        steps = np.rint(np.asarray(sim.synapses[name].delay[:] / ms) / 0.1).astype(int)
        np.testing.assert_array_equal(steps, w.connections[name][2])
        # mean in-degree as asked: 0.8 K from E, 0.2 K from I (Gaussian kernel solved for it)
        share = 0.8 if name[0] == "E" else 0.2
        n_target = net.n_exc if name[1] == "E" else net.n_inh
        assert abs(len(i) / n_target - share * net.k) < 0.1 * share * net.k
    assert w.n_synapses == sum(len(s) for s in sim.synapses.values())


def test_parameters_scale_for_equal_input_across_sizes_and_cases():
    # Balanced scaling (van Vreeswijk & Sompolinsky 1996): J ∝ 1/sqrt(K); the background makes up the net
    # inhibition, so the total mean input (background + recurrent at the target rate) is the same for all K.
    def mean_input(net):
        rec = float(net.target_rate * net.k_eff * net.J_E * (0.8 * 5 * ms - 0.2 * net.g * 10 * ms))
        bg = float(net.n_background * net.background_rate * net.j_background * 5 * ms)
        return rec + bg

    small, big = BenchmarkNetwork(n=2000, k=100), BenchmarkNetwork(n=10000, k=1000)
    assert math.isclose(mean_input(small), mean_input(big), rel_tol=1e-9)
    assert math.isclose(float(small.J_E / big.J_E), math.sqrt(10), rel_tol=1e-9)
    c = BenchmarkNetwork(case="c")  # STP: J·w_init·efficacy equals the static E→E weight
    assert math.isclose(c.J_EE * c.w_init * c.stp_efficacy, float(c.J_E / (1e-3)), rel_tol=1e-9)
    # pruned to 10 %: scaled like a network of in-degree K/10, so it fires at the same rate
    p, ref = BenchmarkNetwork(n=10000, k=1000, keep=0.1), BenchmarkNetwork(n=10000, k=100)
    assert p.weights_mV() == pytest.approx(ref.weights_mV())
    assert mean_input(p) == pytest.approx(mean_input(ref))


def test_pruned_wiring_keeps_the_fraction_of_every_projection(tmp_path):
    net = BenchmarkNetwork(n=600, k=40)
    w = wiring(net, cache=tmp_path)
    p = pruned(w, 0.1, seed=1)
    for name, (i, j, _) in w.connections.items():
        assert len(p.connections[name][0]) == round(0.1 * len(i))
        pairs = set(zip(i.tolist(), j.tolist(), strict=True))
        assert set(zip(*(a.tolist() for a in p.connections[name][:2]), strict=True)) <= pairs


def _rates_agree(results, tol=0.25):
    ref = results[0]
    for r in results:
        for pop in ("E", "I"):
            rate = r[f"rate_{pop}_hz"]
            assert 3.0 < rate < 15.0, f"{r['label']}: {pop} fires at {rate:.2f} Hz"
            assert abs(rate - ref[f"rate_{pop}_hz"]) < tol * ref[f"rate_{pop}_hz"], (r["label"], pop)


@pytest.mark.nest
def test_neurosim_nest_and_brian2_run_the_same_network(tmp_path):
    # Case (a), 1,000 neurons, K = 50, 0.3 s: identical in-degree of every neuron on all three engines (read
    # back from each engine), and population rates within 25 % of each other (sampling noise is ~5 % here).
    net = BenchmarkNetwork(**SMALL, case="a")
    results = [
        measure(
            RunSpec(engine, net, target="numpy", duration=0.3 * second, directory=str(tmp_path), details=True)
        )
        for engine in ("neurosim", "brian2", "nest")
    ]
    for r in results[1:]:
        for name in ("EE", "EI", "IE", "II"):
            assert r["in_degree"][name] == results[0]["in_degree"][name], (r["label"], name)
        assert r["n_synapses"] == results[0]["n_synapses"]
    _rates_agree(results)
    assert all(r["events"] > 0 for r in results)


@pytest.mark.slow
def test_plastic_cases_match_the_hand_written_brian2_script(tmp_path):
    # Case (c) (STP + FastPairSTDP + eligibility trace) through neurosim's composer and written by hand in
    # plain Brian2: same wiring, rates within tolerance. Slow (~100 s on numpy); the default selection runs
    # case (c) on both engines in the tiny benchmark, and case (a)'s equivalence above.
    net = BenchmarkNetwork(n=600, k=40, case="c")
    results = [
        measure(
            RunSpec(engine, net, target="numpy", duration=0.3 * second, directory=str(tmp_path), details=True)
        )
        for engine in ("neurosim", "brian2")
    ]
    for name in ("EE", "EI", "IE", "II"):
        assert results[0]["in_degree"][name] == results[1]["in_degree"][name]
    _rates_agree(results)


@pytest.mark.slow
def test_case_c_rules_equal_their_event_driven_reference():
    # Slow (~40 s); the default selection checks the same rewrites on small networks in test_fast_stp.py and
    # test_fast_stdp.py (eligibility included).
    # The library's STP (FastTsodyksMarkram: computed per presynaptic spike on the neuron, each synapse
    # picking up the spike it receives) and eligibility (stored
    # relative to the next update tick) are exact rewrites of the textbook event-driven forms (Tsodyks &
    # Markram 1997 depression; Izhikevich 2007 eligibility trace). Reference: those forms written here as
    # plain rules, in the benchmark's recurrent network: same spikes, resources x and eligibility c.
    from dataclasses import dataclass, replace

    from brian2 import Quantity

    from neurosim.backend import eligibility
    from neurosim.plasticity import FastPairSTDP, Rule, RuleCode
    from neurosim.plasticity.stp import resources

    @dataclass(frozen=True)
    class EventDrivenTM(Rule):
        role, namespace = "efficacy", "stp"
        U: float = 0.5
        tau_d: Quantity = 200 * ms

        def code(self) -> RuleCode:
            return RuleCode(
                equations="dx/dt = (1 - x)/tau_d : 1 (event-driven)",
                on_pre="r = U*x\nx -= r",
                efficacy="r",
                initial={"x": 1.0},
            )

    @dataclass(frozen=True)
    class EventDrivenEligibility(Rule):
        role, namespace = "modifier", "reward"
        tau_c: Quantity = 1 * second

        def code(self) -> RuleCode:
            return RuleCode(
                equations="dc/dt = -c/tau_c : 1 (event-driven)",
                on_pre="c += dw",
                on_post="c += dw",
                consumes_dw=True,  # no dopamine is delivered: the weight update is left out
            )

    net = BenchmarkNetwork(n=400, k=20, case="c")
    library = net.description()
    ee = library.projection("EE")
    reference_rules = (
        EventDrivenTM(U=net.stp_U, tau_d=net.stp_tau_d),
        FastPairSTDP(),
        EventDrivenEligibility(tau_c=net.tau_c),
    )
    reference = replace(
        library,
        projections=tuple(replace(p, rules=reference_rules) if p is ee else p for p in library.projections),
    )
    out = []
    for desc in (library, reference):
        sim = build(desc, target="numpy")
        if desc is library:
            net.set_stp_state(sim)  # FastTsodyksMarkram: x0 on the E neurons, at the synapses one delay later
            delay = np.asarray(sim.synapses["EE"].delay[:] / second)  # on the time grid
        else:  # the same start per synapse: x0 recovered back by the delay
            sim.synapses["EE"].stp_x = 1 - (1 - net.stp_x0) * np.exp(delay / float(net.stp_tau_d / second))
        sim.run(0.25 * second, progress=False)
        syn, t = sim.synapses["EE"], float(sim.t / second)
        if desc is library:
            c, x = eligibility(sim, "EE"), resources(sim, "EE")["x"]
        else:
            age = t - np.asarray(syn.lastupdate / second)
            c = np.asarray(syn.reward_c[:]) * np.exp(-age / float(net.tau_c / second))
            x = 1 - (1 - np.asarray(syn.stp_x[:])) * np.exp(-age / float(net.stp_tau_d / second))
        out.append((np.asarray(sim.spikes("E")[0]), c, x))
    (s1, c1, x1), (s2, c2, x2) = out
    np.testing.assert_array_equal(s1, s2)
    assert np.abs(c1).max() > 1e-3
    np.testing.assert_allclose(c1, c2, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(x1, x2, rtol=1e-12)


@pytest.mark.integration
def test_pruned_network_is_compacted_on_runtime_targets_and_equals_a_fresh_build(tmp_path):
    # 90 % pruning through Simulation.compact keeps exactly the synapses the other engines get, and the
    # compacted network runs exactly like the kept synapses built fresh (same in-degrees, delays, spikes).
    net = BenchmarkNetwork(n=400, k=20, case="c", keep=0.1)
    runs = {}
    for pruning in ("compact", "fresh"):
        spec = RunSpec(
            "neurosim",
            net,
            target="numpy",
            duration=0.1 * second,
            directory=str(tmp_path),
            details=True,
            pruning=pruning,
        )
        runs[pruning] = measure(spec)
        assert runs[pruning]["pruning"] == pruning
    compacted, fresh = runs["compact"], runs["fresh"]
    assert compacted["n_synapses"] == pruned(wiring(net, cache=tmp_path), 0.1, net.seed).n_synapses
    assert sum(map(sum, compacted["counts"].values())) > 0
    for key in ("in_degree", "delay_steps", "counts", "n_synapses", "events"):
        assert compacted[key] == fresh[key], key


@pytest.mark.integration
def test_the_floor_keeps_neurons_rules_and_background_without_synapses(tmp_path):
    # keep=0: the time no pruning can go below: the same neurons, rules and background, no synapse.
    net = BenchmarkNetwork(n=400, k=20, case="b", keep=0.0)
    assert any(p.rules for p in net.description().projections)  # the per-neuron rule state stays
    net = BenchmarkNetwork(n=400, k=20, case="a", keep=0.0)  # the static case runs fastest (code generation)
    for engine in ["neurosim", "brian2"] + (["nest"] if importlib.util.find_spec("nest") else []):
        spec = RunSpec(engine, net, target="numpy", duration=0.02 * second, directory=str(tmp_path))
        r = measure(spec)
        assert r["n_synapses"] == 0 and r["events"] == 0 and math.isnan(r["bytes_per_synapse"]), engine


@pytest.mark.integration
def test_tiny_benchmark_runs_end_to_end_and_writes_json(tmp_path):
    from experiments.benchmark import main

    out = tmp_path / "bench"
    config = tmp_path / "bench.toml"
    config.write_text('cases = ["c"]\n')  # the plastic case: both engines' STP, STDP and eligibility code
    argv = [  # the shared options (--config, --set, --out) mixed with the benchmark's shortcuts
        "--config",
        str(config),
        "--set",
        "duration_s=0.05",
        "--sizes",
        "400x20",
        "--engines",
        "neurosim,brian2",
        "--targets",
        "numpy",
        "--threads",
        "1",
        "--no-pruned",
        "--cache",
        str(tmp_path / "cache"),
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert main(["--sizes", "400by20", "--out", str(tmp_path / "bad")]) == 2  # refused before any run
    assert not (tmp_path / "bad").exists()
    results = json.loads((out / "results.json").read_text())
    assert [r["engine"] for r in results] == ["neurosim", "brian2"]
    for r in results:
        assert "error" not in r, r.get("error")
        for key in (
            "build_s",
            "sim_s_per_bio_s",
            "events_per_s",
            "peak_rss_mb",
            "bytes_per_synapse",
            "rate_E_hz",
        ):
            assert math.isfinite(r[key]) and r[key] >= 0, key
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison == json.loads(json.dumps(compare(results)))
    assert len(comparison["vs_brian2"]) == 1
    assert (out / "table.txt").read_text().startswith(table(results).splitlines()[0])


@pytest.mark.slow
def test_full_size_standalone_runs_briefly(tmp_path):
    # 10,000 × 1,000 with case (c) on cpp_standalone builds and runs (0.05 s): the benchmark's target size
    # works end to end in its own process; the numbers themselves are for the benchmark report.
    from neurosim_benchmark import run_isolated

    net = BenchmarkNetwork(n=10000, k=1000, case="c")
    r = run_isolated(RunSpec("neurosim", net, duration=0.05 * second, directory=str(tmp_path)), timeout=1800)
    assert "error" not in r, r.get("error")
    assert r["n_synapses"] > 9e6 and r["bytes_per_synapse"] > 0


@pytest.mark.slow
def test_cpp_standalone_reuses_its_build_directory(tmp_path):
    # Repeated standalone runs in one folder recompile only what changed (performance.md: 15-40 s cold, a few
    # seconds warm). Rebuilding the same network with another seed (other synapses, other initial values) in
    # the same process, after dropping the first, keeps every compiled time-step code object (neuron updates,
    # thresholds, synaptic pathways, the Poisson background): sizes and parameters are compiled in, random
    # draws and the background's seed are data; only main, objects and the synapse-creation code (which holds
    # the number of synapses) recompile.
    directory = tmp_path / "standalone"
    rates = []
    for seed in (1, 2):
        net = BenchmarkNetwork(n=400, k=20, case="c", seed=seed)
        sim = build(net.description(), target="cpp_standalone", directory=directory)
        before = {p: p.stat().st_mtime_ns for p in directory.rglob("*.o")}
        sim.run(0.1 * second, progress=False)
        rates.append(len(sim.spikes("E")[0]) / net.n_exc / 0.1)
        del sim
    after = {p: p.stat().st_mtime_ns for p in directory.rglob("*.o")}
    assert len(after) == len(before) > 10  # same object names: nothing added beside the first build's files
    step_code = [
        p
        for p in before
        if any(k in p.name for k in ("stateupdater", "thresholder", "_codeobject"))
        and "create_array" not in p.name
    ]
    assert len(step_code) >= 10
    assert [p.name for p in step_code if after[p] != before[p]] == []
    assert all(r > 0 for r in rates)
    assert os.path.isdir(directory / f"results_{os.getpid()}")


@pytest.mark.nest
def test_repeats_report_the_fastest_run_and_first_run_rates(tmp_path):
    # NEST goes on simulating for each repeat; the rates must still be those of the first run, so a run with
    # repeats has exactly the spikes of a single run (same seed), and sim_s is the fastest of its timings.
    pytest.importorskip("nest")
    from neurosim_benchmark import run_isolated

    net = BenchmarkNetwork(n=400, k=20, case="b")
    once, thrice = (
        run_isolated(RunSpec("nest", net, duration=0.2 * second, directory=str(tmp_path), repeat=r))
        for r in (1, 3)
    )
    assert len(once["sim_s_runs"]) == 1 and len(thrice["sim_s_runs"]) == 3
    assert thrice["sim_s"] == min(thrice["sim_s_runs"])
    assert thrice["rate_E_hz"] == once["rate_E_hz"] > 0 and thrice["events"] == once["events"]
    with pytest.raises(Exception, match="repeat"):
        RunSpec("nest", net, repeat=0)


@pytest.mark.slow
def test_standalone_repeats_rerun_the_binary(tmp_path):
    from neurosim_benchmark import run_isolated

    net = BenchmarkNetwork(n=400, k=20, case="c")
    r = run_isolated(RunSpec("neurosim", net, duration=0.1 * second, directory=str(tmp_path), repeat=2))
    assert len(r["sim_s_runs"]) == 2 and r["sim_s"] == min(r["sim_s_runs"]) > 0


def test_engine_spec_round_trips_and_validates():
    spec = RunSpec("nest", BenchmarkNetwork(n=2000, k=100, case="b"), threads=2, duration=0.5 * second)
    assert RunSpec.from_json(spec.to_json()) == spec
    assert spec.label == "nest:2t"
    with pytest.raises(Exception, match="engine"):
        RunSpec("neuron", BenchmarkNetwork())
    with pytest.raises(Exception, match="'k'"):
        BenchmarkNetwork(n=100, k=120)  # 96 excitatory inputs from 80 excitatory neurons


def test_results_table_lists_failures():
    rows = [
        {"label": "nest:1t", "engine": "nest", "n": 10, "k": 2, "case": "c", "error": "no STP+STDP synapse"}
    ]
    assert "ERROR: no STP+STDP synapse" in table(rows)
    assert compare(rows) == {
        "vs_nest": [],
        "vs_brian2": [],
        "pruned": [],
        "floor": [],
        "compact_vs_fresh": [],
        "scaling": [],
    }


def test_every_engine_gets_a_pruned_run_paired_with_its_own_unpruned_run():
    # The pruned target compares one engine with itself; the other engines' ratios are its reference (how
    # much any simulator gains from 90 % fewer synapses when the neurons stay).
    from experiments.benchmark import Config, specs

    todo = specs(Config(sizes=("2000x100", "10000x1000"), cases=("b",), threads=(2,)), seed=0, cache="")
    pruned_runs = {(s.label, s.network.n) for s in todo if s.network.keep == 0.1}
    nest = {(f"{e}:2t", 10000) for e in ENGINES if e.startswith("nest")}  # by hand, from the description
    assert nest >= {("nest:2t", 10000)}
    assert pruned_runs == {("neurosim:cpp_standalone:2t", 10000), ("brian2:cpp_standalone:2t", 10000)} | nest

    def row(label, engine, keep, sim_s, target="cpp_standalone"):
        return {
            "label": label,
            "engine": engine,
            "target": target,
            "threads": 2,
            "n": 10000,
            "k": 1000,
            "case": "b",
            "stdp": "neuron",
            "keep": keep,
            "sim_s": sim_s,
            "sim_s_per_bio_s": sim_s,
            "n_synapses": int(1e7 * keep),
            "rate_E_hz": 7.0,
        }

    rows = [
        row("neurosim:cpp_standalone:2t", "neurosim", 1.0, 3.0),
        row("neurosim:cpp_standalone:2t", "neurosim", 0.1, 1.0),
        row("nest:2t", "nest", 1.0, 20.0, "nest"),
        row("nest:2t", "nest", 0.1, 8.0, "nest"),
    ]
    got = {(p["engine"], p["target"]): p["speedup"] for p in compare(rows)["pruned"]}
    assert got == {("neurosim", "cpp_standalone"): 3.0, ("nest", "nest"): 2.5}


def test_compacted_and_fresh_pruned_runs_alternate_and_are_compared():
    # On runtime targets the pruned network runs `repeat` times by compact() and built fresh, alternating
    # (load then hits both alike); the comparison divides the fastest of each and pairs each compact run
    # with the fresh run after it. The pruned speed-up uses the fastest compacted run.
    from experiments.benchmark import Config, specs

    config = Config(
        sizes=("10000x1000",),
        cases=("c",),
        engines=("neurosim",),
        targets=("cython",),
        threads=(1,),
        floor=False,
        repeat=3,
    )
    todo = specs(config, seed=0, cache="")
    assert [(s.network.keep, s.pruning) for s in todo] == [(1.0, "compact")] + [
        (0.1, "compact"),
        (0.1, "fresh"),
    ] * 3

    def row(keep, pruning, sim_s):
        return {
            "label": "neurosim:cython:1t",
            "engine": "neurosim",
            "target": "cython",
            "threads": 1,
            "n": 10000,
            "k": 1000,
            "case": "c",
            "stdp": "neuron",
            "keep": keep,
            "pruning": pruning,
            "sim_s": sim_s,
            "sim_cpu_s": sim_s / 2,
            "sim_s_per_bio_s": sim_s,
            "n_synapses": int(1e7 * keep),
            "rate_E_hz": 7.0,
        }

    times = [
        ("compact", 2.2),
        ("fresh", 2.0),
        ("compact", 3.0),
        ("fresh", 2.5),
        ("compact", 2.4),
        ("fresh", 2.0),
    ]
    rows = [row(1.0, "compact", 8.8)] + [row(0.1, p, t) for p, t in times]
    result = compare(rows)
    (pair,) = result["compact_vs_fresh"]
    assert pair["ratio"] == pytest.approx(2.2 / 2.0) and pair["cpu_ratio"] == pytest.approx(2.2 / 2.0)
    assert pair["paired"] == pytest.approx([1.1, 1.2, 1.2])
    assert pair["median_paired"] == pytest.approx(1.2)
    assert result["pruned"][0]["speedup"] == pytest.approx(8.8 / 2.2)
    assert "fresh" in table(rows) and "compact" in table(rows)


def test_experiment_is_importable_as_a_neurosim_experiment():
    from neurosim.cli import find_experiment

    exp = find_experiment("benchmark")
    config = exp.make_config(quick=True)
    assert config.sizes == ("2000x100",) and config.targets == ("numpy",)
