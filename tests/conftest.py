"""Test configuration: the numpy code generation target (no compiler, no compile wait) unless the
environment asks for another one, and Brian2's state reset between tests."""

import os

os.environ.setdefault("NEUROSIM_TARGET", "numpy")

import brian2 as b2  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_brian2():
    b2.start_scope()
    yield
    b2.start_scope()


def pytest_collection_modifyitems(config, items):
    import importlib.util

    have_nest = importlib.util.find_spec("nest") is not None
    for item in items:
        if "nest" in item.keywords and not have_nest:
            item.add_marker(pytest.mark.skip(reason="nest-simulator is not installed (pip install .[nest])"))
