"""Reporting of the learner comparison: the recall tasks run on the spiking network and on LSTM, GRU and
Transformer networks with the same trials and seeds (``experiments/compare_lstm.py`` defines and runs it;
this package reports it).

* :mod:`~neurosim.comparison.learners`: the learners of a task (the spiking network, or the episodic memory
  with and without salience on novelty recall, and conventional networks sized to it), their sizes and energy;
* :mod:`~neurosim.comparison.summary`: per-unit records pooled over seeds with 95% intervals, the load table;
* :mod:`~neurosim.comparison.verdicts`: paired comparisons, the verdict per task, the targets;
* :mod:`~neurosim.comparison.ablation`: the frontal controller's ablation (variants of the spiking learner);
* :mod:`~neurosim.comparison.sweeps`: accuracy vs delay and vs pruned fraction after training;
* :mod:`~neurosim.comparison.markdown`: ``results.md`` and the text printed at the end of a run;
* :mod:`~neurosim.comparison.figures`: the figures;
* :mod:`~neurosim.comparison.report`: the results folder and the run's metrics, all of the above in one call.
"""

from .ablation import VARIANTS, Variant, summarize_ablation
from .figures import FIGURES, figures
from .learners import costs, make_learners
from .markdown import PRIORS, console_text, markdown
from .report import console, write_report
from .summary import BACKENDS, FIELDS, LEARNERS, TASKS, ComparisonConfig, aggregate, load_table
from .sweeps import delay_sweep, pruning_sweep
from .verdicts import summarize_comparison, targets, verdicts

__all__ = [
    "BACKENDS",
    "FIELDS",
    "FIGURES",
    "LEARNERS",
    "PRIORS",
    "TASKS",
    "VARIANTS",
    "ComparisonConfig",
    "Variant",
    "aggregate",
    "console",
    "console_text",
    "costs",
    "delay_sweep",
    "figures",
    "load_table",
    "make_learners",
    "markdown",
    "pruning_sweep",
    "summarize_ablation",
    "summarize_comparison",
    "targets",
    "verdicts",
    "write_report",
]
