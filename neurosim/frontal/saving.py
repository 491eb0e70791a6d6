"""Saving the frontal controller beside its network, and continuing from the file.

A controller's state is what it has learned and counted (per-projection ledgers, baselines, the bandit's
estimates, random generators, the pruning history, the trials so far): :func:`controller_state` makes it a
plain dict that a state file's extras hold (``sim.save(path, extras={"controller": ...})`` or
:func:`save_with_controller`); :func:`checked_state` reads it back and checks that it fits the controller
it is restored into (:meth:`~neurosim.frontal.controller.FrontalController.restore` applies it), so trials
continue as without the interruption.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from brian2 import second

from ..backend import Simulation, read_extras
from ..validation import ParameterError, fail


def controller_state(controller: Any) -> dict[str, Any]:
    """The state of a :class:`~neurosim.frontal.controller.FrontalController` as plain values (arrays
    copied): per-projection ledgers (penalties, steps spent weak, pruning steps, initial size), the baseline
    per context, the bandit's estimates, the random generators, the pruning history, the trials so far and
    the open activity window."""
    bandit, start = controller.bandit, controller._window_start
    return {
        "projections": {
            name: {
                "penalties": st.ledger.penalties.copy(),
                "weak_steps": st.ledger.weak_steps.copy(),
                "n_initial": st.n_initial,
                "steps": st.steps,
            }
            for name, st in controller._state.items()
        },
        "baseline": None if controller.baseline is None else list(controller.baseline.values.items()),
        "bandit": None
        if bandit is None
        else {
            "values": bandit.values.copy(),
            "counts": bandit.counts.copy(),
            "rng": bandit.rng.bit_generator.state,
        },
        "rng": controller.rng.bit_generator.state,
        "history": [record_fields(e) for e in controller.history.events],
        "trials": [record_fields(t) for t in controller.trials],
        "window_start": None if start is None else float(start / second),
    }


def checked_state(controller: Any, source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The saved state ``source`` (a state file whose extras hold ``"controller"``, or a dict from
    :func:`controller_state`), checked against ``controller``: the same projections with as many synapses
    as now, the same kind of baseline and bandit (the difference named). Nothing is changed."""
    owner = "FrontalController.restore"
    if not isinstance(source, dict):
        source = _read_controller_state(source)
    saved, tracked = source["projections"], controller._state
    if set(saved) != set(tracked):
        fail(owner, "projections", sorted(saved), f"this controller tracks {sorted(tracked)}")
    if (source["baseline"] is None) != (controller.baseline is None):
        saved_baseline = "a saved baseline" if source["baseline"] is not None else "no saved baseline"
        fail(owner, "baseline", saved_baseline, f"this controller has {controller.baseline!r}")
    bandit, mine = source["bandit"], controller.bandit
    if (bandit is None) != (mine is None) or (bandit is not None and len(bandit["values"]) != mine.n_arms):
        arms = None if bandit is None else len(bandit["values"])
        fail(owner, "bandit", f"{arms} arms", f"this controller has {mine!r}")
    for name in tracked:
        n, n_saved = controller.sim.n_synapses(name), len(saved[name]["penalties"])
        if n_saved != n:
            fail(owner, "projections", name, f"saved for {n_saved} synapses, has {n}")
    return source


def save_with_controller(
    sim: Simulation, path: str | Path, controller: Any, *, compress: bool = False
) -> Path:
    """Save ``sim`` with what its ``controller`` has learned and counted beside it (the extras entry
    ``"controller"``); continue with ``FrontalController(Simulation.load(path), ...).restore(path)``."""
    if getattr(controller, "sim", None) is not sim:
        raise ParameterError(
            f"save_with_controller: parameter 'controller' is {controller!r}; "
            "expected the FrontalController of this simulation"
        )
    return sim.save(path, compress=compress, extras={"controller": controller_state(controller)})


def _read_controller_state(path: str | Path) -> dict[str, Any]:
    """The controller state stored beside a network (extras entry ``"controller"``)."""
    extras = read_extras(path)
    if "controller" not in extras:
        raise ParameterError(
            f"FrontalController.restore: parameter 'source' is {str(path)!r}, a state file saved without "
            "a controller; save with sim.save(path, extras={'controller': ctrl.state()})"
        )
    return extras["controller"]


def record_fields(record: Any) -> dict[str, Any]:
    """A dataclass record's fields (not copied) for saving."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def context_key(key: Any) -> Any:
    """A baseline context read back from a file: lists (JSON) become tuples again, so they hash."""
    return tuple(context_key(k) for k in key) if isinstance(key, (list, tuple)) else key


__all__ = ["checked_state", "context_key", "controller_state", "record_fields", "save_with_controller"]
