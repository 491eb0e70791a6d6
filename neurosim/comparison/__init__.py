"""Reporting of the learner comparison: the recall tasks run on the spiking network and on an LSTM with the
same trials and seeds (``experiments/compare_lstm.py`` defines and runs it; this package reports it).

* :mod:`~neurosim.comparison.summary`: per-unit records pooled over seeds, the load table, the targets;
* :mod:`~neurosim.comparison.markdown`: ``results.md``;
* :mod:`~neurosim.comparison.figures`: the figures;
* :mod:`~neurosim.comparison.report`: the results folder and the run's metrics, all of the above in one call.
"""

from .figures import FIGURES, figures
from .markdown import markdown
from .report import write_report
from .summary import (
    BACKENDS,
    FIELDS,
    TASKS,
    ComparisonConfig,
    aggregate,
    load_table,
    summarize_comparison,
    targets,
)

__all__ = [
    "BACKENDS",
    "FIELDS",
    "FIGURES",
    "TASKS",
    "ComparisonConfig",
    "aggregate",
    "figures",
    "load_table",
    "markdown",
    "summarize_comparison",
    "targets",
    "write_report",
]
