"""The command line starts without the heavy libraries: ``import neurosim`` exposes its public names lazily
(PEP 562) and imports none of Brian2, PyTorch, Matplotlib, SymPy or SciPy; ``neurosim list`` and ``neurosim
run NAME --help`` read what each experiment script declares without running it, and what they read equals
what the running script defines. Start-up times themselves are measured by ``experiments/startup.py`` and
recorded in docs/results/startup, never asserted here."""

from __future__ import annotations

import dataclasses
import importlib
import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import neurosim
from neurosim import cli
from neurosim.registry import available, declaration, load_experiment

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("brian2", "torch", "matplotlib", "sympy", "scipy")

#: An experiment script that fails if it is ever executed: reading its declaration must not run it.
NEVER_RUN = textwrap.dedent(
    '''
    """An experiment whose script must not run when it is listed or its help is shown."""
    from dataclasses import dataclass
    from typing import ClassVar

    from neurosim.experiment import Experiment

    @dataclass(frozen=True)
    class Config:
        steps: int = 3  # steps of the walk
        rates_hz: tuple[float, ...] = (
            5.0,
            20.0,
        )  # one trial per rate
        label: str = "µ-walk"
        PRESETS: ClassVar[dict] = {}

    def run(config, ctx):
        return {}

    EXPERIMENT = Experiment("guarded", "declared here, never run", Config, run)

    raise RuntimeError("the script was executed")
    '''
)


def _loaded_after(code: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of ``modules`` are in ``sys.modules`` after ``code`` runs in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture
def guarded(tmp_path, monkeypatch):
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "guarded.py").write_text(NEVER_RUN)
    (folder / "helper.py").write_text('"""Not an experiment: it defines no EXPERIMENT."""\nVALUE = 1\n')
    monkeypatch.setenv("NEUROSIM_EXPERIMENTS", str(folder))
    monkeypatch.delitem(sys.modules, "neurosim_experiment_guarded", raising=False)
    return folder


def test_import_neurosim_loads_no_heavy_library():
    assert _loaded_after("import neurosim") == []


def test_a_public_name_imports_only_its_own_module():
    """``from neurosim import ParameterError`` loads neurosim.validation, not the backend or the plots."""
    parts = ("neurosim.validation", "neurosim.backend", "neurosim.plots")
    assert _loaded_after("from neurosim import ParameterError", parts) == ["neurosim.validation"]


def test_every_public_name_is_the_object_its_module_defines():
    """Every name of ``neurosim.__all__`` resolves to the object of the module that defines it; ``dir``
    lists them; ``import *`` gives them; an unknown name is an AttributeError that names it."""
    for name in neurosim.__all__:
        value = getattr(neurosim, name)
        if isinstance(value, types.ModuleType):
            assert value is importlib.import_module(f"neurosim.{name}")
        else:
            assert getattr(importlib.import_module(value.__module__), name) is value, name
            assert value.__module__.startswith("neurosim."), name
    assert set(neurosim.__all__) <= set(dir(neurosim))
    namespace: dict = {}
    exec("from neurosim import *", namespace)  # noqa: S102 - the star import is what is tested
    assert set(neurosim.__all__) <= set(namespace)
    with pytest.raises(AttributeError, match="no attribute 'Nonexistent'"):
        neurosim.Nonexistent  # noqa: B018


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["run", "short_term_plasticity", "--help"]])
def test_the_command_answers_without_heavy_libraries(argv):
    """``neurosim --help``, ``neurosim list`` and ``neurosim run NAME --help`` import none of Brian2, PyTorch,
    Matplotlib, SymPy or SciPy (what makes them answer at once)."""
    code = f"from neurosim.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"
    assert _loaded_after(code) == []


def test_list_and_help_read_the_declaration_without_running_the_script(guarded, capsys):
    """The script raises if executed; ``list`` and ``run NAME --help`` still show its description and config
    keys (defaults and comments as written, multi-line and non-ASCII ones too; class variables left out), and
    a script that defines no EXPERIMENT is not listed."""
    assert cli.main(["list"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{'guarded':24s} declared here, never run"]
    with pytest.raises(SystemExit):
        cli.main(["run", "guarded", "--help"])
    out = capsys.readouterr().out
    assert "guarded: declared here, never run" in out
    assert "  steps: int = 3  # steps of the walk" in out
    assert "  rates_hz: tuple[float, ...] = ( 5.0, 20.0, )  # one trial per rate" in out
    assert '  label: str = "µ-walk"' in out
    assert "PRESETS" not in out
    assert "neurosim_experiment_guarded" not in sys.modules
    with pytest.raises(RuntimeError, match="the script was executed"):
        cli.find_experiment("guarded")  # running it does execute it


def test_a_description_not_written_as_a_string_is_read_by_loading_the_script(tmp_path, monkeypatch):
    script = tmp_path / "computed.py"
    script.write_text(
        NEVER_RUN.replace('"declared here, never run"', '" ".join(["made", "at", "import"])').replace(
            'raise RuntimeError("the script was executed")', ""
        )
    )
    monkeypatch.delitem(sys.modules, "neurosim_experiment_computed", raising=False)
    assert declaration(script).description == "made at import"


def test_declarations_equal_the_experiments_the_scripts_define(monkeypatch):
    """Two readings of every script of experiments/ agree: the declaration read from the source and the
    ``EXPERIMENT`` the running script defines have the same description, the same config keys in the same
    order, and defaults that evaluate (in the script's namespace) to the config's defaults."""
    monkeypatch.delenv("NEUROSIM_EXPERIMENTS", raising=False)
    scripts = available()
    assert scripts
    for name, path in scripts.items():
        declared = declaration(path)
        exp = load_experiment(path)
        assert declared is not None and exp is not None, name
        assert declared.description == exp.description, name
        fields = dataclasses.fields(exp.config_type)
        assert [k.name for k in declared.config] == [f.name for f in fields], name
        namespace = vars(sys.modules[f"neurosim_experiment_{name}"])
        for key, field in zip(declared.config, fields, strict=True):
            default = (
                field.default if field.default_factory is dataclasses.MISSING else field.default_factory()
            )
            value = eval(key.default, dict(namespace))  # noqa: S307 - the script's own default expression
            if isinstance(value, dataclasses.Field):  # written as field(default_factory=...)
                value = value.default_factory()
            assert value == default, (name, key.name)
