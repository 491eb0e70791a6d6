"""The engines a description runs on, and :func:`build`, which hands it to the chosen one.

``"brian2"`` (default): :func:`neurosim.backend.build`, every model and rule, code generation targets.
``"nest"``: :func:`neurosim.nest.build_nest`, the models and rules NEST has (a description with others
fails at build, naming the part), threads, and MPI on clusters (see ``docs/scaling.md``). Both take the
same description and draw the same positions, synapses and delays from its seed.
"""

from __future__ import annotations

from typing import Any

from .network import NetworkDescription
from .validation import check_choice, fail

ENGINES = ("brian2", "nest")


def build(description: NetworkDescription, *, engine: str = "brian2", **options: Any) -> Any:
    """Make the network of ``description`` on ``engine`` ("brian2" or "nest") and return its simulation.

    ``options`` go to the engine: for "brian2" those of :func:`neurosim.backend.build` (``target``,
    ``directory``, ``connections``, ``threads``); for "nest" ``threads`` and ``connections``.
    """
    check_choice("build", "engine", engine, ENGINES)
    if engine == "nest":
        extra = sorted(set(options) - {"threads", "connections"})
        if extra:
            fail("build", extra[0], options[extra[0]], "engine 'nest' takes threads and connections")
        from .nest import build_nest

        return build_nest(description, **options)
    from .backend import build as build_brian2

    return build_brian2(description, **options)


__all__ = ["ENGINES", "build"]
