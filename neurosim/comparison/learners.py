"""The comparison's learners for one task, and their sizes and energy after a run.

The spiking side is :class:`~neurosim.learners.spiking.SpikingLearner`, except on novelty recall, whose
episodes are stored one by one from a single pass: there it is :class:`~neurosim.learners.episodic.
EpisodicMemory` with bottom-up salience (``snn``) and without it (``snn_no_salience``). The conventional
learners (LSTM, GRU, Transformer) are sized so that their weights and biases match the spiking network's
synapses, plastic and fixed together. The learners are imported on first use (Brian2 and torch load then).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from ..metrics import energy_breakdown
from ..tasks import NoveltyRecall, Task


class LearnerSettings(Protocol):
    """The settings of a comparison run that building its learners reads."""

    learners: tuple[str, ...]
    snn_assembly: int
    snn_target: str
    epochs: int
    batch_size: int
    lstm_lr: float
    gru_lr: float
    transformer_lr: float


def make_learners(task: Task, config: LearnerSettings, seed: int, episodes: int = 50) -> dict[str, Any]:
    """The learners of ``config.learners`` for ``task`` (module docstring); the spiking network is built in
    any case, since it sets the conventional learners' size. ``episodes``: how many novelty-recall episodes
    the episodic memory runs side by side (the test trials: all in one run)."""
    from ..learners import GRULearner, LSTMLearner, TransformerLearner

    spiking = _spiking(task, config, seed, episodes)
    budget = spiking_sizes(spiking["snn"])["parameters_total"]
    training = dict(epochs=config.epochs, batch_size=config.batch_size, seed=seed)
    conventional = {
        "lstm": (LSTMLearner, config.lstm_lr),
        "gru": (GRULearner, config.gru_lr),
        "transformer": (TransformerLearner, config.transformer_lr),
    }
    learners = {name: learner for name, learner in spiking.items() if name in config.learners}
    for name, (cls, lr) in conventional.items():
        if name in config.learners:
            learners[name] = cls.for_parameters(task, budget, lr=lr, **training)
    return learners


def _spiking(task: Task, config: LearnerSettings, seed: int, episodes: int) -> dict[str, Any]:
    if isinstance(task, NoveltyRecall):
        from ..learners.episodic import EpisodicMemory, EpisodicParams

        params = EpisodicParams(batch=episodes)
        out = {}
        for name, salience in (("snn", True), ("snn_no_salience", False)):
            if name == "snn" or name in config.learners:
                target = "numpy" if config.snn_target == "auto" else config.snn_target  # its own default
                out[name] = EpisodicMemory(task, params, salience=salience, seed=seed, target=target)
        return out
    from ..learners.spiking import SpikingLearner

    target = None if config.snn_target == "auto" else config.snn_target  # None: the learner's default
    snn = SpikingLearner.for_task(task, assembly_size=config.snn_assembly, seed=seed, target=target)
    return {"snn": snn}


def spiking_variant(task: Task, config: LearnerSettings, seed: int, overrides: Mapping[str, Any]) -> Any:
    """The spiking learner of ``task`` with :class:`~neurosim.learners.spiking.SpikingParams` ``overrides``
    (a variant of the frontal controller's ablation, :mod:`~neurosim.comparison.ablation`), built as the
    comparison builds ``snn``."""
    from ..learners.spiking import SpikingLearner, SpikingParams

    target = None if config.snn_target == "auto" else config.snn_target
    params = SpikingParams(**overrides)
    return SpikingLearner.for_task(task, params, assembly_size=config.snn_assembly, seed=seed, target=target)


def spiking_sizes(snn: Any) -> dict[str, int]:
    """The spiking network's synapses: ``parameters_plastic`` (in use), ``parameters_total`` (plastic and
    fixed, every projection) and ``nonzero_weights`` (synapses whose weight is not zero). A learner that
    reports its own (one episode's network of :class:`~neurosim.learners.episodic.EpisodicMemory`) is
    asked."""
    if hasattr(snn, "n_parameters_total"):
        return {"parameters_plastic": int(snn.n_parameters), "parameters_total": int(snn.n_parameters_total)}
    projections = [proj.name for proj in snn.sim.description.projections]
    return {
        "parameters_plastic": int(snn.n_parameters),
        "parameters_total": int(sum(snn.sim.n_synapses(p) for p in projections)),
        "nonzero_weights": int(sum(np.count_nonzero(snn.sim.weights(p)) for p in projections)),
    }


def costs(learner: Any, record: Any) -> dict[str, Any]:
    """Sizes and energy of a learner right after its run: trainable and total parameters, nonzero weights,
    and the counted operations with their energy (:func:`neurosim.metrics.energy_breakdown`). The spiking
    network pays per synaptic event (``record.ops``), per neuron update (every neuron but the input
    sources, every time step simulated) and per plastic update; the others per MAC and operand read. A
    learner whose record carries these figures (the conventional ones, the episodic memory) gives them."""
    extra = record.extra
    if "energy_counts" in extra:
        return {
            "parameters_plastic": int(record.parameters),
            "parameters_total": int(extra["parameters_total"]),
            "nonzero_weights": int(extra["nonzero_weights"]),
            "energy_counts": dict(extra["energy_counts"]),
            "energy_breakdown": dict(extra["energy_breakdown"]),
        }
    neuron_updates = getattr(learner, "neuron_updates", None)
    if neuron_updates is None:  # every non-input neuron updated at every step of the simulated time
        p = learner.params
        neurons = sum(pop.n for pop in learner.sim.description.populations if pop.name != "input")
        neuron_updates = neurons * int(round(float(learner.sim.t / p.dt)))
    counts = {
        "synaptic_events": int(record.ops),
        "neuron_updates": int(neuron_updates),
        "plastic_updates": int(learner.train_plastic_updates),
    }
    return {**spiking_sizes(learner), "energy_counts": counts, "energy_breakdown": energy_breakdown(counts)}


__all__ = ["LearnerSettings", "costs", "make_learners", "spiking_sizes", "spiking_variant"]
