"""Progress by trial from units wherever they run (neurosim.progress, via neurosim.cluster.map_units), and
the notice that a network compiles (neurosim.backend.device).

What is checked is what a unit sent: a unit that reports steps 1..n of a label (here through
:func:`reporter`, as a spiking learner's ``progress=`` callback) must be seen by the parent as exactly
1..n, in that order, for each unit, whether it ran in this process or in forked workers; its neurosim log
records arrive too, after its reports; where nobody listens a report does nothing. The compile notice must
appear exactly when Brian2 compiles: once for a network whose code is not in a fresh cython cache, never
when the cache holds it.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import pytest

from neurosim import progress as progress_module
from neurosim.cluster import Unit, map_units, progress, reporter
from neurosim.experiment import Experiment

LINE = re.compile(r"^(u\d) snn train (\d+)/(\d+)")


def _count(n: int) -> int:
    """A unit of n trials reporting each one, as a spiking learner does, then logging that it is done."""
    report = reporter("snn")
    for k in range(1, n + 1):
        report("train", k, n, 0.01 * (n - k))
    logging.getLogger("neurosim.tests").info("counted to %d", n)
    return n


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _run_logged(units: list[Unit], store, **kwargs) -> tuple[list, list[str]]:
    log = logging.getLogger(f"progress-test-{store}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = _Lines()
    log.addHandler(handler)
    try:
        return map_units(units, store, log=log, **kwargs), handler.lines
    finally:
        log.removeHandler(handler)


@pytest.mark.parametrize("processes", [1, 2])
def test_reports_of_each_unit_reach_the_parent_in_order(tmp_path, monkeypatch, processes):
    """Three units (10, 7 and 12 trials) in this process or in two forked workers: with thinning off
    (patched before the fork, so the workers inherit it) the parent logs every step of every unit, as
    ``KEY snn train k/n``, in the order sent, and then the unit's own log record."""
    monkeypatch.setattr(progress_module, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(progress_module, "LOG_EVERY_S", 0.0)
    sizes = {"u0": 10, "u1": 7, "u2": 12}
    units = [Unit(key, _count, (n,)) for key, n in sizes.items()]
    results, lines = _run_logged(units, tmp_path / "store", processes=processes, start_method="fork")
    assert results == list(sizes.values())
    for key, n in sizes.items():
        steps = [(int(m[2]), int(m[3])) for line in lines if (m := LINE.match(line)) and m[1] == key]
        assert steps == [(k, n) for k in range(1, n + 1)], (key, lines)
        own = [i for i, line in enumerate(lines) if line == f"{key}: counted to {n}"]
        last = lines.index(f"{key} snn train {n}/{n}")
        assert len(own) == 1 and own[0] > last, lines
    assert "u0 snn train 1/10 eta 0 s" in lines  # the unit's own estimate of the time left


def test_reports_are_thinned_but_keep_the_first_and_the_last(tmp_path):
    """A unit reporting 20,000 steps in a fraction of a second sends the first, the last and at most a
    few in between (one per PROGRESS_EVERY_S), in order."""
    n = 20_000
    _, lines = _run_logged([Unit("u0", _count, (n,))], tmp_path / "store")
    steps = [int(m[2]) for line in lines if (m := LINE.match(line))]
    assert steps[0] == 1 and steps[-1] == n and steps == sorted(set(steps)) and len(steps) < n // 100


def test_a_report_where_nobody_listens_does_nothing(caplog, capsys):
    """Outside map_units (a learner run in a notebook) reports neither fail nor print nor log."""
    with caplog.at_level(logging.DEBUG):
        assert _count(5) == 5
        progress("snn test", 3, 4, None)
    assert capsys.readouterr() == ("", "")
    assert [r.getMessage() for r in caplog.records] == ["counted to 5"]  # only the unit's own record


@dataclass(frozen=True)
class _Counting:
    workers: int = 1


def _counting(config: _Counting, ctx) -> dict:
    logging.getLogger("neurosim.tests").info("about to count")
    units = [Unit(key, _count, (n,)) for key, n in SIZES.items()]
    return {"counts": ctx.map_units("count", units, processes=config.workers)}


SIZES = {"u0": 10, "u1": 7}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_run_logs_its_units_progress_and_neurosim_records_once(tmp_path, capsys, workers):
    """An experiment whose units run in this process or in two forked workers: log.txt holds each unit's
    progress to its last step and each neurosim log record once, named after the unit that logged it (or
    the experiment, outside its units), and stderr shows the records (where a compile notice appears)."""
    experiment = Experiment("counting", "units that report", _Counting, _counting, has_units=True)
    assert experiment.execute(_Counting(workers), tmp_path / "run")["counts"] == list(SIZES.values())
    log, err = (tmp_path / "run" / "log.txt").read_text(), capsys.readouterr().err
    assert log.count("counting: about to count") == 1 and err.count("counting: about to count") == 1
    for key, n in SIZES.items():
        assert f"{key} snn train 1/{n} eta" in log and f"{key} snn train {n}/{n}" in log
        assert log.count(f"{key}: counted to {n}") == 1 and err.count(f"{key}: counted to {n}") == 1


COMPILE = textwrap.dedent(
    """
    import logging, sys
    logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s", stream=sys.stdout)
    import brian2
    brian2.prefs.codegen.runtime.cython.cache_dir = sys.argv[1]
    from neurosim import LIF, NetworkDescription, Population, build
    description = NetworkDescription(populations=(Population("E", 5, LIF()),))
    for _ in range(2):  # the second build of the same network finds its code compiled
        build(description, target="cython").run(1 * brian2.ms, progress=False)
    """
)


@pytest.mark.compiled
def test_a_compile_is_announced_once_and_a_cached_network_not_at_all(tmp_path):
    """A fresh cython cache: the network's code objects compile, announced by one line; a new process with
    the cache filled by the first finds them all and says nothing."""
    cache = tmp_path / "cython"
    notice = (
        "neurosim.backend.device compiling the network of E for cython "
        f"(first time; cached afterwards in {cache})"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", COMPILE, str(cache)], capture_output=True, text=True, check=True
        )
        for _ in range(2)
    ]
    assert [line for line in runs[0].stdout.splitlines() if "compiling" in line] == [notice]
    assert "compiling" not in runs[1].stdout + runs[1].stderr


@pytest.mark.integration
def test_reports_from_a_dask_cluster_reach_the_client_in_order(tmp_path, monkeypatch):
    """The same units on a LocalCluster of two worker processes: their reports come back as Dask events,
    thinned in the workers (their own settings), each unit's first and last step among them, in order."""
    distributed = pytest.importorskip("distributed")
    from neurosim.cluster import connect

    monkeypatch.setattr(progress_module, "LOG_EVERY_S", 0.0)
    sizes = {"u0": 300, "u1": 200}
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        client = connect(cluster.scheduler_address)
        try:
            units = [Unit(key, _count, (n,)) for key, n in sizes.items()]
            results, lines = _run_logged(units, tmp_path / "store", client=client)
        finally:
            client.close()
    assert results == list(sizes.values())
    for key, n in sizes.items():
        steps = [int(m[2]) for line in lines if (m := LINE.match(line)) and m[1] == key]
        assert steps[0] == 1 and steps[-1] == n and steps == sorted(set(steps)), (key, lines)
