"""Failures a user can trust: Ctrl-C, crashes, kills, bad seeds, unwritable or finished results directories,
damaged state files and generated bad config values each end in a clear, recorded state.

The expected outcomes follow from the contracts in neurosim.experiment's docstring (run.json statuses and
exit codes 0/1/2/130; a resumed run equals an uninterrupted one with the same seed) and from the zip format
(APPNOTE 4.3: an archive's central directory is stored at its end, so no strict prefix of an ``.npz`` file
is a valid archive).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import typing
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim import cli
from neurosim.backend import Simulation, build, read_description, read_extras, save
from neurosim.backend.statefile import StateFileError
from neurosim.configs import ExperimentError, allowed_range, parse_value
from neurosim.registry import available, load_experiment
from neurosim.validation import ParameterError

from .test_state import recurrent

ROOT = Path(__file__).resolve().parents[1]

WALK = textwrap.dedent(
    '''
    """A seeded random walk, one checkpointed trial per step, that crashes or is interrupted on request."""
    import os
    import sys
    from dataclasses import dataclass
    from neurosim.experiment import Experiment

    @dataclass(frozen=True)
    class Config:
        steps: int = 6

    def run(config, ctx):
        def trial(k):
            if k == int(os.environ.get("WALK_FAIL_AT", -1)):
                raise RuntimeError(f"boom at trial {k}")
            if k == int(os.environ.get("WALK_INTERRUPT_AT", -1)):
                raise KeyboardInterrupt
            return float(ctx.rng("trial", k).normal())
        values = ctx.trials("walk", list(range(config.steps)), trial)
        return {"final": sum(values), "values": values}

    EXPERIMENT = Experiment("walk", "a seeded random walk", Config, run)

    if __name__ == "__main__":
        sys.exit(EXPERIMENT.main())
    '''
)


@pytest.fixture
def walk(tmp_path, monkeypatch):
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "walk.py").write_text(WALK)
    monkeypatch.setenv("NEUROSIM_EXPERIMENTS", str(folder))
    monkeypatch.delitem(sys.modules, "neurosim_experiment_walk", raising=False)
    return folder


def _run(*options: str) -> int:
    return cli.main(["run", "walk", *options])


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def _status(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


# ------------------------------------------------------------------------------ interrupts and crashes


def test_interrupt_records_interrupted_exits_130_and_resumes(walk, tmp_path, monkeypatch, capsys):
    """Ctrl-C (KeyboardInterrupt) mid-run: run.json says interrupted, log.txt says so, exit status 130 and a
    hint to --resume; resuming finishes with the walk of an uninterrupted run (same seed, same steps)."""
    assert _run("--seed", "3", "--out", str(tmp_path / "full")) == 0
    full = json.loads((tmp_path / "full" / "metrics.json").read_text())
    out = tmp_path / "run"
    monkeypatch.setenv("WALK_INTERRUPT_AT", "2")
    assert _run("--seed", "3", "--out", str(out)) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    assert _status(out)["status"] == "interrupted"
    assert "interrupted after" in (out / "log.txt").read_text()
    assert not (out / "metrics.json").exists()
    monkeypatch.delenv("WALK_INTERRUPT_AT")
    assert _run("--seed", "3", "--out", str(out), "--resume") == 0
    assert json.loads((out / "metrics.json").read_text())["values"] == full["values"]
    assert _status(out)["status"] == "complete"


def test_crash_records_failed_with_the_error_in_run_json_and_log(walk, tmp_path, monkeypatch, capsys):
    """An exception in the experiment: exit status 1, run.json says failed with the error, log.txt holds
    the traceback; the completed trials stay checkpointed, so --resume after the fix finishes the walk."""
    out = tmp_path / "run"
    monkeypatch.setenv("WALK_FAIL_AT", "3")
    assert _run("--seed", "1", "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert "error: walk failed: RuntimeError: boom at trial 3" in err and "run.json" in err
    assert "report" not in err  # no report-a-bug banner
    run = _status(out)
    assert run["status"] == "failed" and run["error"] == "RuntimeError: boom at trial 3"
    log = (out / "log.txt").read_text()
    assert "failed after" in log and "Traceback" in log and "RuntimeError: boom at trial 3" in log
    assert len(pickle.loads((out / "checkpoint.pkl").read_bytes())["walk"]) == 3
    monkeypatch.delenv("WALK_FAIL_AT")
    assert _run("--seed", "1", "--out", str(out), "--resume") == 0
    resumed = _status(out)
    assert resumed["status"] == "complete" and "error" not in resumed
    assert "resuming 'walk' at 3/6" in (out / "log.txt").read_text()


# ------------------------------------------------------------------------------- refused before running


@pytest.mark.parametrize("seed", ["-1", "4294967296", "99999999999999999999"])
def test_bad_seed_is_refused_before_anything_is_written(walk, tmp_path, capsys, seed):
    """Seeds go to numpy's legacy seeding (Brian2's seed), which takes 0 ≤ seed < 2**32."""
    out = tmp_path / "run"
    assert _run("--seed", seed, "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert f"parameter 'seed' = {seed} is not allowed" in err and "[0, 4294967295]" in err
    assert not out.exists()


def test_seed_of_the_wrong_type_is_refused_by_execute(walk, tmp_path):
    experiment = cli.find_experiment("walk")
    config = experiment.make_config()
    for seed in (1.5, "3", True, None):
        with pytest.raises(ParameterError, match="'seed'"):
            experiment.execute(config, tmp_path / "run", seed=seed)
    assert not (tmp_path / "run").exists()


def test_unwritable_out_is_refused_before_running(walk, tmp_path, capsys):
    """An --out that cannot be made or written: exit status 2, a message naming it and the reason."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    cases = [(a_file / "run", "Not a directory"), (tmp_path / ("x" * 300), "File name too long")]
    if os.geteuid() != 0:  # root writes into read-only folders
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        cases.append((locked / "run", "Permission denied"))
    for out, reason in cases:
        assert _run("--out", str(out)) == 2, out
        err = capsys.readouterr().err
        assert f"--out '{out}' cannot be written ({reason})" in err, err
        assert "Traceback" not in err
    assert a_file.read_text() == "keep"


