"""Where the frontal controller's judgement makes proteins: the sites of consolidation.

A signal at least ``consolidate_above`` switches on protein synthesis (the ``<name>_protein_drive`` of a
consolidation rule, :mod:`neurosim.plasticity.consolidation`, :mod:`neurosim.plasticity.reward_consolidation`)
until the next judgement, so that tagged early changes are captured as late ones (Frey & Morris 1997;
Redondo & Morris 2011). Where: by default in the neurons that fired in the trial, as dopamine acts with
activity; with *protein sites* only in the neurons that took part in the decision. The difference matters
when a later task rewrites an earlier one's synapses: neurons of losing readout groups that fire a stray
spike would otherwise capture the overwriting too. :class:`DecidedGroup` gives the sites of a decision
among groups of consecutive neurons (a winner-take-all readout).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Quantity

from ..backend import Simulation
from ..validation import check_number, fail

#: ``protein_sites(output) -> {population: neuron indices}``: the neurons that took part in the decision.
ProteinSites = Callable[[Any], Mapping[str, Sequence[int]]]

_OWNER = "FrontalController"


@dataclass(frozen=True)
class DecidedGroup:
    """Protein sites of a decision among ``n_groups`` groups of ``size`` consecutive neurons of
    ``population``: output k gives neurons k·size … (k+1)·size − 1; anything else (no decision, −1) none."""

    population: str
    size: int
    n_groups: int

    def __post_init__(self) -> None:
        check_number("DecidedGroup", "size", self.size, low=1, integer=True)
        check_number("DecidedGroup", "n_groups", self.n_groups, low=1, integer=True)

    def __call__(self, output: Any) -> dict[str, np.ndarray]:
        k = int(output) if isinstance(output, (int, np.integer)) else -1
        if not 0 <= k < self.n_groups:
            return {self.population: np.zeros(0, dtype=int)}
        return {self.population: np.arange(k * self.size, (k + 1) * self.size)}


def check_protein_sites(sites: ProteinSites | None, consolidate_above: float | None) -> None:
    """``sites`` must be a callable, and only given with ``consolidate_above`` (it says where that makes
    proteins)."""
    if sites is None:
        return
    if not callable(sites):
        fail(
            _OWNER,
            "protein_sites",
            sites,
            "expected a callable protein_sites(output) -> {population: neurons}",
        )
    if consolidate_above is None:
        fail(
            _OWNER,
            "protein_sites",
            sites,
            "says where consolidate_above makes proteins; give consolidate_above",
        )


def set_protein_drive(
    sim: Simulation,
    drives: Sequence[tuple[str, str]],
    strong: bool,
    start: Quantity,
    stop: Quantity,
    sites: Mapping[str, Sequence[int]] | None = None,
) -> None:
    """Protein synthesis on (``strong``) or off in every ``(population, drive variable)`` of ``drives``: on in
    ``sites[population]`` where ``sites`` names the population, else in the neurons that fired between
    ``start`` and ``stop`` (every neuron when its spikes are not recorded or the window is empty)."""
    chosen = dict(sites) if sites is not None else {}
    known = {pop for pop, _ in drives}
    for pop in chosen:
        if pop not in known:
            fail(_OWNER, "protein_sites", pop, f"populations with protein synthesis: {sorted(known)}")
    for pop, var in drives:
        n = sim.description.population(pop).n
        drive = np.zeros(n)
        if strong and pop in chosen:
            idx = np.asarray(chosen[pop], dtype=int).ravel()
            if len(idx) and (idx.min() < 0 or idx.max() >= n):
                fail(_OWNER, "protein_sites", f"{pop}: {idx.tolist()}", f"'{pop}' has neurons 0 … {n - 1}")
            drive[idx] = 1.0
        elif strong and start < stop and sim.recorded("spikes", pop):
            drive[sim.spike_counts_between(pop, start, stop) > 0] = 1.0
        elif strong:
            drive[:] = 1.0
        sim.set_variable(pop, var, drive)


__all__ = ["DecidedGroup", "ProteinSites", "check_protein_sites", "set_protein_drive"]
