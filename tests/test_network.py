"""Network descriptions (neurosim.network): bad input is refused early, and descriptions round-trip.

Bad input (issue "Bad input"): every check raises ParameterError naming the parameter and the value before
anything is simulated. Round trips (style.md, NIR/Nengo): a full network with rules, kernels, inputs and
recordings survives dict, JSON and TOML unchanged, and the copy builds the identical network.
"""

import json

import numpy as np
import pytest
from brian2 import Hz, metre, ms, mV, second, um

from neurosim import (
    LIF,
    AdaptiveLIF,
    AllToAll,
    ConductionDelay,
    Explicit,
    ExplicitConnections,
    ExponentialKernel,
    GaussianKernel,
    Grid,
    Izhikevich,
    LayeredColumn,
    NetworkDescription,
    OneToOne,
    PairSTDP,
    ParameterError,
    PoissonBackground,
    PoissonSource,
    Population,
    Projection,
    RateRecording,
    Sphere,
    SpikeRecording,
    SpikeSource,
    StateRecording,
    TripletSTDP,
    TsodyksMarkram,
    UniformBox,
    UniformKernel,
    build,
)
from neurosim.plasticity import Rule

DELTA = LIF(synapse="delta")


def two_populations(**projection):
    """E (20) → I (5) with the given Projection keywords (defaults: 0.5 mV, Gaussian kernel)."""
    kwargs = {"weight": 0.5 * mV, "connectivity": GaussianKernel(p_max=0.2, sigma=200 * um), **projection}
    return NetworkDescription(
        populations=(Population("E", 20, DELTA), Population("I", 5, DELTA, sign="inhibitory")),
        projections=(Projection("EI", "E", "I", **kwargs),),
    )


# -- bad input --------------------------------------------------------------------------------------------

