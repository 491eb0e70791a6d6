"""Independent cross-check against NEST (nest-simulator 3.x) on identical spike trains.

Short-term plasticity: NEST ``tsodyks2_synapse`` (Maass & Markram 2002 event-based form) vs
:class:`~neurosim.TsodyksMarkram`. NEST 3.10 sends the first spike with the *initial* ``u`` and ``x`` and
updates ``u ← U + u(1−U)e^{−Δ/τ_fac}``, ``x ← 1 + (x − xu − 1)e^{−Δ/τ_rec}`` only from the second spike on, so
neurosim's convention (first PSC = U) maps to ``u = U, x = 1``, ``tau_rec = tau_d``, ``tau_fac = tau_f``
(``tau_fac = 0`` for ``tau_f=None``). PSC amplitudes are read as the jumps of V_m of a leak-free
``iaf_psc_delta`` target (weight 1 mV).

STDP: NEST ``stdp_synapse`` (``mu_plus = mu_minus = 0``: additive, ``= 1``: multiplicative),
``stdp_nn_symm_synapse`` (nearest-spike, symmetric) and ``stdp_triplet_synapse`` vs
:class:`~neurosim.PairSTDP` (``bounds``, ``pairing``) and :class:`~neurosim.TripletSTDP`. Mapping with
``J = 1`` and w ∈ [0, 1]: ``Wmax = 1``, ``lambda = A_plus``, ``alpha = A_minus/A_plus``, ``tau_minus`` (and
``tau_minus_triplet``) on the postsynaptic neuron. Delay convention: NEST treats its delay ``d_N`` as
*dendritic* (a pair is timed as ``t_post + d_N − t_pre``), neurosim treats its delay ``d_s`` as *axonal*
(``t_post − (t_pre + d_s)``). Both see the same Δt when neurosim receives the same presynaptic train and the
postsynaptic train shifted by ``d_N + d_s``; here ``d_N = d_s = 1 ms``. Pre and post neurons are
``parrot_neuron``s repeating ``spike_generator`` trains; the plastic connection targets the post parrot's
receptor 1, which does not repeat spikes but records them for STDP. A last presynaptic spike 500 ms after
every other spike makes NEST apply its pending (lazily evaluated) facilitation, so final weights compare
directly.
"""

import os

import numpy as np
import pytest
from brian2 import ms

from neurosim import PairSTDP, TripletSTDP, TsodyksMarkram

from .helpers import forced_pairing, psc_amplitudes

pytestmark = pytest.mark.nest

RES = 0.5  # ms: time step of both simulators (all spike times lie on this grid; event-driven rules are exact)
D_NEST = 1.0  # ms: NEST (dendritic) delay of the plastic connection
D_SIM = 1.0  # ms: neurosim (axonal) delay


