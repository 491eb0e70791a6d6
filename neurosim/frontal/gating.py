"""Learned gating: a Go/NoGo policy per context that learns from reward when to open a gate.

The basal ganglia gate what enters and what leaves working memory in prefrontal cortex: striatal Go/NoGo
units, trained by dopamine, learn in which contexts to update a memory (input gating) and when to let it
drive a response (output gating) (Frank, Loughry & O'Reilly 2001; O'Reilly & Frank 2006, "Making working
memory work", PBWM). :class:`GatingPolicy` is that learner in its simplest form, a tabular contextual
bandit:

* ``Q[c, a]``: the expected reward of action ``a`` (0 = NoGo, 1 = Go, or more) in context ``c``, from
  ``initial`` (optimistic, at least the best reward: every action is tried until its value has dropped to
  what it earns, instead of the first rewarded one locking in; Sutton & Barto 2018, 2.6);
* a choice: the greedy action (ties at random) or, while learning, a random one with probability
  ``epsilon`` (epsilon-greedy; Sutton & Barto 2018, 2.2);
* credit: the choices made since the previous reward are eligible; a reward ``r`` moves each of them
  ``Q ← Q + alpha·(r − Q)`` (Monte-Carlo credit: dopamine acts on the eligibility of the Go/NoGo choices)
  and clears them. With constant ``alpha`` an estimate tracks the mean reward of its choice: for rewards
  of mean μ and variance σ² it fluctuates around μ with variance ``alpha/(2 − alpha)·σ²``;
* held configurations (``hold``): a context's first choice is repeated until :meth:`GatingPolicy.release`,
  so that a whole configuration (an action per context) can be measured over many trials, for a learner
  that must adapt to the gates before their worth shows. :class:`ConfigurationSearch` chooses which
  configuration to hold next and which to keep (random local search).

Numpy only: contexts and actions are integers; nothing here knows about networks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..serialization import Describable
from ..validation import check_bool, check_number, fail

_STATE = {"init": False, "repr": False, "compare": False, "metadata": {"serialize": False}}


@dataclass(frozen=True)
class GatingPolicy(Describable):
    """Epsilon-greedy Go/NoGo choices per context, learned from reward (see the module docstring).

    The description (the fields) is frozen; the learned values ``values`` (``Q``, contexts × actions), the
    choice counts ``visits`` and the eligible choices are its state."""

    n_contexts: int  # contexts the policy tells apart (integers 0 .. n_contexts - 1)
    n_actions: int = 2  # actions per context (2: NoGo = 0, Go = 1)
    epsilon: float = 0.1  # probability of a random action while learning
    alpha: float = 0.1  # step of Q toward each reward (0 < alpha <= 1)
    initial: float = 0.0  # Q of every choice before any reward
    seed: int = 0  # of the random generator (exploration, ties)
    hold: bool = False  # while learning, repeat each context's first choice until release()
    values: np.ndarray = field(**_STATE)
    visits: np.ndarray = field(**_STATE)
    rng: np.random.Generator = field(**_STATE)
    eligible: list[tuple[int, int]] = field(**_STATE)
    held: dict[int, int] = field(**_STATE)

    def __post_init__(self) -> None:
        owner = "GatingPolicy"
        check_number(owner, "n_contexts", self.n_contexts, low=1, integer=True)
        check_number(owner, "n_actions", self.n_actions, low=2, integer=True)
        check_number(owner, "epsilon", self.epsilon, low=0, high=1)
        check_number(owner, "alpha", self.alpha, low=0, high=1, low_open=True)
        check_number(owner, "initial", self.initial)
        check_number(owner, "seed", self.seed, low=0, integer=True)
        check_bool(owner, "hold", self.hold)
        shape = (int(self.n_contexts), int(self.n_actions))
        object.__setattr__(self, "values", np.full(shape, float(self.initial)))
        object.__setattr__(self, "visits", np.zeros(shape, dtype=int))
        object.__setattr__(self, "rng", np.random.default_rng(int(self.seed)))
        object.__setattr__(self, "eligible", [])
        object.__setattr__(self, "held", {})

    def _context(self, context: int) -> int:
        high = self.n_contexts - 1
        return int(check_number("GatingPolicy", "context", context, low=0, high=high, integer=True))

    def choose(self, context: int, learn: bool = True) -> int:
        """The action in ``context``: while learning epsilon-greedy (ties at random), and the choice
        becomes eligible for the next reward; otherwise :meth:`greedy` and not eligible."""
        c = self._context(context)
        if not check_bool("GatingPolicy", "learn", learn):
            return self.greedy(c)
        row = self.values[c]
        if c in self.held:
            a = self.held[c]
        elif self.rng.random() < self.epsilon:
            a = int(self.rng.integers(self.n_actions))
        else:
            a = int(self.rng.choice(np.flatnonzero(row == row.max())))
        if self.hold:
            self.held[c] = a
        self.eligible.append((c, a))
        self.visits[c, a] += 1
        return a

    def reward(self, r: float) -> int:
        """Every choice made since the previous reward moves toward ``r`` (``Q ← Q + alpha·(r − Q)``, in
        the order made); returns how many moved."""
        r = check_number("GatingPolicy", "reward", r)
        n = len(self.eligible)
        for c, a in self.eligible:
            self.values[c, a] += self.alpha * (r - self.values[c, a])
        self.eligible.clear()
        return n

    def forget(self) -> None:
        """Drop the eligible choices without a reward (an episode ended unrewarded)."""
        self.eligible.clear()

    def release(self, actions: dict[int, int] | None = None) -> None:
        """End a held configuration (with ``hold``): the next choices hold ``actions`` (context → action)
        where given, and are drawn anew in the other contexts."""
        if actions is not None and not isinstance(actions, dict):
            fail("GatingPolicy.release", "actions", actions, "expected a dict {context: action}")
        given = {self._context(c): int(a) for c, a in (actions or {}).items()}
        for a in given.values():
            check_number("GatingPolicy", "action", a, low=0, high=self.n_actions - 1, integer=True)
        self.held.clear()
        self.held.update(given)

    def greedy(self, context: int) -> int:
        """The action with the highest value in ``context`` (the lowest index among ties: NoGo where
        nothing was learned)."""
        return int(np.argmax(self.values[self._context(context)]))

    def table(self, contexts: dict[int, str] | None = None) -> dict[str, dict[str, object]]:
        """The learned policy for a report: per visited context (named by ``contexts`` where given), the
        greedy action, the values and how often each action was chosen while learning."""
        if contexts is not None and not isinstance(contexts, dict):
            fail("GatingPolicy.table", "contexts", contexts, "expected a dict {context: name}")
        names = contexts or {}
        seen = np.flatnonzero(self.visits.sum(axis=1) > 0)
        return {
            names.get(int(c), str(int(c))): {
                "greedy": self.greedy(int(c)),
                "values": [round(float(v), 4) for v in self.values[c]],
                "visits": [int(v) for v in self.visits[c]],
            }
            for c in seen
        }


@dataclass
class ConfigurationSearch:
    """Random local search over gate configurations (context → action), each held while it is measured.

    A configuration is judged by its mean reward once the network has adapted to it (the caller holds it
    for a block of trials and averages the rewards of the later ones). It is *kept* if that mean beats the
    kept configuration's (``reference``, at first the reward of guessing), or if it *is* the kept one,
    re-measured (so a lucky measurement does not stay the bar). The next configuration is the kept one with
    one context's action flipped or unchanged, each of the ``n + 1`` as likely (``n`` contexts kept): random
    local search, as the (1+1) evolutionary algorithm with one-bit mutations (Droste, Jansen & Wegener
    2002). Without noise it reaches the best configuration of a landscape where every wrong action can be
    fixed alone, e.g. OneMax, after ``(n + 1)·H_k`` proposals on average (``k`` wrong actions, ``H_k``
    the harmonic number: the coupon collector, each missing flip drawn with probability ``1/(n + 1)``)."""

    reference: float  # the mean reward a configuration must beat (the kept one's; at first: guessing)
    n_actions: int = 2  # actions per context (a flip picks another one at random where more than 2)
    seed: int = 0  # of the random generator (which context flips)
    kept: dict[int, int] = field(default_factory=dict)  # the configuration kept (context → action)

    def __post_init__(self) -> None:
        check_number("ConfigurationSearch", "reference", self.reference)
        check_number("ConfigurationSearch", "n_actions", self.n_actions, low=2, integer=True)
        check_number("ConfigurationSearch", "seed", self.seed, low=0, integer=True)
        self.rng = np.random.default_rng(int(self.seed))

    def judge(self, config: dict[int, int], late: float | None, final: bool = False) -> bool:
        """Whether ``config``, measured at mean reward ``late`` (None: not measured), is kept (see the class
        docstring); ``final``: only the kept one re-measured may be (a configuration measured in part is
        not)."""
        if not isinstance(config, dict):
            fail("ConfigurationSearch.judge", "config", config, "expected a dict {context: action}")
        for a in config.values():
            check_number("ConfigurationSearch", "action", a, low=0, high=self.n_actions - 1, integer=True)
        if late is not None:
            late = check_number("ConfigurationSearch", "late", late)
        same = bool(config) and config == self.kept
        if not (same or (late is not None and late > self.reference and not final)):
            return False
        self.kept = dict(config)
        self.reference = self.reference if late is None else late
        return True

    def propose(self) -> tuple[dict[int, int], bool]:
        """The next configuration and whether it is the kept one (re-measured) rather than a neighbour."""
        n, flip = self.n_actions, int(self.rng.integers(len(self.kept) + 1))  # len(kept): none
        out = dict(self.kept)
        if flip < len(self.kept):
            c = list(self.kept)[flip]
            out[c] = (out[c] + 1 + (int(self.rng.integers(n - 1)) if n > 2 else 0)) % n
        return out, flip == len(self.kept)


__all__ = ["ConfigurationSearch", "GatingPolicy"]
