"""Pruning an associative memory: delete the weakest synapses, not random ones (Chechik et al. 1998).

Chechik, Meilijson & Ruppin 1998, "Synaptic pruning in development: a computational account" (Neural
Comput. 10:1759): in a Hebbian associative memory, deleting the synapses of smallest magnitude
("minimal-value deletion") keeps memory performance far better than deleting the same fraction at random;
overgrowth followed by such deletion is an efficient use of a synapse budget.

A Hopfield network (N neurons, P random ±1 patterns stored with the Hebbian rule w_ij = Σ_μ ξ_i ξ_j / N,
:func:`neurosim.associative_memory.hebbian`) is pruned pairwise to each deletion fraction with the same
criteria that prune the spiking networks (:class:`neurosim.frontal.WeightMagnitude` and
:class:`~neurosim.frontal.RandomDeletion`, applied with :func:`neurosim.frontal.prune_array`); recall is the
overlap m = ξ·s/N after asynchronous updates from a cue with 10% of the bits flipped (1 = perfect recall;
:func:`~neurosim.associative_memory.hopfield_recall`). Figure: overlap against the fraction deleted.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim.associative_memory import hebbian, hopfield_recall  # noqa: E402
from neurosim.configs import bounded, check_ranges  # noqa: E402
from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.frontal import RandomDeletion, WeightMagnitude, prune_array  # noqa: E402


@dataclass(frozen=True)
class Config:
    n: int = bounded(400, ge=10)  # neurons
    patterns: int = bounded(29, ge=1)  # stored patterns (load 0.07; capacity 0.138 N)
    fractions: tuple[float, ...] = bounded((0.0, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98), ge=0, lt=1)
    flip: float = bounded(0.1, ge=0, le=0.5)  # fraction of the cue's bits flipped
    sweeps: int = bounded(10, ge=1)  # asynchronous update sweeps
    repeats: int = bounded(3, ge=1)  # networks (pattern sets) per fraction

    def __post_init__(self) -> None:
        check_ranges(self, owner="pruning_memory")


def run(config: Config, ctx: RunContext) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    criteria = {"minimal-value deletion": WeightMagnitude(), "random deletion": RandomDeletion()}

    def trial(fraction: float) -> dict:
        out: dict[str, list[float]] = {name: [] for name in criteria}
        for r in range(config.repeats):
            rng = ctx.rng("patterns", r)
            patterns = rng.choice([-1.0, 1.0], size=(config.patterns, config.n))
            w = hebbian(patterns)
            for name, criterion in criteria.items():
                pruned = prune_array(w, criterion, fraction, rng=ctx.rng("prune", r, name), symmetric=True)
                out[name].append(
                    hopfield_recall(pruned, patterns, ctx.rng("recall", r), config.flip, config.sweeps)
                )
        return {name: float(np.mean(v)) for name, v in out.items()}

    results = ctx.trials("fractions", list(config.fractions), trial, desc="deletion fractions")
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, style in zip(criteria, ("o-", "s--"), strict=True):
        ax.plot(config.fractions, [r[name] for r in results], style, label=name)
    ax.set_xlabel("fraction of synapses deleted")
    ax.set_ylabel("recall overlap m")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Hopfield N={config.n}, {config.patterns} patterns (Chechik et al. 1998)", fontsize=9)
    ax.legend()
    fig.tight_layout()
    ctx.save_figure(fig, "pruning_memory")
    metrics = {}
    for f, r in zip(config.fractions, results, strict=True):
        for name in criteria:
            metrics[f"{name.split()[0]}_{f:g}"] = r[name]
    return metrics


EXPERIMENT = Experiment(
    name="pruning_memory",
    description="Minimal-value vs random deletion of synapses in an associative memory (Chechik et al. 1998)",
    config_type=Config,
    run=run,
    quick_overrides={"n": 200, "patterns": 15, "fractions": (0.0, 0.5, 0.9), "repeats": 1, "sweeps": 5},
)

if __name__ == "__main__":
    sys.exit(EXPERIMENT.main())
