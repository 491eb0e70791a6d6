"""The synapses every engine gets: neurosim's own draw of the reference network, and its pruned subsets.

Equivalence across engines: positions and synapses are drawn by neurosim's own code (:func:`wiring`: the same
random streams as :func:`neurosim.build`), then given to NEST (``nest.Connect(pre, post, "one_to_one",
syn_spec={... arrays ...})``) and to the plain Brian2 script as index arrays with the same delays (in whole
time steps); every engine gets the synapses in the order neurosim uses (by source, then distance). A pruned
network (:func:`pruned`) keeps the same random subset of every projection on every engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import ms

from neurosim.backend.construct import connect, stream
from neurosim.io import atomic_write

from .network import PROJECTIONS, BenchmarkNetwork


@dataclass
class Wiring:
    """Positions (µm) and synapses shared by every engine: ``connections[name] = (i, j, delay_steps)``."""

    positions: dict[str, np.ndarray]
    connections: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    sampling_s: float  # seconds neurosim's code took to place the neurons and draw the synapses

    @property
    def n_synapses(self) -> int:
        return int(sum(len(c[0]) for c in self.connections.values()))

    def distances(self, name: str) -> np.ndarray:
        """Distances (µm) of one projection's synapses (for building neurosim from this wiring)."""
        src, tgt = next((s, t) for n, s, t in PROJECTIONS if n == name)
        i, j, _ = self.connections[name]
        return np.linalg.norm(self.positions[src][i] - self.positions[tgt][j], axis=1)


def wiring(net: BenchmarkNetwork, cache: str | Path | None = None) -> Wiring:
    """Place the neurons and draw the synapses exactly as :func:`neurosim.build` does for
    ``net.description()`` (same random streams), with delays in whole time steps. ``cache``: a folder where
    the result is stored and reused (drawing 10 M synapses takes seconds)."""
    path = None
    if cache is not None:
        path = Path(cache) / f"wiring_n{net.n}_k{net.k}_s{net.seed}.npz"
        if path.exists():
            with np.load(path) as data:
                positions = {p: data[f"pos_{p}"] for p in ("E", "I")}
                conns = {n: (data[f"{n}_i"], data[f"{n}_j"], data[f"{n}_d"]) for n, _, _ in PROJECTIONS}
                return Wiring(positions, conns, float(data["sampling_s"]))
    d = net.description()
    start = time.perf_counter()
    positions = {
        p.name: np.asarray(p.placement.positions(p.n, stream(d.seed, "placement", p.name)))
        for p in d.populations
    }
    dt_ms = float(d.dt / ms)
    conns = {}
    for proj in d.projections:
        src, tgt = d.population(proj.source), d.population(proj.target)
        i, j, dist = connect(proj, src, tgt, positions, d.seed)
        steps = np.rint(proj.delay.delays_ms(dist) / dt_ms).astype(np.int32)
        conns[proj.name] = (i.astype(np.int32), j.astype(np.int32), steps)
    out = Wiring(positions, conns, time.perf_counter() - start)
    if path is not None:
        arrays = {f"pos_{p}": v for p, v in positions.items()}
        for name, (i, j, s) in conns.items():
            arrays.update({f"{name}_i": i, f"{name}_j": j, f"{name}_d": s})
        atomic_write(path, lambda fh: np.savez(fh, sampling_s=out.sampling_s, **arrays), mode="wb")
    return out


def pruned(w: Wiring, keep: float, seed: int) -> Wiring:
    """A copy keeping a random ``keep`` fraction of each projection's synapses (the same for every engine)."""
    if keep >= 1:
        return w
    rng = np.random.default_rng(np.random.SeedSequence([seed, 90210]))
    conns = {}
    for name, (i, j, s) in w.connections.items():
        idx = np.sort(rng.choice(len(i), size=int(round(keep * len(i))), replace=False))
        conns[name] = (i[idx], j[idx], s[idx])
    return Wiring(w.positions, conns, w.sampling_s)