BAD = [
    # non-positive time constants
    (lambda: LIF(tau_m=-5 * ms), "tau_m", "-5"),
    (lambda: LIF(tau_exc=0 * ms), "tau_exc", "0"),
    (lambda: PairSTDP(tau_plus=0 * ms), "tau_plus", "0"),
    (lambda: TsodyksMarkram(tau_f=-1 * ms), "tau_f", "-1"),
    (lambda: TripletSTDP(tau_y=-125 * ms), "tau_y", "-125"),
    (lambda: AdaptiveLIF(tau_adapt=0 * ms), "tau_adapt", "0"),
    # missing units
    (lambda: LIF(tau_m=20), "tau_m", "20"),
    (lambda: LIF(E_L=-70), "E_L", "-70"),
    (lambda: TsodyksMarkram(tau_d=800), "tau_d", "800"),
    (lambda: ConductionDelay(velocity=0.5), "velocity", "0.5"),
    (lambda: GaussianKernel(p_max=0.1, sigma=100), "sigma", "100"),
    (lambda: PoissonSource(rate=10), "rate", "10"),
    # wrong units
    (lambda: LIF(tau_m=20 * mV), "tau_m", "20"),
    (lambda: ConductionDelay(base=1 * mV), "base", "1"),
    (lambda: UniformKernel(p=0.5, radius=3 * ms), "radius", "3"),
    (lambda: NetworkDescription(populations=(Population("E", 2, DELTA),), dt=0.1 * mV), "dt", "uvolt"),
    # probabilities outside [0, 1]
    (lambda: GaussianKernel(p_max=1.5, sigma=100 * um), "p_max", "1.5"),
    (lambda: ExponentialKernel(p_max=-0.1, length=100 * um), "p_max", "-0.1"),
    (lambda: UniformKernel(p=2.0, radius=100 * um), "p", "2.0"),
    (lambda: TsodyksMarkram(U=1.2), "U", "1.2"),
    # empty populations, non-integer sizes
    (lambda: Population("E", 0, DELTA), "n", "0"),
    (lambda: Population("E", 2.5, DELTA), "n", "2.5"),
    (lambda: NetworkDescription(populations=()), "populations", "()"),
    # K larger than the source population (self-connections excluded: 19 possible sources of 20)
    (lambda: two_populations(connectivity=GaussianKernel(p_max=1.0, in_degree=25)), "in_degree", "25"),
    (
        lambda: NetworkDescription(
            populations=(Population("E", 20, DELTA),),
            projections=(Projection("EE", "E", "E", 0.5 * mV, GaussianKernel(p_max=1.0, in_degree=20)),),
        ),
        "in_degree",
        "20",
    ),
    # names and references
    (lambda: Population("2E", 5, DELTA), "name", "2E"),
    (
        lambda: NetworkDescription(
            populations=(Population("E", 2, DELTA),), projections=(Projection("EX", "E", "X", 0.5 * mV),)
        ),
        "target",
        "X",
    ),
    (
        lambda: NetworkDescription(
            populations=(Population("E", 2, DELTA),),
            inputs=(PoissonBackground("bg", "Y", 5 * Hz, 10, 0.1 * mV),),
        ),
        "target",
        "Y",
    ),
    (
        lambda: NetworkDescription(
            populations=(Population("E", 2, DELTA),), recordings=(SpikeRecording("Z"),)
        ),
        "target",
        "Z",
    ),
    (lambda: Population("E", 5, "LIF"), "model", "LIF"),
    (lambda: Population("E", 5, DELTA, sign="excitable"), "sign", "excitable"),
    # weights, bounds, other values
    (lambda: two_populations(weight=-0.5 * mV), "weight", "-0.5"),
    (lambda: two_populations(w_min=0.5, w_max=0.2), "w_max", "0.2"),
    (lambda: two_populations(rules=("PairSTDP",)), "rules", "PairSTDP"),
    (lambda: two_populations(connectivity=OneToOne()), "connectivity", "OneToOne"),
    (lambda: two_populations(connectivity=ExplicitConnections(i=(0, 25), j=(0, 1))), "connectivity.i", "25"),
    (lambda: PoissonBackground("bg", "E", -5 * Hz, 10, 0.1 * mV), "rate", "-5"),
    (lambda: PoissonBackground("bg", "E", 5 * Hz, 0, 0.1 * mV), "n_sources", "0"),
    (lambda: NetworkDescription(populations=(Population("E", 2, DELTA),), dt=0 * ms), "dt", "0"),
    (lambda: NetworkDescription(populations=(Population("E", 2, DELTA),), seed=-1), "seed", "-1"),
    (lambda: SpikeSource(indices=(0, 1), times=[1.0] * ms), "times", "1"),
]


@pytest.mark.parametrize("make, name, value", BAD, ids=[f"{k}-{b[1]}" for k, b in enumerate(BAD)])
def test_bad_input_raises_naming_parameter_and_value(make, name, value):
    with pytest.raises(ParameterError) as err:
        make()
    message = str(err.value)
    assert f"'{name}'" in message, message
    assert value in message, message


def test_errors_say_what_is_allowed():
    with pytest.raises(ParameterError, match=r"must lie in \[0.0, 1.0\]"):
        GaussianKernel(p_max=1.5, sigma=100 * um)
    with pytest.raises(ParameterError, match="must be > 0"):
        LIF(tau_m=-5 * ms)
    with pytest.raises(ParameterError, match=r"known populations: \['E'\]"):
        NetworkDescription(
            populations=(Population("E", 2, DELTA),), projections=(Projection("EX", "E", "X", 0.5 * mV),)
        )
    with pytest.raises(ParameterError, match="must be <= the 19 possible sources"):
        NetworkDescription(
            populations=(Population("E", 20, DELTA),),
            projections=(Projection("EE", "E", "E", 0.5 * mV, GaussianKernel(in_degree=20)),),
        )


def test_duplicate_names_are_refused():
    with pytest.raises(ParameterError, match="'E' is used by a population and a projection"):
        NetworkDescription(
            populations=(Population("E", 2, DELTA),), projections=(Projection("E", "E", "E", 0.5 * mV),)
        )


