"""The README and docs/ stay true: the quickstart, the snippets of docs/extending.md, every image and relative
link, the figures, the generated notebook."""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXTENDING = ROOT / "docs" / "extending.md"
#: the pages whose links must resolve: the front page and every Markdown file under docs/
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]


def _section(page: Path, title: str) -> str:
    """The text of ``page`` under the ``## title`` heading, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", page.read_text(), flags=re.S | re.M)
    assert match, f"{page.relative_to(ROOT)} has no section '## {title}'"
    return match.group(1)


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"_docs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _exec(code: str, source: Path) -> dict:
    """Run a documentation code block as a module of its own; return its namespace."""
    module = types.ModuleType("readme_snippet")  # a real module: dataclasses look their module up
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, str(source), "exec"), module.__dict__)  # noqa: S102 - the point of the test
    finally:
        del sys.modules[module.__name__]
    return module.__dict__


def test_quickstart_commands_are_the_projects_own():
    """The Quickstart's three commands work here: the set-up installs extras that pyproject.toml defines,
    the main job names an experiment and options that neurosim's CLI accepts, and the test command is the
    one CI runs as the README's."""
    import argparse
    import shlex
    import tomllib

    from neurosim.experiment import add_run_arguments
    from neurosim.registry import find_experiment

    (block,) = _blocks(_section(README, "Quickstart"), "bash")
    setup, main_job, tests = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    (wanted,) = re.findall(r"\.\[([\w,]+)\]", setup)
    assert set(wanted.split(",")) <= extras, (wanted, extras)
    words = shlex.split(main_job)
    assert words[:2] == ["neurosim", "run"]
    find_experiment(words[2])
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    parser.parse_args(words[3:])  # exits (SystemExit) on an option the CLI does not have
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[ci.index("# The README's test command (the fast selection):") + 1] == tests


def _targets(page: Path) -> list[str]:
    """The targets of every ``[text](target)`` and ``![alt](target)`` of a Markdown page, code excluded."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", text)


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of a page: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", page.read_text(), flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_relative_link_points_to_a_file():
    """Every image and relative link in README.md and under docs/ names a file or folder of the repository
    (relative to the page), and a ``#heading`` part names a heading of that page; web links are not
    followed."""
    broken = []
    for page in PAGES:
        for target in _targets(page):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists() or (anchor and anchor not in _anchors(resolved)):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_the_link_check_finds_broken_links(tmp_path):
    """The check above is not vacuous: it reads links and images outside code, and anchors as GitHub does."""
    page = tmp_path / "page.md"
    page.write_text("# Writing a rule: the API\n[a](x.md) ![b](y/z.png) `[c](no.md)` [d](https://e.org)\n")
    assert _targets(page) == ["x.md", "y/z.png", "https://e.org"]
    assert _anchors(page) == {"writing-a-rule-the-api"}


def test_front_page_shows_the_overview_and_every_figure_is_shown():
    """The README shows the concepts figure; every figure under docs/figures is on the README or a docs page
    (the gallery), so none is left unreachable."""
    shown = {(page.parent / t).resolve() for page in PAGES for t in _targets(page) if t.endswith(".png")}
    assert (ROOT / "docs" / "figures" / "overview.png").resolve() in {
        (ROOT / t).resolve() for t in _targets(README)
    }
    unshown = [p.name for p in sorted((ROOT / "docs" / "figures").glob("*.png")) if p.resolve() not in shown]
    assert not unshown, unshown


def test_task_and_learner_snippet_runs_as_written():
    """docs/extending.md "Adding a task or a learner": the code block runs as printed. The template learner
    recalls every one-hot cue (one class per channel, so a single presentation per class is enough: accuracy
    1.0), and the built-in LSTM takes the new task unchanged, reporting the same record fields."""
    (code,) = _blocks(_section(EXTENDING, "Adding a task or a learner"), "python")
    if "LSTMLearner" in code:
        pytest.importorskip("torch")
    namespace = _exec(code, EXTENDING)
    record = namespace["record"]
    assert record.accuracy == 1.0
    assert record.parameters == 16 and record.train_trials == 40
    assert record.extra["backend"] == "template" and record.extra["task"] == "echo"
    if "lstm_record" in namespace:
        assert list(namespace["lstm_record"].to_dict()) == list(record.to_dict())


def test_rule_snippet_learns_the_amount_its_equations_give():
    """docs/extending.md "Writing a rule": SymmetricHebb as printed builds and changes w by eta·exp(-|Δt|/tau)
    for one pairing in either order (Δt between the presynaptic spike's arrival and the postsynaptic spike):
    the rule's own equations, traces decaying from 1 with tau."""
    import numpy as np
    from brian2 import ms

    from .helpers import forced_pairing

    (code,) = _blocks(_section(EXTENDING, "Writing a rule"), "python")
    namespace = _exec(code, EXTENDING)
    rule = namespace["SymmetricHebb"]()
    # pre at 100 ms arrives at 101 ms, post at 110 ms (Δt = 9 ms); post at 100 ms, pre arrives at 111 ms
    w, _ = forced_pairing({"hebb": [rule]}, [[100.0], [110.0]], [[110.0], [100.0]], delay=1 * ms)
    expected = [0.05 * np.exp(-9 / 20), 0.05 * np.exp(-11 / 20)]
    np.testing.assert_allclose(w["hebb"] - 0.5, expected, rtol=1e-6)


def test_overview_figure_script_writes_a_png(tmp_path):
    """docs/make_overview.py (the Concepts figure) runs and writes a PNG."""
    module = _load(ROOT / "docs" / "make_overview.py")
    path = module.draw(tmp_path / "overview.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_snn_vs_lstm_notebook_matches_its_generator():
    """notebooks/snn_vs_lstm.ipynb is what docs/make_snn_vs_lstm_notebook.py writes (outputs stripped)."""
    nbformat = pytest.importorskip("nbformat")
    module = _load(ROOT / "docs" / "make_snn_vs_lstm_notebook.py")
    stored = nbformat.read(ROOT / "notebooks" / "snn_vs_lstm.ipynb", as_version=4)
    expected = module.notebook()
    assert [(c.cell_type, c.source) for c in stored.cells] == [
        (c.cell_type, c.source) for c in expected.cells
    ]