@pytest.fixture
def nest():
    """A freshly reset, quiet NEST kernel."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest as nest_module

    if hasattr(nest_module, "VerbosityLevel"):
        nest_module.verbosity = nest_module.VerbosityLevel.ERROR
    else:  # pragma: no cover - NEST < 3.10
        nest_module.set_verbosity("M_ERROR")
    nest_module.ResetKernel()
    return nest_module


def _irregular_train(rng, n=16, lo=3.0, hi=120.0):
    return np.round(np.cumsum(rng.uniform(lo, hi, n)), 1) + 10.0


@pytest.mark.parametrize(
    "rule",
    [
        TsodyksMarkram(U=0.2, tau_d=300 * ms, tau_f=700 * ms),
        TsodyksMarkram.facilitating(),
        TsodyksMarkram.depressing(),
    ],
    ids=["mixed", "facilitating", "depressing"],
)
def test_tsodyks_markram_matches_nest_tsodyks2_synapse(nest, rule):
    # NEST tsodyks2_synapse (Maass & Markram 2002; Tsodyks, Pawelzik & Markram 1998) on an irregular train:
    # every PSC amplitude agrees to 1e-6 relative.
    times = _irregular_train(np.random.default_rng(11))
    nest.resolution = 0.1
    gen = nest.Create("spike_generator", params={"spike_times": times})
    parrot = nest.Create("parrot_neuron")
    target = nest.Create(
        "iaf_psc_delta",
        params={"tau_m": 1e12, "E_L": 0.0, "V_m": 0.0, "V_reset": 0.0, "V_th": 1e12, "t_ref": 0.0},
    )
    meter = nest.Create("voltmeter", params={"interval": 0.1})
    nest.Connect(gen, parrot, syn_spec={"delay": 0.1})
    tau_fac = 0.0 if rule.tau_f is None else float(rule.tau_f / ms)
    nest.Connect(
        parrot,
        target,
        syn_spec={
            "synapse_model": "tsodyks2_synapse",
            "U": rule.U,
            "u": rule.U,
            "x": 1.0,
            "tau_rec": float(rule.tau_d / ms),
            "tau_fac": tau_fac,
            "weight": 1.0,
            "delay": 1.0,
        },
    )
    nest.Connect(meter, target)
    nest.Simulate(float(times.max()) + 5.0)
    v = np.asarray(meter.get("events")["V_m"])
    jumps = np.diff(np.r_[0.0, v])
    nest_psc = jumps[jumps > 1e-9]
    ours, _ = psc_amplitudes([rule], times * ms)
    assert len(nest_psc) == len(times)
    np.testing.assert_allclose(ours, nest_psc, rtol=1e-6)


def _stdp_trains(seed, n=16, duration=3000.0):
    """Pre trains on whole milliseconds and post trains on half milliseconds (even/odd steps of RES), so that
    no pre/post pair is simultaneous at the synapse in either simulator. Every train opens with a pre spike
    (NEST's nearest-spike synapse treats t = 0 as its last pre spike), and ends with a pre spike 500 ms after
    everything else."""
    rng = np.random.default_rng(seed)
    pre, post = [], []
    for _ in range(n):
        r_pre, r_post = rng.uniform(10, 40, 2)
        p = np.unique(rng.integers(10, int(duration), size=int(r_pre * duration / 1000))).astype(float)
        q = np.unique(rng.integers(12, int(duration), size=int(r_post * duration / 1000))) + 0.5
        pre.append(np.r_[5.0, p, duration + 500.0])
        post.append(q - D_NEST)  # NEST post spike times: t_post + D_NEST lies on half milliseconds
    return pre, post


def _nest_stdp(nest, pre, post, synapses, tau_minus, tau_minus_triplet=110.0):
    """Run parrot → parrot connections of each NEST synapse model in ``synapses`` ({label: syn_spec}) on the
    given trains; return the final weights per label and the recorded pre and post spike times."""
    n = len(pre)
    nest.resolution = RES
    gen_pre = nest.Create("spike_generator", n, params=[{"spike_times": t - RES} for t in pre])
    gen_post = nest.Create("spike_generator", n, params=[{"spike_times": t - RES} for t in post])
    par_pre = nest.Create("parrot_neuron", n)
    par_post = nest.Create(
        "parrot_neuron", n, params={"tau_minus": tau_minus, "tau_minus_triplet": tau_minus_triplet}
    )
    rec_pre, rec_post = nest.Create("spike_recorder"), nest.Create("spike_recorder")
    one = {"rule": "one_to_one"}
    nest.Connect(gen_pre, par_pre, one, {"delay": RES})
    nest.Connect(gen_post, par_post, one, {"delay": RES})
    nest.Connect(par_pre, rec_pre)
    nest.Connect(par_post, rec_post)
    for label, spec in synapses.items():  # one copied model per label, so that weights are told apart
        nest.CopyModel(spec["synapse_model"], f"cross_{label}")
        nest.Connect(
            par_pre,
            par_post,
            one,
            {**spec, "synapse_model": f"cross_{label}", "delay": D_NEST, "receptor_type": 1},
        )
    nest.Simulate(max(float(np.max(t)) for t in pre) + 10.0)
    weights = {}
    for label in synapses:
        conns = nest.GetConnections(par_pre, par_post, synapse_model=f"cross_{label}").get(
            ["source", "weight"]
        )
        weights[label] = np.asarray(conns["weight"])[np.argsort(conns["source"])]
    spikes = []
    for rec, nodes in ((rec_pre, par_pre), (rec_post, par_post)):
        ev = rec.get("events")
        first = nodes.tolist()[0]
        spikes.append([np.sort(ev["times"][ev["senders"] == first + k]) for k in range(n)])
    return weights, spikes


def _compare(weights, ours, label):
    np.testing.assert_allclose(ours, weights, rtol=1e-9, atol=1e-12, err_msg=f"{label}: neurosim != NEST")
    assert np.ptp(weights) > 0.02, f"{label}: the trains barely changed the weights"


def test_pair_stdp_matches_nest_stdp_synapses(nest):
    # NEST stdp_synapse (Song, Miller & Abbott 2000 additive, mu = 0; van Rossum et al. 2000 multiplicative,
    # mu = 1) and stdp_nn_symm_synapse (Morrison et al. 2008 symmetric nearest-spike) vs PairSTDP on the same
    # irregular trains: final weights agree to 1e-9 relative.
    a_plus, a_minus, tau_plus, tau_minus = 0.02, 0.021, 16.8, 33.7
    pre, post = _stdp_trains(seed=5)
    common = {"Wmax": 1.0, "lambda": a_plus, "alpha": a_minus / a_plus, "tau_plus": tau_plus, "weight": 0.5}
    synapses = {
        "hard": {"synapse_model": "stdp_synapse", "mu_plus": 0.0, "mu_minus": 0.0, **common},
        "soft": {"synapse_model": "stdp_synapse", "mu_plus": 1.0, "mu_minus": 1.0, **common},
        "nearest": {"synapse_model": "stdp_nn_symm_synapse", "mu_plus": 0.0, "mu_minus": 0.0, **common},
    }
    nest_w, (pre_rec, post_rec) = _nest_stdp(nest, pre, post, synapses, tau_minus)
    for k in range(len(pre)):  # the parrots repeated the trains exactly
        np.testing.assert_allclose(pre_rec[k], pre[k], atol=1e-9)
        np.testing.assert_allclose(post_rec[k], post[k], atol=1e-9)
    rule = {"A_plus": a_plus, "A_minus": a_minus, "tau_plus": tau_plus * ms, "tau_minus": tau_minus * ms}
    ours, _ = forced_pairing(
        {
            "hard": [PairSTDP(**rule)],
            "soft": [PairSTDP(bounds="soft", **rule)],
            "nearest": [PairSTDP(pairing="nearest", **rule)],
        },
        pre,
        [t + D_NEST + D_SIM for t in post],
        delay=D_SIM * ms,
        dt=RES * ms,
        w_init=0.5,
    )
    for label in synapses:
        _compare(nest_w[label], ours[label], label)


def test_triplet_stdp_matches_nest_stdp_triplet_synapse(nest):
    # NEST stdp_triplet_synapse (Pfister & Gerstner 2006, all-to-all) vs TripletSTDP on the same irregular
    # trains, visual cortex parameters with a nonzero pair LTP term: final weights agree to 1e-9 relative.
    rule = TripletSTDP(A2_plus=5e-3)
    pre, post = _stdp_trains(seed=9)
    spec = {
        "synapse_model": "stdp_triplet_synapse",
        "Wmax": 1.0,
        "weight": 0.5,
        "tau_plus": float(rule.tau_plus / ms),
        "tau_plus_triplet": float(rule.tau_x / ms),
        "Aplus": rule.A2_plus,
        "Aplus_triplet": rule.A3_plus,
        "Aminus": rule.A2_minus,
        "Aminus_triplet": rule.A3_minus,
    }
    nest_w, _ = _nest_stdp(
        nest,
        pre,
        post,
        {"triplet": spec},
        float(rule.tau_minus / ms),
        tau_minus_triplet=float(rule.tau_y / ms),
    )
    ours, _ = forced_pairing(
        {"triplet": [rule]},
        pre,
        [t + D_NEST + D_SIM for t in post],
        delay=D_SIM * ms,
        dt=RES * ms,
        w_init=0.5,
    )
    _compare(nest_w["triplet"], ours["triplet"], "triplet")
