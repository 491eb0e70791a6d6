"""Bad input is caught when a description is written, and the protocol author's interface.

Description time: weights with the wrong unit or sign, spike trains that do not fit their population and
rules a spike source cannot hold are refused by the description objects, with a ParameterError that names
the parameter and the value, before anything is built; a property test (hypothesis) throws generated invalid
values at every description and rule class and accepts nothing but a ParameterError.

Protocols: ``Simulation.variable(..., rule=...)`` reads a rule's variable by the rule's own name, and
``ImposedSpikes`` makes neurons that receive synapses fire at given times as their own spikes. Known results:
the pair-STDP window ``A_plus·exp(-Δt/tau_plus)`` / ``-A_minus·exp(Δt/tau_minus)`` (Song, Miller & Abbott
2000) for imposed pre/post pairs, and Tsodyks–Markram depletion ``x = 1 - U`` after one spike from rest
(Tsodyks & Markram 1997).
"""

from __future__ import annotations

import ast
import dataclasses
import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from brian2 import Hz, amp, metre, ms, mV, second
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim import (
    LIF,
    AdaptiveLIF,
    AdEx,
    AllToAll,
    ConductionDelay,
    ExplicitConnections,
    GraupnerBrunel,
    Izhikevich,
    NetworkDescription,
    OneToOne,
    PairSTDP,
    ParameterError,
    PoissonBackground,
    PoissonSource,
    Population,
    Projection,
    RateRecording,
    SpikeRecording,
    SpikeSource,
    StateRecording,
    TripletSTDP,
    TsodyksMarkram,
    build,
)
from neurosim.network import ImposedSpikes
from neurosim.plasticity import (
    FastPairSTDP,
    FastTsodyksMarkram,
    RewardConsolidation,
    RewardModulated,
    TaggingCapture,
)

ROOT = Path(__file__).resolve().parents[1]
DELTA = LIF(synapse="delta")
INSTANT = ConductionDelay(base=1 * ms, velocity=1e9 * metre / second)  # 1 ms whatever the distance


# -- units, signs and spike trains at description time --------------------------------------------------


def test_weight_sign_and_unit_are_refused_by_the_description():
    with pytest.raises(ParameterError, match=r"Projection 'p': parameter 'weight' = -0.5 \* mvolt.*>= 0"):
        Projection("p", "A", "B", weight=-0.5 * mV)
    with pytest.raises(ParameterError, match="PoissonBackground 'bg': parameter 'weight' = -1.*>= 0"):
        PoissonBackground("bg", "A", 5 * Hz, 10, -1 * mV)
    with pytest.raises(ParameterError, match="'weight' = '1 mV' .*number"):
        PoissonBackground("bg", "A", 5 * Hz, 10, "1 mV")
    with pytest.raises(ParameterError, match="'weight' = 2. \\* amp .*volt .* or a plain number"):
        Projection("p", "A", "B", weight=2 * amp)
    # a plain number onto a delta synapse: the target's synapse kind decides, when the network is written
    with pytest.raises(ParameterError, match="'weight' = 0.5 .*'B' \\(LIF, synapse='delta'\\) needs .*volt"):
        NetworkDescription(
            populations=(Population("A", 2, DELTA), Population("B", 2, DELTA)),
            projections=(Projection("p", "A", "B", weight=0.5, connectivity=AllToAll()),),
        )


def test_spike_trains_must_fit_their_population_and_time_step():
    with pytest.raises(ParameterError, match="Population 'S': parameter 'model.indices' = 3 .*\\[0, 2\\]"):
        Population("S", 3, SpikeSource(indices=(0, 3), times=[1, 2] * ms))
    with pytest.raises(ParameterError, match="neuron 0 has two spikes in the time step"):
        NetworkDescription(populations=(Population("S", 1, SpikeSource((0, 0), [1.0, 1.04] * ms)),))
    with pytest.raises(ParameterError, match="ImposedSpikes 'x': parameter 'indices' = 5 .*0 to 1"):
        NetworkDescription(
            populations=(Population("E", 2, DELTA),), inputs=(ImposedSpikes("x", "E", [5], [1] * ms),)
        )
    with pytest.raises(ParameterError, match="ImposedSpikes 'x': parameter 'target' = 'S'.*spike source"):
        NetworkDescription(
            populations=(Population("S", 1, SpikeSource()),), inputs=(ImposedSpikes("x", "S", [0], [1] * ms),)
        )
    with pytest.raises(ParameterError, match="'times' = .*spike times must be >= 0"):
        ImposedSpikes("x", "E", [0], [-1] * ms)


