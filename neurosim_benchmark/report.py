"""The benchmark's comparison and table: speed-ups against NEST and the hand-written Brian2 script, the
pruned speed-up and the floor of every engine, neurosim's compacted network against the same synapses built
fresh, cost-vs-size exponents, and a plain-text table of the runs."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np


def compare(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The benchmark's ratios, from a list of :func:`~neurosim_benchmark.measure` results (missing rows are
    skipped).

    For every size: neurosim (c) vs NEST pair STDP (case b) at each thread count, neurosim vs the plain
    Brian2 script (same case, target, threads), the pruned speed-up of every engine (the same network with
    10 % of its synapses, on the same engine, target and threads), the floor of every engine (no synapses:
    ``unpruned_over_floor`` bounds any pruned speed-up; ``synaptic_speedup`` is the pruned speed-up of the
    time above the floor, ``(T_unpruned − T_floor) / (T_pruned − T_floor)``), and the growth of simulation
    time with the number of synapses (log-log slope over sizes) per engine and case.

    ``compact_vs_fresh``: a pruned network pruned by ``Simulation.compact`` against the same synapses built
    fresh (runtime targets, runs alternating): ``ratio`` of the fastest runs (``cpu_ratio``: of their CPU
    seconds, which waiting for a busy CPU does not inflate), and each compact run over the fresh run after it
    (``paired``, their median ``median_paired``). Pruned synapses cost nothing when
    these are ~1. The pruned speed-up uses the fastest compacted run.
    """
    ok = [r for r in results if "error" not in r]

    def find(**kw: Any) -> dict[str, Any] | None:
        for r in ok:
            if all(r.get(k) == v for k, v in kw.items()):
                return r
        return None

    out: dict[str, Any] = {
        "vs_nest": [],
        "vs_brian2": [],
        "pruned": [],
        "floor": [],
        "compact_vs_fresh": [],
        "scaling": [],
    }
    for r in ok:
        if r["engine"] != "neurosim" or r["keep"] != 1:
            continue
        key = {"n": r["n"], "k": r["k"], "threads": r["threads"], "keep": 1.0}
        nest_case = "b" if r["case"] == "c" else r["case"]
        nest_r = find(engine="nest", case=nest_case, **key)
        if nest_r:
            out["vs_nest"].append(
                {
                    "n": r["n"],
                    "k": r["k"],
                    "case": r["case"],
                    "nest_case": nest_case,
                    "threads": r["threads"],
                    "target": r["target"],
                    "speedup": nest_r["sim_s"] / r["sim_s"],
                    "rates_hz": [r["rate_E_hz"], nest_r["rate_E_hz"]],
                }
            )
        b2_r = find(
            engine="brian2",
            case=r["case"],
            target=r["target"],
            stdp=r["stdp"],
            **key,
        )
        if b2_r:
            out["vs_brian2"].append(
                {
                    "n": r["n"],
                    "k": r["k"],
                    "case": r["case"],
                    "threads": r["threads"],
                    "target": r["target"],
                    "neurosim_over_brian2": r["sim_s"] / b2_r["sim_s"],
                    "rates_hz": [r["rate_E_hz"], b2_r["rate_E_hz"]],
                }
            )
    for r in ok:
        if r["keep"] != 1:
            continue
        same = {"label": r["label"], "case": r["case"], "n": r["n"], "k": r["k"], "stdp": r["stdp"]}
        row = {k: r[k] for k in ("engine", "n", "k", "case", "threads", "target")}
        pruned = [x for x in ok if x["keep"] == 0.1 and all(x.get(k) == v for k, v in same.items())]
        compacted = [x for x in pruned if x.get("pruning") != "fresh"] or pruned
        pr = min(compacted, key=lambda x: x["sim_s"]) if compacted else None
        floor = find(keep=0.0, **same)
        if pr:
            rates = [r["rate_E_hz"], pr["rate_E_hz"]]
            out["pruned"].append({**row, "speedup": r["sim_s"] / pr["sim_s"], "rates_hz": rates})
        if floor:
            entry = {**row, "unpruned_over_floor": r["sim_s"] / floor["sim_s"], "floor_s": floor["sim_s"]}
            if pr and pr["sim_s"] > floor["sim_s"]:
                entry["synaptic_speedup"] = (r["sim_s"] - floor["sim_s"]) / (pr["sim_s"] - floor["sim_s"])
            out["floor"].append(entry)
    pairs: dict[tuple, dict[str, list[dict[str, Any]]]] = {}
    for r in ok:
        if r.get("pruning") in ("compact", "fresh") and r["target"] != "cpp_standalone":
            key = tuple(r[k] for k in ("engine", "n", "k", "case", "threads", "target", "keep"))
            pairs.setdefault(key, {"compact": [], "fresh": []})[r["pruning"]].append(r)
    for key, runs in pairs.items():
        compact_s, fresh_s = ([x["sim_s"] for x in runs[p]] for p in ("compact", "fresh"))
        cpu = [[x["sim_cpu_s"] for x in runs[p]] for p in ("compact", "fresh")]
        if compact_s and fresh_s:
            paired = [c / f for c, f in zip(compact_s, fresh_s, strict=False)]
            out["compact_vs_fresh"].append(
                {
                    **dict(zip(("engine", "n", "k", "case", "threads", "target", "keep"), key, strict=True)),
                    "ratio": min(compact_s) / min(fresh_s),
                    "cpu_ratio": min(cpu[0]) / min(cpu[1]),
                    "median_paired": statistics.median(paired),
                    "paired": paired,
                    "compact_s": compact_s,
                    "fresh_s": fresh_s,
                }
            )
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in ok:
        if r["keep"] == 1:
            groups.setdefault((r["label"], r["case"]), []).append(r)
    for (label, case), rows in sorted(groups.items()):
        if len({r["n_synapses"] for r in rows}) >= 2:
            x = np.log([r["n_synapses"] for r in rows])
            y = np.log([r["sim_s_per_bio_s"] for r in rows])
            out["scaling"].append({"label": label, "case": case, "exponent": float(np.polyfit(x, y, 1)[0])})
    return out


