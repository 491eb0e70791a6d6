"""Learned gating: the frontal controller learns from reward when to write to memory and when to read it.

With :attr:`SpikingParams.learned_gating <neurosim.learners.spiking.SpikingParams.learned_gating>` the
network has no hand-wired gates (no ``write_gate``, no ``read_out``; the STORE and RECALL channels reach
nothing). Instead, at the start of every task step, the controller looks at the step's input (its context:
the set of active channels, the whole symbol, so it must learn that STORE matters and the value does not)
and makes two Go/NoGo choices, as the basal ganglia gate prefrontal working memory (Frank, Loughry &
O'Reilly 2001; O'Reilly & Frank 2006, PBWM):

* **write** (input gating): Go puts ``gating_bias`` on every gate neuron (``I_ext``) for the step, so that
  a content channel's input, subthreshold alone, makes its gate unit fire and write its memory unit (as
  :class:`~neurosim.frontal.NeuronSelection`'s top-down bias); NoGo leaves the content subthreshold.
* **read** (output gating): Go adds ``read_bias`` to the readout for the step (the mean drive of the
  hand-wired RECALL input) and emits its answer; NoGo emits none (decision −1). The readout's spikes alone
  are no answer: the gate decides when a response leaves (the basal ganglia release a response by
  disinhibiting the thalamus; Chevalier & Deniau 1990).

Each choice is a :class:`~neurosim.frontal.GatingPolicy` (one for write, one for read; values start at
``correct``, optimistic, so that every action is tried). Credit: every reward the controller's ``judge``
computes at an answer step (``correct`` / ``wrong``) moves the choices made since the policy's previous
reward toward it (Monte-Carlo credit over the trial's choices). Dopamine reaches the readout only for
emitted answers: an answer step without a read emitted nothing and gives both policies ``wrong``; an answer
emitted where the task asks none is a false alarm, ``wrong`` to the read policy (in both cases the readout's
synapses are not at fault). The answers' reward prediction (the controller's baseline) is one running mean
over all answers, not one per target: the target is no cue the network sees.

The read policy learns step by step (epsilon-greedy in training, greedy at test): a false alarm is punished
at once. The write policy cannot: a write is only worth what the readout makes of the memory it leaves, and
the network learns under the gates it is given. Under wrong writes the readout learns a constant answer and
the memory's recurrent synapses imprint the successive values as one assembly, so even the right gates
fail afterwards (measured: 0.3–0.6 after 40 random-gating trials, 0.8–1.0 from the naive network). So the
write configuration (an action per context) is **held** for ``hold`` training trials and judged by the
mean reward of the trials after the first ``settle`` (:class:`~neurosim.frontal.ConfigurationSearch`:
random local search, kept if better than the kept one). The plastic weights learned under a configuration
stay only if it is kept; a new candidate starts from the naive weights, the kept one from its own (the
changes made under a rejected configuration are undone, as early-phase plasticity that is not consolidated
decays; Frey & Morris 1997). At test, and from the first test trial on, the kept configuration and its
weights. Everything happens in the block path's callback at step boundaries (:func:`~.trials.run_block`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from brian2 import mV

from ...frontal import ConfigurationSearch, GatingPolicy
from ...validation import fail
from .network import PLASTIC
from .trials import TrialPlan

#: An action of the controller at a time step of a trial (time steps from the trial's start).
Action = tuple[int, Callable[[], None]]

#: Most task channels: contexts are the 2**n subsets of active channels.
MAX_CHANNELS = 12


class LearnedGates:
    """The write and read policies of a :class:`~neurosim.learners.spiking.SpikingLearner` and what they do
    at each step (see the module docstring)."""

    def __init__(self, learner: Any) -> None:
        owner, p = type(learner).__name__, learner.params
        if learner.write_channel is None or learner.read_channel is None:
            fail(
                owner,
                "learned_gating",
                True,
                "needs a write_channel and a read_channel (store-recall: SpikingLearner.for_task)",
            )
        if not learner.blocks:
            fail(owner, "blocks", False, "learned_gating runs in the block path: use blocks=True")
        if learner.n_inputs > MAX_CHANNELS:
            fail(owner, "n_inputs", learner.n_inputs, f"learned_gating tells apart at most {MAX_CHANNELS}")
        self.learner = learner
        self.hold, self.settle = p.gating_hold, p.gating_settle  # training trials per configuration; unjudged
        n = 2**learner.n_inputs
        kw = dict(epsilon=p.gating_epsilon, alpha=p.gating_alpha, initial=p.correct)  # optimistic
        self.write = GatingPolicy(n, seed=learner.seed, hold=self.hold > 0, **kw)
        self.trials = 0  # training trials begun
        self.testing: bool | None = None  # whether the last trial begun was a test trial (None: none yet)
        self.late: list[float] = []  # rewards of the held configuration after its first `settle` trials
        self.weights: dict[str, np.ndarray] | None = None  # the plastic weights of the kept configuration
        self.naive: dict[str, np.ndarray] | None = None  # the plastic weights before training
        k = learner.n_outputs  # a readout that guesses earns (correct + (k - 1) wrong) / k
        self.search = ConfigurationSearch((p.correct + (k - 1) * p.wrong) / k, seed=learner.seed + 2)
        self.read = GatingPolicy(n, seed=learner.seed + 1, **kw)
        names = {learner.write_channel: "STORE", learner.read_channel: "RECALL"}
        order = sorted(range(learner.n_inputs), key=lambda c: (c not in names, c))
        self.names = {
            code: "+".join(names.get(c, str(c)) for c in order if code >> c & 1) or "silent"
            for code in range(n)
        }

    @staticmethod
    def contexts(inputs: np.ndarray) -> np.ndarray:
        """The context of every step: its active channels as a binary code (channel c adds 2**c)."""
        x = np.asarray(inputs) > 0
        return (x * (1 << np.arange(x.shape[1]))).sum(axis=1).astype(int)

    def actions(self, plan: TrialPlan, learn: bool) -> tuple[list[Action], np.ndarray]:
        """What the controller does in ``plan`` (time steps from its start, each with its action: the gates
        closed at the start, a write and a read choice at each task step, closed again at the end) and the
        read choice of every step (1 = answer emitted), filled in as the trial runs."""
        steps = plan.trial.n_steps
        step = plan.n_steps // steps
        codes = self.contexts(plan.trial.inputs)
        asked = np.array([np.any(np.asarray(t) >= 0) for t in plan.trial.targets])
        reads = np.zeros(steps, dtype=int)

        def choose(k: int) -> None:
            if k == 0:  # choices of an earlier trial that no reward followed get no credit
                self.write.forget()
                self.read.forget()
                if learn:
                    self.trials += 1
                    if self.hold and (self.trials - 1) % self.hold == 0:
                        self._end_configuration()
                elif self.hold and self.testing is False:  # the first test trial after training: the kept one
                    self._end_configuration(final=True)
                self.testing = not learn
            c = int(codes[k])
            kept = self.search.kept
            write = kept[c] if not learn and c in kept else self.write.choose(c, learn)
            reads[k] = self.read.choose(int(codes[k]), learn)
            self._set(plan, write, int(reads[k]), learn)
            if learn and reads[k] and not asked[k]:  # an answer where none is asked
                self.read.reward(self.learner.params.wrong)

        out: list[Action] = [(0, lambda: self._set(plan, 0, 0, learn))]
        out += [(plan.lead + k * step, lambda k=k: choose(k)) for k in range(steps)]
        out.append((plan.length, lambda: self._set(plan, 0, 0, learn)))
        return out, reads

    def _set(self, plan: TrialPlan, write: int, read: int, learn: bool) -> None:
        """The gates' biases: write on the gate neurons; read on the readout, over the trial's exploration
        bias and, in training, the readout's excitability (its homeostasis)."""
        p, sim = self.learner.params, self.learner.sim
        sim.set_variable("gate", "I_ext", write * p.gating_bias)
        bias = plan.bias + self.learner.excitability if learn else plan.bias
        bias = np.repeat(bias, p.neurons_per_output) * mV
        sim.set_variable("out", "I_ext", bias + read * p.read_bias)

    def _end_configuration(self, final: bool = False) -> None:
        """A held write configuration ends (:class:`~neurosim.frontal.ConfigurationSearch`): if kept, the
        plastic weights learned under it are kept too. The next one starts from the kept weights if it is
        the kept configuration re-measured, else from the naive ones (judged by what the network learns under
        it, not by what it inherited). ``final`` (training has ended): the kept one, with its weights."""
        sim = self.learner.sim
        now = {name: sim.weights(name).copy() for name in PLASTIC}
        if self.naive is None:
            self.naive = self.weights = now
        late = float(np.mean(self.late)) if self.late else None
        if self.search.judge(dict(self.write.held), late, final):
            self.weights = now
        self.late.clear()
        config, same = (dict(self.search.kept), True) if final else self.search.propose()
        self.write.release(config)
        for name, w in (self.weights if same else self.naive).items():
            sim.set_variable(name, "w", w)

    def rewarded(self, reward: float) -> None:
        """A reward the controller judged: both policies' choices since their previous reward move to it."""
        if self.hold and (self.trials - 1) % self.hold < self.settle:
            self.write.forget()
        else:
            self.write.reward(reward)
            self.late += [reward] if self.hold else []
        self.read.reward(reward)

    def table(self) -> dict[str, Any]:
        """The learned policy: per context met in training, the write action used at test (the kept
        configuration's, else the greedy one) and the greedy read action (1 = Go), the values and the
        visits."""
        write, read = self.write.table(self.names), self.read.table(self.names)
        kept = {self.names[c]: a for c, a in self.search.kept.items()}
        return {
            name: {
                "write": kept.get(name, write[name]["greedy"]),
                "read": read[name]["greedy"],
                "write_values": write[name]["values"],
                "read_values": read[name]["values"],
                "visits": int(sum(write[name]["visits"])),
            }
            for name in write
        }


__all__ = ["LearnedGates"]
