"""A user's own plasticity rule, written in this file with the public rule API (neurosim.plasticity.rule).

Extension test in the manner of Nengo's learning-rule tests: a rule the library has never seen builds,
composes with the built-in Tsodyks–Markram rule on one synapse, learns by the amount its equations
predict, and round-trips through plain data by import path. Errors in a rule (a namespace clash, an
undefined symbol, incompatible roles) are reported at build time, naming the rule and the symbol.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from brian2 import Quantity, ms, mV

from neurosim import (
    LIF,
    NetworkDescription,
    OneToOne,
    PairSTDP,
    Population,
    Projection,
    Rule,
    RuleCode,
    SpikeSource,
    TsodyksMarkram,
    build,
)
from neurosim.plasticity import RuleError, compose
from neurosim.validation import ParameterError

from .helpers import forced_pairing, psc_amplitudes


@dataclass(frozen=True)
class Hebb(Rule):
    """Presynaptic trace, potentiation at each post spike: Δw = eta · Σ_pre exp(−(t_post − t_pre)/tau)."""

    role = "weight"
    eta: float = 0.01  # learning rate
    tau: Quantity = 20 * ms  # presynaptic trace time constant

    def code(self) -> RuleCode:
        return RuleCode(
            equations="dtrace/dt = -trace/tau : 1 (event-driven)",
            on_pre="trace += 1",
            on_post="dw = eta*trace",
        )


@dataclass(frozen=True)
class AntiHebb(Rule):
    """Depression at each presynaptic spike; deliberately claims the namespace 'hebb'."""

    role = "weight"
    namespace = "hebb"
    eta: float = 0.01

    def code(self) -> RuleCode:
        return RuleCode(on_pre="dw = -eta")


@dataclass(frozen=True)
class Gated(Rule):
    """Uses a symbol it never declares ('gain')."""

    role = "weight"
    eta: float = 0.01

    def code(self) -> RuleCode:
        return RuleCode(on_post="dw = eta*gain")


@dataclass(frozen=True)
class ReadsMissingNeuronVariable(Rule):
    role = "weight"

    def code(self) -> RuleCode:
        return RuleCode(on_post="dw = 0.01*calcium_post")


@dataclass(frozen=True)
class FixedLevel(Rule):
    """Defines the weight itself (RuleCode.weight), so no other rule may change it."""

    role = "weight"
    level: float = 0.3

    def code(self) -> RuleCode:
        return RuleCode(weight="level")


ETA, TAU = 0.01, 20.0
DELAY = 1.0  # ms, conduction delay in forced_pairing


def _hebb_expected(pre_emissions, post_times):
    """Δw of Hebb from its definition: each post spike adds eta·Σ exp(−lag/tau) over earlier pre arrivals."""
    arrivals = np.asarray(pre_emissions, dtype=float) + DELAY
    total = 0.0
    for tp in post_times:
        lags = tp - arrivals[arrivals < tp]
        total += ETA * np.sum(np.exp(-lags / TAU))
    return total


PRE = [[100.0, 110.0, 120.0], [100.0], [100.0], [100.0, 300.0]]
POST = [[125.0], [90.0, 150.0], [101.5, 105.0], [250.0, 302.0]]


def test_custom_rule_learns_the_analytic_amount():
    # Definition of the rule (its docstring): Δw = eta Σ exp(−(t_post − t_pre_arrival)/tau), summed over
    # post spikes; pre spikes arriving after a post spike do not count for it.
    w, _ = forced_pairing({"hebb": [Hebb(eta=ETA, tau=TAU * ms)]}, PRE, POST, delay=DELAY * ms)
    expected = [_hebb_expected(pre, post) for pre, post in zip(PRE, POST, strict=True)]
    np.testing.assert_allclose(w["hebb"] - 0.5, expected, rtol=1e-9, atol=1e-15)
    assert expected[0] > 0.01  # the amounts are sizeable, so the comparison means something


def test_custom_rule_composes_with_tsodyks_markram():
    # With STP on the same synapse: learning is unchanged (Hebb reads no efficacy), and transmission still
    # follows Tsodyks, Pawelzik & Markram 1998 (U=0.5, τ_d=0.8 s, 20 Hz: PSC5/PSC1 = 0.157, first PSC = U).
    rules = {
        "hebb": [Hebb(eta=ETA, tau=TAU * ms)],
        "both": [TsodyksMarkram.depressing(), Hebb(eta=ETA, tau=TAU * ms)],
    }
    w, _ = forced_pairing(rules, PRE, POST, delay=DELAY * ms)
    np.testing.assert_allclose(w["both"], w["hebb"], rtol=1e-12)

    times = np.arange(10) * 50 * ms + 10 * ms
    psc, _ = psc_amplitudes([TsodyksMarkram.depressing(), Hebb()], times)
    alone, _ = psc_amplitudes([TsodyksMarkram.depressing()], times)
    np.testing.assert_allclose(psc, alone, rtol=1e-12)
    assert psc[0] == pytest.approx(0.5, rel=1e-6)
    assert psc[4] / psc[0] == pytest.approx(0.157, abs=0.01)


def test_custom_rule_variables_are_namespaced():
    # naming: every name a rule declares is prefixed with its namespace (class name in lower case here).
    sim = build(_one_synapse([TsodyksMarkram.facilitating(), Hebb(), PairSTDP()]))
    variables = set(sim.synapses["syn"].variables)
    assert {"hebb_trace", "stp_u", "stp_x", "stdp_apre", "stdp_apost", "w"} <= variables
    assert "trace" not in variables


def _one_synapse(rules):
    return NetworkDescription(
        populations=(
            Population("pre", 1, SpikeSource(indices=(0,), times=[5.0] * ms)),
            Population("post", 1, LIF(synapse="delta")),
        ),
        projections=(
            Projection("syn", "pre", "post", weight=1 * mV, connectivity=OneToOne(), rules=tuple(rules)),
        ),
    )


def _compose(rules):
    """What build() composes for the synapse of :func:`_one_synapse` (delta synapses onto a LIF), without
    building neurons: the composer is where rule errors arise."""
    return compose(
        rules,
        transmission="v_post += J*w*EFFICACY",
        pre_variables=["lastspike", "not_refractory"],
        post_variables=["v", "lastspike", "not_refractory"],
        context="Projection 'syn'",
    )


def test_namespace_clash_names_both_rules():
    # compose: two rules with one prefix on a synapse are an error naming both and the namespace.
    with pytest.raises(RuleError) as err:
        _compose([Hebb(), AntiHebb()])
    message = str(err.value)
    assert "Hebb" in message and "AntiHebb" in message and "'hebb'" in message
    assert "syn" in message  # and the projection
    _compose([Hebb(), AntiHebb(name="anti")])  # name= resolves the clash


def test_undefined_symbol_names_rule_and_symbol():
    with pytest.raises(RuleError) as err:
        _compose([Gated()])
    message = str(err.value)
    assert "'gated'" in message and "Gated" in message and "'gain'" in message
    with pytest.raises(RuleError, match=r"calcium_post.*no such neuron variable"):
        _compose([ReadsMissingNeuronVariable()])


def test_incompatible_rules_raise():
    # compose: a rule that defines w itself excludes every rule that changes w.
    with pytest.raises(RuleError) as err:
        _compose([FixedLevel(), Hebb()])
    assert "incompatible" in str(err.value) and "FixedLevel" in str(err.value) and "Hebb" in str(err.value)
    _compose([FixedLevel(), TsodyksMarkram()])  # an efficacy rule does not change w: allowed


def test_rule_errors_are_parameter_errors_raised_by_build():
    # Bad input: rule errors surface from build(), before any run, as ParameterError (RuleError
    # subclasses it), so one except clause covers every description error.
    assert issubclass(RuleError, ParameterError)
    desc = _one_synapse([Gated()])  # the description itself is fine: rules are only composed by build()
    with pytest.raises(ParameterError, match="undefined symbol 'gain'"):
        build(desc)


def test_custom_rule_round_trips_by_import_path(tmp_path):
    rule = Hebb(eta=0.02, tau=10 * ms)
    data = rule.to_dict()
    assert data["type"] == "tests.test_custom_rule:Hebb"
    assert Rule.from_dict(data) == rule
    desc = _one_synapse([TsodyksMarkram.facilitating(), rule])
    for text, reader in (
        (desc.to_json(), NetworkDescription.from_json),
        (desc.to_toml(), NetworkDescription.from_toml),
    ):
        again = reader(text)
        assert again == desc
        assert again.projections[0].rules[1].tau == 10 * ms
    path = tmp_path / "net.toml"
    desc.save(path)
    sim = build(NetworkDescription.load(path))
    assert "hebb_trace" in sim.synapses["syn"].variables


def test_unknown_custom_type_is_a_parameter_error():
    with pytest.raises(ParameterError, match="tests.test_custom_rule:NoSuchRule"):
        Rule.from_dict({"type": "tests.test_custom_rule:NoSuchRule", "eta": 0.1})
    with pytest.raises(ParameterError, match=r"unknown key\(s\) \['rate'\]"):
        Rule.from_dict({"type": "tests.test_custom_rule:Hebb", "rate": 0.1})


@dataclass(frozen=True)
class Resting(Rule):
    """A Hebbian rule with a per-synapse trace and a per-neuron activity trace, both declared as activity that
    returns to 0 at rest (``RuleCode.rest``)."""

    role = "weight"
    tau: Quantity = 20 * ms  # trace time constant

    def code(self) -> RuleCode:
        return RuleCode(
            equations="dtrace/dt = -trace/tau : 1 (event-driven)",
            on_pre="trace += 1",
            on_post="dw = 0.01*trace",
            post_equations="dactivity/dt = -activity/tau : 1",
            post_on_spike="activity += 1",
            rest={"trace": 0.0, "activity": 0.0},
        )


@dataclass(frozen=True)
class RestsUndeclared(Rule):
    """Declares a rest value for a variable it does not have."""

    role = "weight"

    def code(self) -> RuleCode:
        return RuleCode(on_post="dw = 0.01", rest={"ghost": 0.0})


def test_custom_rule_declares_its_rest_state():
    """Extension: a user's rule lists its variables of activity and their rest values like the built-ins do
    (Tsodyks–Markram: x = 1, u = 0); rest_state namespaces them as the rule's code is namespaced and says
    where each lives (synapses, or the target population for post_equations). A rest value for a variable the
    rule does not declare is an error at build time that names the rule and the variable."""
    from neurosim.plasticity import RestState, rest_state

    rest = rest_state([TsodyksMarkram.facilitating(), Resting()])
    assert rest == RestState(
        synapses={"stp_u": 0.0, "stp_x": 1.0, "resting_trace": 0.0},
        source={},
        target={"resting_activity": 0.0},
    )
    sim = build(_one_synapse([TsodyksMarkram.facilitating(), Resting()]))  # the names exist after build
    assert set(rest.synapses) <= set(sim.synapses["syn"].variables)
    assert set(rest.target) <= set(sim.groups["post"].variables)
    with pytest.raises(RuleError, match=r"'restsundeclared'.*undeclared variables \['ghost'\]"):
        build(_one_synapse([RestsUndeclared()]))