@pytest.mark.parametrize(
    "data, text",
    [
        ({"type": "NoSuchRule", "A_plus": 0.1}, "unknown type 'NoSuchRule'"),
        ({"type": "PairSTDP", "A_pls": 0.1}, "unknown key(s) ['A_pls']"),
        ({"type": "PairSTDP", "tau_plus": "20 * parsec"}, "cannot read '20 * parsec'"),
        ({"type": "PairSTDP", "tau_plus": "20 * mV"}, "'tau_plus'"),
        ({"type": "nowhere.module:Rule"}, "cannot import"),
    ],
)
def test_unknown_names_in_from_dict_raise(data, text):
    with pytest.raises(ParameterError) as err:
        Rule.from_dict(data)
    assert text in str(err.value)


def test_unknown_rule_inside_a_whole_description_raises():
    data = two_populations(rules=(PairSTDP(),)).to_dict()
    data["projections"][0]["rules"][0]["type"] = "PairSTPD"  # a typo deep inside
    with pytest.raises(ParameterError, match="unknown type 'PairSTPD'; known types: .*PairSTDP"):
        NetworkDescription.from_dict(data)
    with pytest.raises(ParameterError, match="expected a NetworkDescription"):
        NetworkDescription.from_dict(PairSTDP().to_dict())


@pytest.mark.parametrize(
    "target_model, weight",
    [
        (LIF(synapse="conductance"), 1 * mV),  # conductance synapses take dimensionless weights
        (LIF(synapse="delta"), 0.5),  # delta synapses take volts
        (LIF(synapse="exponential"), 2 * Hz),
    ],
)
def test_weight_unit_must_match_target_synapse_kind(target_model, weight):
    # Raised when the description is written, before any build (neurosim.network module docstring).
    with pytest.raises(ParameterError) as err:
        NetworkDescription(
            populations=(Population("src", 3, PoissonSource()), Population("dst", 3, target_model)),
            projections=(Projection("p", "src", "dst", weight=weight, connectivity=AllToAll()),),
        )
    assert "'weight'" in str(err.value) and target_model.synapse in str(err.value)


def test_background_weight_unit_and_recorded_variables_checked_at_build():
    with pytest.raises(ParameterError, match="PoissonBackground 'bg': parameter 'weight'"):
        NetworkDescription(
            populations=(Population("E", 3, LIF(synapse="conductance")),),
            inputs=(PoissonBackground("bg", "E", 5 * Hz, 10, 0.1 * mV),),
        )
    desc = NetworkDescription(
        populations=(Population("E", 3, DELTA),), recordings=(StateRecording("E", ("u",)),)
    )
    with pytest.raises(ParameterError, match="unknown variable 'u'"):
        build(desc)
    desc = NetworkDescription(populations=(Population("E", 3, DELTA, initial={"u": 1 * mV}),))
    with pytest.raises(ParameterError, match="unknown variable 'u'"):
        build(desc)


# -- round trips ------------------------------------------------------------------------------------------