@pytest.mark.parametrize(
    "rule, advice", [(FastTsodyksMarkram(), "TsodyksMarkram"), (FastPairSTDP(), "PairSTDP")]
)
def test_spike_source_with_a_neuron_level_rule_names_the_per_synapse_rule(rule, advice):
    with pytest.raises(ParameterError) as err:
        NetworkDescription(
            populations=(Population("src", 2, SpikeSource((0,), [1] * ms)), Population("post", 2, LIF())),
            projections=(
                Projection("p", "src", "post", weight=1 * mV, connectivity=AllToAll(), rules=(rule,)),
            ),
        )
    message = str(err.value)
    assert f"{type(rule).__name__} keeps per-neuron state" in message and "SpikeSource ('src')" in message
    assert f"use {advice}, its per-synapse form" in message
    assert "STDP" not in message or advice == "PairSTDP"  # no advice about STDP rules for an STP rule


# -- imposed spikes -----------------------------------------------------------------------------------


def pairing_network(rule, pre_times, post_times, *, pre_model=None):
    """Pair k: presynaptic neuron k (spikes at pre_times[k]) → postsynaptic neuron k, which is made to fire
    at post_times[k] by ImposedSpikes; weight 0 mV, so only the imposed spikes make the post neurons fire."""
    n = len(pre_times)
    index = list(range(n))
    pre = Population("pre", n, pre_model or SpikeSource(index, np.asarray(pre_times) * ms))
    inputs = [ImposedSpikes("post_spikes", "post", index, np.asarray(post_times) * ms)]
    if pre_model is not None:
        inputs.append(ImposedSpikes("pre_spikes", "pre", index, np.asarray(pre_times) * ms))
    return NetworkDescription(
        populations=(pre, Population("post", n, LIF(synapse="delta"))),
        projections=(
            Projection("p", "pre", "post", 0 * mV, OneToOne(), rules=(rule,), w_init=0.5, delay=INSTANT),
        ),
        inputs=tuple(inputs),
        recordings=(SpikeRecording("pre"), SpikeRecording("post"), StateRecording("post", ("v",), dt=None)),
    )


def test_imposed_spikes_fire_exactly_then_even_when_refractory_and_reset_the_neuron():
    desc = NetworkDescription(
        populations=(Population("E", 3, LIF(synapse="delta", refractory=2 * ms)),),
        inputs=(ImposedSpikes("drive", "E", [0, 0, 2, 2], [1.0, 1.5, 3.2, 7.0] * ms),),
        recordings=(SpikeRecording("E"), StateRecording("E", ("v",))),
    )
    sim = build(desc, target="numpy").run(10 * ms)
    i, t = sim.spikes("E")
    assert list(zip(i.tolist(), np.round(t / ms, 6).tolist(), strict=True)) == [
        (0, 1.0),
        (0, 1.5),  # inside the refractory period of the spike at 1.0 ms: imposed all the same
        (2, 3.2),
        (2, 7.0),
    ]
    rec = sim.state("E")
    step = int(round(3.2 / 0.1))
    assert rec.v[2, step] == pytest.approx(float(LIF().E_L))  # recorded at the start of the step: at rest
    assert rec.v[2, step + 1] == pytest.approx(float(LIF().v_reset))  # reset as after its own spike
    assert np.all(rec.v[1] == pytest.approx(float(LIF().E_L)))  # untouched neuron stays at rest


@pytest.mark.parametrize("rule_type", [PairSTDP, FastPairSTDP])
def test_imposed_pairs_follow_the_pair_stdp_window(rule_type):
    """Pair k: pre at 10 ms, post at 10 + delay + lag_k (PairSTDP times the pre spike at its arrival,
    FastPairSTDP at emission: the lag is taken from there). One pair per synapse, so the change is one
    window value: A_plus·exp(-lag/tau_plus) for lag > 0, -A_minus·exp(lag/tau_minus) for lag < 0."""
    rule = rule_type(A_plus=0.01, A_minus=0.012, tau_plus=17 * ms, tau_minus=34 * ms)
    lags = np.array([2.0, 5.0, 10.0, 30.0, -3.0, -12.0, -40.0])
    shift = 1.0 if rule_type is PairSTDP else 0.0  # the conduction delay, for the rule timed at arrival
    pre = np.full(len(lags), 50.0)
    post = pre + shift + lags
    fast = rule_type is FastPairSTDP  # its presynaptic trace needs a neuron: impose the pre spikes on LIFs
    sim = build(pairing_network(rule, pre, post, pre_model=DELTA if fast else None), target="numpy")
    sim.run(150 * ms)
    _, t_post = sim.spikes("post")
    assert np.allclose(np.sort(t_post / ms), np.sort(post))  # the post neurons fired exactly then
    expected = np.where(lags > 0, 0.01 * np.exp(-lags / 17), -0.012 * np.exp(lags / 34))
    assert np.allclose(sim.weights("p") - 0.5, expected, rtol=1e-9, atol=1e-12)