def test_resume_of_a_complete_run_says_so_and_changes_nothing(walk, tmp_path, capsys):
    out = tmp_path / "run"
    assert _run("--out", str(out)) == 0
    capsys.readouterr()
    before = _snapshot(out)
    assert _run("--out", str(out), "--resume") == 2
    assert f"the run in '{out}' is already complete" in capsys.readouterr().err
    assert _snapshot(out) == before


def test_resume_with_damaged_run_json_or_checkpoint_is_refused(walk, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    monkeypatch.setenv("WALK_INTERRUPT_AT", "2")
    assert _run("--out", str(out)) == 130
    monkeypatch.delenv("WALK_INTERRUPT_AT")
    capsys.readouterr()
    good = (out / "checkpoint.pkl").read_bytes()
    (out / "checkpoint.pkl").write_bytes(good[: len(good) // 2])
    before = _snapshot(out)
    assert _run("--out", str(out), "--resume") == 2
    assert f"checkpoint '{out / 'checkpoint.pkl'}' cannot be read" in capsys.readouterr().err
    (out / "run.json").write_text('{"experiment": "walk", ')
    assert _run("--out", str(out), "--resume") == 2
    assert f"'{out / 'run.json'}' cannot be read" in capsys.readouterr().err
    assert {k: v for k, v in _snapshot(out).items() if k != "run.json"} == {
        k: v for k, v in before.items() if k != "run.json"
    }


# -------------------------------------------------------------------------------- no Brian2 banner, no litter


_ERRORS = """
import sys
from neurosim import cli
out = sys.argv[1]
codes = [
    cli.main(["run", "walk", "--seed", "-1", "--out", out + "/a"]),
    cli.main(["run", "walk", "--set", "steps=many", "--out", out + "/b"]),
    cli.main(["run", "walk", "--out", out + "/notes.txt/c"]),
    cli.main(["run", "walk", "--out", out + "/d"]),
    cli.main(["run", "walk", "--out", out + "/d", "--resume"]),
]
print(codes)
"""


@pytest.mark.integration
def test_user_errors_leave_no_brian2_banner_or_debug_log(walk, tmp_path):
    """Brian2 keeps its debug log (brian_debug_*.log in the temporary folder) and prints its report-a-bug
    banner only for an exception that reaches its sys.excepthook; refused input never does."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (tmp_path / "notes.txt").write_text("keep")
    env = {**os.environ, "TMPDIR": str(scratch), "NEUROSIM_TARGET": "numpy"}
    done = subprocess.run(
        [sys.executable, "-c", _ERRORS, str(tmp_path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[2, 2, 2, 0, 2]"
    assert "report" not in done.stderr and "Traceback" not in done.stderr
    crash = subprocess.run(
        [sys.executable, str(walk / "walk.py"), "--out", str(tmp_path / "e")],
        capture_output=True,
        text=True,
        env={**env, "WALK_FAIL_AT": "1"},
        timeout=300,
    )
    assert crash.returncode == 1 and "RuntimeError: boom at trial 1" in crash.stderr
    assert "please report" not in crash.stderr.lower()
    assert sorted(p.name for p in scratch.iterdir()) == []  # no brian_debug_*.log, no brian_script_*.py


# ------------------------------------------------------------- a real experiment: SIGINT and SIGKILL


STP = ["--set", "rates_hz=[4.0, 5.0, 6.0, 8.0]", "--set", "n_spikes=60", "--set", "dt_ms=0.5"]


@pytest.fixture(scope="module")
def stp_uninterrupted(tmp_path_factory):
    """short_term_plasticity (Tsodyks-Markram PSC trains, numpy target), run without interruption."""
    out = tmp_path_factory.mktemp("stp") / "full"
    assert cli.main(["run", "short_term_plasticity", *STP, "--seed", "2", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    metrics.pop("wall_s")
    return metrics


def _start_stp(out: Path, scratch: Path) -> subprocess.Popen:
    env = {**os.environ, "TMPDIR": str(scratch)}
    env.pop("NEUROSIM_EXPERIMENTS", None)
    script = ROOT / "experiments" / "short_term_plasticity.py"
    return subprocess.Popen(
        [sys.executable, str(script), *STP, "--seed", "2", "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_trials(proc: subprocess.Popen, out: Path, n: int) -> int:
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        if (out / "checkpoint.pkl").exists():
            done = len(pickle.loads((out / "checkpoint.pkl").read_bytes())["rates"])
            if done >= n:
                return done
        time.sleep(0.02)
    raise AssertionError(f"the run ended or stalled before {n} trials: {proc.poll()}")


def _resume_stp(out: Path) -> dict:
    assert cli.main(["run", "short_term_plasticity", *STP, "--seed", "2", "--out", str(out), "--resume"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    metrics.pop("wall_s")
    return metrics


@pytest.mark.integration
@pytest.mark.parametrize("stop, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_or_sigterm_during_a_simulation_stops_cleanly_and_resumes_exactly(
    tmp_path, stp_uninterrupted, monkeypatch, stop, status
):
    """Ctrl-C (SIGINT), or the SIGTERM a batch scheduler or kill sends, while Brian2 simulates a trial: no
    cut-short simulation carried on (Brian2's stop-on-Ctrl-C would end Network.run early and the PSC
    read-out would index past the trace), no death without a record (Python's default for SIGTERM); exit
    status 128 + the signal's number (the shell's convention: 130, 143), run.json interrupted and naming
    the signal, no debug log; --resume then gives the uninterrupted metrics bit for bit."""
    monkeypatch.delenv("NEUROSIM_EXPERIMENTS", raising=False)
    out, scratch = tmp_path / "run", tmp_path / "scratch"
    scratch.mkdir()
    proc = _start_stp(out, scratch)
    try:
        _wait_for_trials(proc, out, 1)
        time.sleep(0.3)  # into the next trial's simulation
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == status, err
    assert "Simulation stop requested" not in err and "IndexError" not in err and "report" not in err
    assert f"interrupted ({stop.name})" in err and "--resume" in err
    run = _status(out)
    assert run["status"] == "interrupted" and run["signal"] == stop.name
    assert not (out / "metrics.json").exists()
    assert sorted(p.name for p in scratch.iterdir()) == []
    assert _resume_stp(out) == stp_uninterrupted


@pytest.mark.integration
def test_sigkill_then_resume_of_a_real_experiment_equals_the_uninterrupted_run(
    tmp_path, stp_uninterrupted, monkeypatch
):
    """SIGKILL cannot be caught: run.json stays 'running', the trials checkpointed before the kill are kept
    and --resume computes only the rest; the metrics equal an uninterrupted run's bit for bit."""
    monkeypatch.delenv("NEUROSIM_EXPERIMENTS", raising=False)
    out, scratch = tmp_path / "run", tmp_path / "scratch"
    scratch.mkdir()
    proc = _start_stp(out, scratch)
    try:
        kept = _wait_for_trials(proc, out, 2)
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    assert 2 <= kept < 4
    assert _status(out)["status"] == "running"
    assert _resume_stp(out) == stp_uninterrupted
    assert f"resuming 'rates' at {kept}/4" in (out / "log.txt").read_text()


# ---------------------------------------------------------------------------------------- state files


@pytest.fixture(scope="module")
def state_file(tmp_path_factory):
    return save(build(recurrent()), tmp_path_factory.mktemp("state") / "net.npz")


def _refused(path: Path, match: str, readers=(Simulation.load, read_description, read_extras)) -> None:
    for read in readers:
        with pytest.raises(StateFileError, match=match) as info:
            read(path)
        assert str(path) in str(info.value)
        assert isinstance(info.value, ParameterError)


def test_truncated_state_files_are_refused_naming_the_path(state_file, tmp_path):
    """A zip archive's central directory sits at its end (APPNOTE 4.3), so every strict prefix is refused."""
    data = state_file.read_bytes()
    path = tmp_path / "cut.npz"
    for cut in np.linspace(1, len(data) - 1, 12).astype(int):
        path.write_bytes(data[:cut])
        _refused(path, "truncated, damaged or not an .npz archive|is empty|not an .npz")
    path.write_bytes(b"")
    _refused(path, "is empty")


def test_damaged_state_file_is_refused(state_file, tmp_path):
    """One flipped byte inside a stored array fails that zip member's CRC-32 check."""
    data = bytearray(state_file.read_bytes())
    with zipfile.ZipFile(state_file) as archive:
        member = archive.getinfo("connections/EE/i.npy")
    start = member.header_offset + 30 + len(member.filename) + len(member.extra)  # local header: 30 bytes
    data[start + member.compress_size // 2] ^= 0xFF
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(data))
    message = "truncated, damaged or not an .npz archive \\(Bad CRC-32 for file 'connections/EE/i.npy'"
    _refused(path, message, readers=(Simulation.load, read_extras))  # read_description reads only metadata


def test_foreign_files_are_refused_as_not_a_state_file(tmp_path):
    cases = {
        "array.npy": lambda p: np.save(p, np.arange(3)),
        "other.npz": lambda p: np.savez(p, a=np.zeros(3)),
        "pickled.npz": lambda p: p.write_bytes(pickle.dumps({"a": 1})),
        "notes.npz": lambda p: p.write_text("not numbers"),
    }
    for name, make in cases.items():
        path = tmp_path / name
        make(path)
        _refused(path, "is not a neurosim state file")


def test_state_file_of_a_newer_version_or_missing_entries_is_refused(state_file, tmp_path):
    with np.load(state_file, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["__meta__"]))
    newer = tmp_path / "newer.npz"
    np.savez(newer, **{**arrays, "__meta__": np.array(json.dumps({**meta, "version": 99}))})
    _refused(newer, "version 99; this neurosim reads versions up to 1")
    lacking = tmp_path / "lacking.npz"
    np.savez(lacking, **{k: v for k, v in arrays.items() if not k.startswith("state/group/E/")})
    with pytest.raises(StateFileError, match="is incomplete: entries .*state/group/E/"):
        Simulation.load(lacking)


# --------------------------------------------------------------------------- results written atomically


def test_results_writers_use_atomic_writes():
    """No results file is written with a plain write_text/write_bytes/open(..., 'w'): a crash mid-write
    would leave half a file (neurosim.io.atomic_write renames a complete temporary file into place)."""
    files = [
        ROOT / "neurosim" / "experiment.py",
        ROOT / "neurosim" / "sweep.py",
        *sorted((ROOT / "neurosim" / "comparison").glob("*.py")),
        *sorted((ROOT / "neurosim_benchmark").glob("*.py")),
        *sorted((ROOT / "experiments").glob("*.py")),
    ]
    plain = []
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            if not isinstance(node, ast.Call):
                continue
            receiver = getattr(node.func, "value", None)
            if isinstance(receiver, ast.Name) and receiver.id == "ctx":
                continue  # RunContext.write_text/write_json/save_figure write atomically
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            mode = node.args[1] if name == "open" and len(node.args) > 1 else None
            writes = isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax")
            if name in ("write_text", "write_bytes") or writes:
                plain.append(f"{file.relative_to(ROOT)}:{node.lineno}")
    assert plain == []


# ------------------------------------------------------------------ generated bad config values (property)


def _experiments() -> list[tuple[str, object]]:
    return [(name, load_experiment(path)) for name, path in sorted(available().items())]


EXPERIMENTS = _experiments()
FIELDS = [
    (name, exp, f.name, typing.get_type_hints(exp.config_type)[f.name])
    for name, exp in EXPERIMENTS
    for f in dataclasses.fields(exp.config_type)
]

_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
_SCALARS = {
    int: st.integers(-(10**6), 10**6),
    float: st.floats(allow_nan=False, allow_infinity=False, width=64),
    bool: st.booleans(),
    str: _TEXT,
}


def _wrong_type(hint: object) -> st.SearchStrategy:
    """Values that no field of type ``hint`` accepts (an int is a valid float, so it is left out there)."""
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        return st.one_of(*_SCALARS.values(), st.lists(_wrong_type(item), min_size=1, max_size=3))
    excluded = {hint, int} if hint is float else {hint}
    return st.one_of(
        *(strategy for t, strategy in _SCALARS.items() if t not in excluded),
        st.lists(st.integers(0, 9), max_size=3),
        st.dictionaries(st.sampled_from("abc"), st.integers(0, 9), min_size=1, max_size=2),
    )


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)


@st.composite
def _wrong_type_setting(draw: st.DrawFn) -> tuple[object, str, object]:
    _, exp, key, hint = draw(st.sampled_from(FIELDS))
    value = draw(_wrong_type(hint))
    return exp, key, value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_wrong_type_setting())