TABLE_COLUMNS = (
    ("label", "engine", "{:<37}"),
    ("n", "N", "{:>6}"),
    ("k", "K", "{:>5}"),
    ("case", "case", "{:>4}"),
    ("keep", "keep", "{:>4}"),
    ("pruning", "pruned by", "{:>9}"),
    ("build_s", "build s", "{:>8.2f}"),
    ("compile_s", "compile", "{:>8.1f}"),
    ("sim_s_per_bio_s", "s/bio s", "{:>8.3f}"),
    ("sim_cpu_s_per_bio_s", "cpu s/s", "{:>8.3f}"),
    ("events_per_s", "events/s", "{:>9.3g}"),
    ("peak_rss_mb", "peak MB", "{:>8.0f}"),
    ("bytes_per_synapse", "B/syn", "{:>6.1f}"),
    ("rate_E_hz", "E Hz", "{:>6.2f}"),
    ("rate_I_hz", "I Hz", "{:>6.2f}"),
    ("cv_isi", "CV", "{:>5.2f}"),
)


def table(results: list[dict[str, Any]]) -> str:
    """A plain-text table of the results (one line per run; failures show their error)."""
    widths = [len(fmt.format(0)) if key != "label" else 37 for key, _, fmt in TABLE_COLUMNS]
    head = " ".join(
        f"{name:<{w}}" if key == "label" else f"{name:>{w}}"
        for (key, name, _), w in zip(TABLE_COLUMNS, widths, strict=True)
    )
    lines = [head]
    for r in results:
        if "error" in r:
            lines.append(
                f"{r['label']:<37} {r['n']:>6} {r['k']:>5} {r['case']:>4}  ERROR: {r['error'][:120]}"
            )
            continue
        cells = []
        for (key, _, fmt), w in zip(TABLE_COLUMNS, widths, strict=True):
            value = r.get(key)
            try:
                cells.append(fmt.format(value))
            except (ValueError, TypeError):
                cells.append(f"{'-' if value is None else str(value):>{w}}")
        lines.append(" ".join(cells))
    return "\n".join(lines)
