"""The ``neurosim`` command: run, list and sweep experiments, and report the installation.

    neurosim run EXPERIMENT [--config FILE] [--set KEY=VALUE ...] [--seed N] [--out DIR] [--resume] [--quick]
                            [--scheduler ADDRESS]
    neurosim list
    neurosim info
    neurosim sweep EXPERIMENT --grid KEY=V1,V2 [--grid ...] [--seeds 0,1] [--processes 2] --out DIR
                              [--resume] [--scheduler ADDRESS]

``--scheduler ADDRESS`` runs the units of a sweep (its points) or of an experiment that has units on the
Dask cluster at ADDRESS (:mod:`neurosim.cluster`) instead of local processes.

Experiments are the scripts in the repository's ``experiments/`` folder (or ``$NEUROSIM_EXPERIMENTS``) that
define ``EXPERIMENT``; :mod:`neurosim.registry` finds them. ``list`` and ``run NAME --help`` read what each
script declares (description, config keys) without running it, and the libraries an experiment needs are
imported only when it runs, so the command answers at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .experiment import ExperimentError, add_run_arguments, run_from_args, versions
from .registry import available, declaration, experiments_dir, find_experiment
from .sweep import grid, parse_grid, run_sweep


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neurosim", description="3D spiking networks with plasticity")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", help="run an experiment", formatter_class=argparse.RawDescriptionHelpFormatter
    )
    run.add_argument("experiment", action=_DescribeExperiment)
    add_run_arguments(run)
    sub.add_parser("list", help="list the available experiments")
    sub.add_parser("info", help="versions, code generation target and cache location")
    sweep = sub.add_parser(
        "sweep",
        help="run an experiment over a grid of config values in parallel",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument("experiment", action=_DescribeExperiment)
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2")
    sweep.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    sweep.add_argument("--processes", type=int, default=2)
    sweep.add_argument("--quick", action="store_true")
    sweep.add_argument("--out", required=True)
    sweep.add_argument("--resume", action="store_true", help="run only the points missing in --out")
    sweep.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the points on the Dask cluster at ADDRESS (tcp://HOST:PORT)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return run_from_args(find_experiment(args.experiment), args)
        if args.command == "list":
            for name, path in sorted(available().items()):
                declared = declaration(path)
                if declared is not None:
                    print(f"{name:24s} {declared.description}")
            return 0
        if args.command == "info":
            return _info()
        if args.command == "sweep":
            seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
            rows = run_sweep(
                args.experiment,
                grid(parse_grid(args.grid)),
                args.out,
                seeds=seeds,
                processes=args.processes,
                quick=args.quick,
                scheduler=args.scheduler,
                resume=args.resume,
            )
            print(f"{len(rows)} runs written to {args.out}")
            return 0
    except ExperimentError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover - argparse enforces a command


class _DescribeExperiment(argparse.Action):
    """The EXPERIMENT argument: stores the name and makes ``run NAME --help`` (and ``sweep NAME --help``)
    show that experiment's description and config keys, read from its script without running it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        path = available().get(values)
        declared = declaration(path) if path is not None else None
        if declared is None:
            return
        parser.description = f"{values}: {declared.description}"
        if declared.config:
            keys = "\n".join(f"  {key}" for key in declared.config)
            parser.epilog = f"config keys (--set KEY=VALUE, or a --config TOML file):\n{keys}"


def _info() -> int:
    from brian2 import prefs

    from .backend import default_target

    for key, value in versions().items():
        print(f"{key:12s} {value}")
    print(f"{'target':12s} {default_target()} (override with NEUROSIM_TARGET or build(target=...))")
    cache = prefs.codegen.runtime.cython.cache_dir or str(Path.home() / ".cython" / "brian_extensions")
    print(f"{'cython cache':12s} {cache}")
    print(f"{'experiments':12s} {experiments_dir()}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