def test_set_values_of_the_wrong_type_are_refused_naming_the_key(setting):
    exp, key, value = setting
    raw = _toml(value)
    assert parse_value(raw) == value  # the command line carries exactly this value
    with pytest.raises(ParameterError) as info:
        exp.make_config(None, [f"{key}={raw}"])
    assert key in str(info.value)


_NUMERIC = [
    (exp, key, hint)
    for _, exp, key, hint in FIELDS
    if hint in (int, float, tuple[int, ...], tuple[float, ...])
]


@st.composite
def _signed_setting(draw: st.DrawFn) -> tuple[object, str, object]:
    exp, key, hint = draw(st.sampled_from(_NUMERIC))
    scalar = (
        st.integers(max_value=-1)
        if int in (hint, *typing.get_args(hint))
        else st.one_of(st.floats(max_value=-1e-300), st.sampled_from([math.inf, -math.inf, math.nan]))
    )
    value = draw(st.lists(scalar, min_size=1, max_size=3) if typing.get_origin(hint) is tuple else scalar)
    return exp, key, value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_signed_setting())
def test_negative_or_non_finite_numbers_never_raise_anything_but_a_parameter_error(setting):
    """A field may allow negative numbers (a reward's sign) or infinity, but a value it refuses is refused
    with a ParameterError (the config's own check), never another exception; NaN is refused always."""
    exp, key, value = setting
    raw = _toml(value)
    try:
        exp.make_config(None, [f"{key}={raw}"])
    except ParameterError:
        pass
    else:
        assert "nan" not in raw, f"{exp.name}: {key} = {raw} was accepted"


