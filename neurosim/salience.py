"""A novelty detector: depressing input synapses make familiar stimuli weak and new ones strong.

Bottom-up salience for :mod:`neurosim.plasticity.salience`. Each stimulus channel reaches a small detector
population through Tsodyks–Markram depressing synapses with slow recovery ``τ_d`` (seconds). A stimulus seen
recently arrives through depleted resources and drives the detector weakly; a new one arrives through
rested synapses (``x = 1``) and drives it strongly. The detector's spikes raise the salience trace ``s`` of
the target neurons (:class:`~neurosim.plasticity.salience.SalienceSignal`), which gates their plasticity
(:class:`~neurosim.plasticity.salience.SalienceGated`). Stimulus-specific adaptation of this kind underlies
novelty responses in cortex and hippocampus (Ranganath & Rainer 2003); the broadcast signal stands for the
locus coeruleus (Sara 2009) or the hippocampal novelty loop (Lisman & Grace 2005).

What the detector computes (Tsodyks, Pawelzik & Markram 1998): the ``n``-th spike of a train is transmitted
with efficacy ``U·x_n``, where ``x_1 = 1`` (a rested synapse) and, for spikes ``Δ`` apart,
``x_{n+1} = 1 − (1 − (1 − U)·x_n)·e^{−Δ/τ_d}``. A regular train settles at

    x_∞ = (1 − E) / (1 − (1 − U)·E),    E = e^{−Δ/τ_d}

(:func:`steady_state_resources`), so a familiar stimulus drives the detector ``x_∞`` times as strongly as a
new one (:func:`resources`), and a gap ``T`` without the stimulus restores ``x → 1 − (1 − x)·e^{−T/τ_d}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from brian2 import Quantity, metre, ms, mV, second, um

from .connectivity import ConductionDelay
from .network import AllToAll, ExplicitConnections, Population, Projection
from .neurons import LIF
from .plasticity.salience import SalienceSignal
from .plasticity.stp import TsodyksMarkram
from .serialization import Describable
from .space import UniformBox
from .validation import check_name, check_number, check_quantity, fail


def resources(n_spikes: int, interval: Quantity, U: float, tau_d: Quantity) -> np.ndarray:
    """Resources ``x_n`` that spikes 1..``n_spikes`` of a regular train (``interval`` apart) find at a
    Tsodyks–Markram depressing synapse that was at rest before the first; each is transmitted as ``U·x_n``."""
    n = int(check_number("resources", "n_spikes", n_spikes, low=1, integer=True))
    check_number("resources", "U", U, low=0, high=1, low_open=True)
    E = float(np.exp(-float(interval / second) / float(tau_d / second)))
    x = np.ones(n)
    for k in range(1, n):
        x[k] = 1 - (1 - (1 - U) * x[k - 1]) * E
    return x


def steady_state_resources(interval: Quantity, U: float, tau_d: Quantity) -> float:
    """``x_∞ = (1 − E)/(1 − (1 − U)E)``, ``E = e^{−interval/τ_d}``: the resources of a depressing synapse
    driven by a regular train (Tsodyks, Pawelzik & Markram 1998); a new stimulus finds ``x = 1``."""
    check_number("steady_state_resources", "U", U, low=0, high=1, low_open=True)
    E = float(np.exp(-float(interval / second) / float(tau_d / second)))
    return (1 - E) / (1 - (1 - U) * E)


@dataclass(frozen=True)
class NoveltyDetector(Describable):
    """A detector population, its depressing input and its salience broadcast, as description parts.

    :meth:`parts` returns the detector :class:`~neurosim.network.Population` and two projections: stimulus
    sources → detector (all-to-all, :class:`~neurosim.plasticity.stp.TsodyksMarkram` with ``U``, ``tau_d``)
    and detector → target neurons (a :class:`~neurosim.plasticity.salience.SalienceSignal` that carries no
    current: ``w = 0``). Add them to a :class:`~neurosim.network.NetworkDescription`.
    """

    name: str = "novelty"  # detector population; projections are NAME_in and NAME_out
    n: int = 10  # detector neurons
    U: float = 0.5  # release fraction of the input synapses (the first spike of a new stimulus)
    tau_d: Quantity = 3 * second  # recovery of the input synapses: how long a stimulus stays familiar
    weight: Quantity = 1.0 * mV  # input → detector per spike at full resources (J; delivered as J·U·x)
    neuron: LIF = field(default_factory=lambda: LIF(tau_m=10 * ms, synapse="delta"))  # the detector's model
    tau_s: Quantity = 300 * ms  # decay of the salience trace s
    kick: float = 0.05  # rise of s per detector spike (per target neuron)
    delay: Quantity = 1 * ms  # conduction delay of both projections (independent of distance)

    def __post_init__(self) -> None:
        owner = "NoveltyDetector"
        check_name(owner, "name", self.name)
        check_number(owner, "n", self.n, low=1, integer=True)
        check_number(owner, "U", self.U, low=0, high=1, low_open=True)
        check_quantity(owner, "tau_d", self.tau_d, ms, positive=True)
        check_quantity(owner, "weight", self.weight, mV, positive=True)
        check_quantity(owner, "tau_s", self.tau_s, ms, positive=True)
        check_number(owner, "kick", self.kick, low=0, low_open=True)
        check_quantity(owner, "delay", self.delay, ms, nonnegative=True)

    @property
    def signal(self) -> SalienceSignal:
        """The rule of the broadcast projection (its namespace ``salience`` is what SalienceGated reads)."""
        return SalienceSignal(tau_s=self.tau_s, kick=self.kick)

    def parts(
        self,
        source: str,
        target: str,
        *,
        source_neurons: Sequence[int] | None = None,
        target_neurons: Sequence[int] | None = None,
        unit: Quantity = 1 * mV,
    ) -> tuple[Population, Projection, Projection]:
        """The detector population and its two projections: from ``source`` (only ``source_neurons`` if
        given) and onto ``target`` (only ``target_neurons`` if given). ``unit``: a weight in the unit of the
        target's synapses (the broadcast's ``J``; it carries no current, ``w = 0``)."""
        owner = "NoveltyDetector.parts"
        detector = Population(self.name, self.n, self.neuron, placement=UniformBox(size=50 * um))
        if source_neurons is None:
            inward = AllToAll()
        else:
            src = np.asarray(source_neurons, dtype=int)
            i, j = np.meshgrid(src, np.arange(self.n), indexing="ij")
            inward = ExplicitConnections(tuple(i.ravel()), tuple(j.ravel()))
        if target_neurons is None:
            outward = AllToAll()
        else:
            tgt = np.asarray(target_neurons, dtype=int)
            if tgt.size == 0:
                fail(owner, "target_neurons", target_neurons, "expected at least one neuron (or None: all)")
            i, j = np.meshgrid(np.arange(self.n), tgt, indexing="ij")
            outward = ExplicitConnections(tuple(i.ravel()), tuple(j.ravel()))
        stp = TsodyksMarkram(U=self.U, tau_d=self.tau_d)
        delay = ConductionDelay(base=self.delay, velocity=1e9 * metre / second)  # distance adds nothing
        into = Projection(
            f"{self.name}_in", source, self.name, self.weight, inward, rules=(stp,), delay=delay
        )
        out = Projection(
            f"{self.name}_out",
            self.name,
            target,
            unit,
            outward,
            rules=(self.signal,),
            w_init=0.0,
            w_max=0.0,
            delay=delay,
        )
        return detector, into, out


__all__ = ["NoveltyDetector", "resources", "steady_state_resources"]