def full_description(seed=11):
    """Every kind of part: six models, five placements, five connectivity kinds (with in_degree and periodic
    boundaries), STP + STDP + triplet rules, two backgrounds, all recording kinds."""
    coords = np.array([[0.0, 0.0, 0.0], [123.456789, -5.5, 1e3]]) * um
    return NetworkDescription(
        populations=(
            Population(
                "E",
                60,
                DELTA,
                placement=LayeredColumn.cortex(radius=200 * um, thickness=1000 * um),
                initial={"v": "E_L + rand()*10*mV"},
            ),
            Population(
                "I",
                15,
                LIF(synapse="conductance", tau_m=10 * ms),
                placement=Sphere(radius=300 * um),
                sign="inhibitory",
            ),
            Population(
                "inp", 27, PoissonSource(rate=8 * Hz), placement=Grid(shape=(3, 3, 3), spacing=50 * um)
            ),
            Population(
                "cue",
                2,
                SpikeSource(indices=(0, 1, 0), times=[10.0, 20.0, 30.0] * ms),
                placement=Explicit(coords),
            ),
            Population("adapt", 5, AdaptiveLIF(synapse="delta"), placement=UniformBox(size=(200 * um,) * 3)),
            Population("izh", 4, Izhikevich()),
        ),
        projections=(
            Projection(
                "EE",
                "E",
                "E",
                0.2 * mV,
                GaussianKernel(p_max=0.5, in_degree=8),
                rules=(TsodyksMarkram.facilitating(), PairSTDP(bounds="soft", pairing="nearest")),
                w_init="0.5 + 0.1*rand()",
                delay=ConductionDelay(base=1 * ms, velocity=0.3 * metre / second),
            ),
            Projection("EI", "E", "I", 0.05, ExponentialKernel(p_max=0.3, length=150 * um), periodic=True),
            Projection(
                "IE",
                "I",
                "E",
                0.3 * mV,
                UniformKernel(p=0.4, radius=300 * um),
                rules=(TripletSTDP(),),
                w_min=0.1,
                w_max=2.0,
            ),
            Projection("inpE", "inp", "E", 0.5 * mV, AllToAll()),
            Projection("cueI", "cue", "I", 0.1, ExplicitConnections(i=(0, 1), j=(3, 4))),
            Projection("Ea", "E", "adapt", 0.5 * mV, GaussianKernel(p_max=0.3, sigma=200 * um)),
            Projection("izz", "izh", "izh", 1 * mV, AllToAll(), autapses=True),
        ),
        inputs=(
            PoissonBackground("bg", "E", rate=5 * Hz, n_sources=100, weight=0.3 * mV),
            PoissonBackground("bgI", "I", rate=5 * Hz, n_sources=50, weight=0.02),
        ),
        recordings=(
            SpikeRecording("E"),
            RateRecording("I"),
            StateRecording("EE", ("w", "stp_u"), indices=(0, 1), dt=1 * ms),
            StateRecording("E", ("v",)),
        ),
        seed=seed,
        dt=0.1 * ms,
    )


def test_description_round_trips_through_dict_json_and_toml(tmp_path):
    desc = full_description()
    data = desc.to_dict()
    json.dumps(data)  # plain data: nothing but dicts, lists, strings and numbers
    assert NetworkDescription.from_dict(data) == desc
    assert NetworkDescription.from_json(desc.to_json()) == desc
    assert NetworkDescription.from_toml(desc.to_toml()) == desc
    for name in ("net.json", "net.toml"):
        desc.save(tmp_path / name)
        assert NetworkDescription.load(tmp_path / name) == desc
    again = NetworkDescription.from_toml(desc.to_toml())
    # quantities come back with their units and exact values
    assert again.projections[0].delay.velocity == 0.3 * metre / second
    assert again.populations[0].model.tau_m == 20 * ms
    assert again.projections[0].rules[0].tau_f == 530 * ms
    np.testing.assert_array_equal(
        again.population("cue").placement.positions(2), desc.population("cue").placement.positions(2)
    )


def test_round_tripped_description_builds_the_identical_network():
    desc = full_description()
    copies = [NetworkDescription.from_json(desc.to_json()), NetworkDescription.from_toml(desc.to_toml())]
    reference = build(desc)
    assert sum(len(reference.connections(p.name)[0]) for p in desc.projections) > 500
    for copy in copies:
        sim = build(copy)
        for pop in desc.populations:
            np.testing.assert_array_equal(sim.positions[pop.name], reference.positions[pop.name])
        for proj in desc.projections:
            for a, b in zip(sim.connections(proj.name), reference.connections(proj.name), strict=True):
                np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(
                sim.synapses[proj.name].delay[:], reference.synapses[proj.name].delay[:]
            )
            np.testing.assert_array_equal(sim.weights(proj.name), reference.weights(proj.name))
        np.testing.assert_array_equal(sim.groups["E"].v[:], reference.groups["E"].v[:])