def test_experiment_error_is_a_parameter_error():
    assert issubclass(ExperimentError, ParameterError) and issubclass(StateFileError, ParameterError)


# ------------------------------------------------- declared ranges of config values (property, per key)

#: Experiments whose every numeric key declares its allowed range (neurosim.configs.bounded).
RANGED_EXPERIMENTS = (
    "benchmark",
    "consolidation",
    "pruning_memory",
    "pruning_speed",
    "short_term_plasticity",
    "song_abbott_2000",
    "startup",
)
RANGED = [
    (exp, field, typing.get_type_hints(exp.config_type)[field.name])
    for name, exp in EXPERIMENTS
    if name in RANGED_EXPERIMENTS
    for field in dataclasses.fields(exp.config_type)
    if typing.get_type_hints(exp.config_type)[field.name] in (int, float, tuple[int, ...], tuple[float, ...])
]


def test_every_numeric_key_of_these_experiments_declares_its_range():
    assert {exp.name for exp, _, _ in RANGED} == set(RANGED_EXPERIMENTS)
    assert [f"{exp.name}.{field.name}" for exp, field, _ in RANGED if not allowed_range(field)] == []


def _outside(field: dataclasses.Field, integer: bool) -> st.SearchStrategy:
    """Numbers that break one of ``field``'s declared bounds, and for a float field nan and ±inf."""
    meta, options = field.metadata, []
    if integer:
        big = 2**63 - 1  # TOML integers are 64-bit
        if "gt" in meta or "ge" in meta:
            top = math.floor(meta["gt"]) if "gt" in meta else math.ceil(meta["ge"]) - 1
            options.append(st.integers(-big, top))
        if "lt" in meta or "le" in meta:
            bottom = math.ceil(meta["lt"]) if "lt" in meta else math.floor(meta["le"]) + 1
            options.append(st.integers(bottom, big))
        return st.one_of(options)
    finite = {"allow_nan": False, "allow_infinity": False}
    if "gt" in meta:
        options.append(st.floats(max_value=meta["gt"], **finite))
    if "ge" in meta:
        options.append(st.floats(max_value=meta["ge"], exclude_max=True, **finite))
    if "lt" in meta:
        options.append(st.floats(min_value=meta["lt"], **finite))
    if "le" in meta:
        options.append(st.floats(min_value=meta["le"], exclude_min=True, **finite))
    return st.one_of(*options, st.sampled_from([math.nan, math.inf, -math.inf]))