def test_set_spike_times_replaces_imposed_spikes_between_runs():
    sim = build(pairing_network(PairSTDP(A_minus=0.0), [10.0], [20.0]), target="numpy").run(30 * ms)
    sim.set_spike_times("post_spikes", [0], [45.0] * ms)
    sim.set_spike_times("pre", [0], [40.0] * ms)
    sim.run(30 * ms)
    _, t = sim.spikes("post")
    assert np.allclose(t / ms, [20.0, 45.0])
    lag1, lag2 = 20.0 - 11.0, 45.0 - 41.0  # each post spike pairs with every earlier pre spike (all-to-all)
    trace = np.exp(-lag2 / 20) + np.exp(-(45.0 - 11.0) / 20)
    assert sim.weights("p")[0] - 0.5 == pytest.approx(0.01 * (np.exp(-lag1 / 20) + trace))
    with pytest.raises(ParameterError, match="'name' = 'post'.*SpikeSource populations \\['pre'\\]"):
        sim.set_spike_times("post", [0], [1] * ms)


def test_description_with_imposed_spikes_round_trips():
    desc = pairing_network(PairSTDP(), [10.0, 12.0], [15.0, 11.0])
    assert NetworkDescription.from_json(desc.to_json()) == desc
    assert NetworkDescription.from_toml(desc.to_toml()) == desc


# -- reading a rule's variables -----------------------------------------------------------------------


def test_a_rules_variables_are_read_and_written_by_the_rules_own_names():
    tm = TsodyksMarkram(U=0.3, tau_d=200 * ms, tau_f=None)
    desc = NetworkDescription(
        populations=(Population("pre", 2, SpikeSource((0,), [5] * ms)), Population("post", 2, DELTA)),
        projections=(Projection("p", "pre", "post", 0.1 * mV, OneToOne(), rules=(tm,), delay=INSTANT),),
    )
    sim = build(desc, target="numpy").run(10 * ms)
    # one spike from rest uses the fraction U of the resources: x = 1 - U (Tsodyks & Markram 1997)
    x = sim.variable("p", "x", rule=tm)
    assert x == pytest.approx([1 - 0.3, 1.0])
    assert np.array_equal(x, sim.variable("p", "x", rule="stp"))
    assert np.array_equal(x, sim.variable("p", f"{tm.prefix}_x"))  # the namespaced name reads the same
    sim.set_variable("p", "x", 0.25, rule=tm, indices=[1])
    assert sim.variable("p", f"{tm.prefix}_x") == pytest.approx([0.7, 0.25])
    with pytest.raises(ParameterError, match="'name' = 'rho' .*known variables: \\['stp_t_last', 'stp_x'\\]"):
        sim.variable("p", "rho", rule=tm)
    with pytest.raises(ParameterError, match="'rule' = GraupnerBrunel.*prefixes \\['stp'\\]"):
        sim.variable("p", "rho", rule=GraupnerBrunel())
    with pytest.raises(ParameterError, match="'name' = 'vv' .*known variables: .*'v'"):
        sim.variable("post", "vv")
    with pytest.raises(ParameterError, match="rules belong to projections"):
        sim.variable("post", "x", rule=tm)


def test_a_rules_per_neuron_variables_are_read_through_the_projection():
    """FastPairSTDP keeps apost on the postsynaptic neuron: 1 after its imposed spike at 6 ms, decaying with
    tau_minus; the run to 8 ms integrates it to the start of the last step (7.9 ms)."""
    rule = FastPairSTDP(tau_minus=20 * ms)
    sim = build(pairing_network(rule, [5.0, 5.0], [6.0, 90.0], pre_model=DELTA), target="numpy").run(8 * ms)
    assert sim.variable("p", "apost", rule=rule) == pytest.approx([np.exp(-1.9 / 20), 0.0])


# -- generated invalid values (hypothesis) ------------------------------------------------------------

#: Description and rule classes with the arguments that make a valid instance.
VALID = {
    Population: {"name": "E", "n": 3, "model": LIF()},
    Projection: {"name": "p", "source": "A", "target": "B", "weight": 1 * mV},
    PoissonBackground: {"name": "bg", "target": "E", "rate": 5 * Hz, "n_sources": 3, "weight": 1 * mV},
    ImposedSpikes: {"name": "x", "target": "E", "indices": (0,), "times": [1.0] * ms},
    StateRecording: {"target": "E", "variables": ("v",)},
    SpikeRecording: {"population": "E"},
    RateRecording: {"population": "E"},
    ExplicitConnections: {"i": (0,), "j": (1,)},
    ConductionDelay: {},
    LIF: {},
    AdaptiveLIF: {},
    AdEx: {},
    Izhikevich: {},
    PoissonSource: {},
    SpikeSource: {},
    PairSTDP: {},
    FastPairSTDP: {},
    TripletSTDP: {},
    TsodyksMarkram: {},
    FastTsodyksMarkram: {},
    GraupnerBrunel: {},
    TaggingCapture: {},
    RewardModulated: {"clip_epsilon": 0.1},  # clip_floor is read (and checked) only with clip_epsilon
    RewardConsolidation: {},
}

FIELDS = [(cls, f) for cls in VALID for f in dataclasses.fields(cls) if f.init]


def _default(cls, f):
    if f.name in VALID[cls]:
        return VALID[cls][f.name]
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING


def invalid_values(cls, f):
    """Values no field of this kind accepts: wrong types, non-finite numbers, quantities of a dimension
    nothing in neurosim uses, containers where scalars belong; non-positive durations for time constants."""
    default = _default(cls, f)
    junk = [
        st.just(object()),
        st.complex_numbers(allow_nan=False, min_magnitude=1, max_magnitude=10).map(
            lambda z: complex(z.real, 1)
        ),
        st.sampled_from([float("nan"), float("inf"), -float("inf")]),
        st.floats(0.1, 100).map(lambda x: x * amp * metre),
        st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=2).map(
            lambda d: {1: 2, **d}
        ),
    ]
    if default is not None and f.default is not None:  # None is a valid "off" where it is the default
        junk.append(st.none())
    if not isinstance(default, bool):
        junk.append(st.booleans())
    if not isinstance(default, (str, tuple)) and f.name not in ("w_init", "rho_init", "times", "indices"):
        junk.append(st.text(max_size=5).filter(lambda s: not s.isidentifier()))
    if not isinstance(default, tuple) and f.name not in ("times", "indices", "variables"):
        junk.append(st.lists(st.floats(allow_nan=False), min_size=2, max_size=3))
    if f.name.startswith("tau"):
        junk.append(st.floats(0, 100).map(lambda x: -x * ms))
    return st.one_of(junk)


@pytest.mark.parametrize("cls, f", FIELDS, ids=[f"{c.__name__}.{f.name}" for c, f in FIELDS])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_invalid_values_raise_parameter_error_only(cls, f, data):
    value = data.draw(invalid_values(cls, f), label=f.name)
    kwargs = {k: v for k, v in VALID[cls].items()}
    kwargs[f.name] = value
    with pytest.raises(ParameterError, match=re.escape(f"'{f.name}'")):
        cls(**kwargs)


@settings(max_examples=40, deadline=None)
@given(
    weight=st.one_of(st.floats(-10, -1e-6), st.floats(1e-6, 10), st.floats(-10, 10).map(lambda x: x * mV)),
    target=st.sampled_from(["delta", "exponential", "conductance"]),
)
def test_generated_weights_of_the_wrong_unit_or_sign_fail_before_build(weight, target):
    """A weight is accepted exactly when it is >= 0 and in the unit of the target's synapse kind."""
    volts = target != "conductance"
    ok = float(weight) >= 0 and (hasattr(weight, "dim") and weight.dim == mV.dim) == volts
    try:
        NetworkDescription(
            populations=(Population("A", 2, DELTA), Population("B", 2, LIF(synapse=target))),
            projections=(Projection("p", "A", "B", weight=weight, connectivity=AllToAll()),),
        )
    except ParameterError as err:
        assert not ok and "'weight'" in str(err)
    else:
        assert ok


# -- packaging ----------------------------------------------------------------------------------------


def _imports(package: Path) -> set[str]:
    names = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_third_party_import_is_declared():
    """What neurosim imports is installed by ``pip install neurosim[extras]`` (filelock came only with
    torch before). setuptools is only probed for a C compiler (neurosim falls back without it)."""
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *sum(project["optional-dependencies"].values(), [])]
    declared = {re.split(r"[<>=!~\[ ;]", d)[0].lower() for d in declared}
    distributions = packages_distributions()
    used = _imports(ROOT / "neurosim") | _imports(ROOT / "neurosim_benchmark")
    third_party = used - set(sys.stdlib_module_names) - {"neurosim", "neurosim_benchmark", "setuptools"}
    missing = {
        name for name in third_party if not {d.lower() for d in distributions.get(name, [name])} & declared
    }
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"


def test_python_floor_matches_ruff_target_and_the_standard_library_used():
    """requires-python >= 3.11: neurosim reads TOML with the standard library's tomllib (new in 3.11)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    floor = re.fullmatch(r">=\s*3\.(\d+)", config["project"]["requires-python"])
    assert floor, config["project"]["requires-python"]
    assert config["tool"]["ruff"]["target-version"] == f"py3{floor.group(1)}"
    if "tomllib" in _imports(ROOT / "neurosim"):
        assert int(floor.group(1)) >= 11