@st.composite
def _out_of_range_setting(draw: st.DrawFn) -> tuple[object, str, object]:
    exp, field, hint = draw(st.sampled_from(RANGED))
    integer = int in (hint, *typing.get_args(hint))
    bad = draw(_outside(field, integer))
    if typing.get_origin(hint) is not tuple:
        return exp, field.name, bad
    items = list(field.default)  # a valid tuple with one bad item put in somewhere
    items.insert(draw(st.integers(0, len(items))), bad)
    return exp, field.name, tuple(items)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_out_of_range_setting())
def test_values_outside_a_declared_range_are_refused_naming_key_value_and_range(setting):
    """Each key's declared range (and finite floats) is enforced from the command line (--set) and for a
    config made in Python, always as an ExperimentError (a ParameterError) naming the key, never as another
    exception from deeper down."""
    exp, key, value = setting
    raw = _toml(list(value) if isinstance(value, tuple) else value)
    with pytest.raises(ExperimentError) as info:
        exp.make_config(None, [f"{key}={raw}"])
    message = str(info.value)
    assert f"config key '{key}'" in message and "is not allowed" in message
    assert "expected a finite number" in message or "must be" in message
    with pytest.raises(ExperimentError, match=f"'{key}'"):
        dataclasses.replace(exp.make_config(), **{key: value})
