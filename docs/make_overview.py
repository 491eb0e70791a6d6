"""Draw the concept overview of neurosim (docs/figures/overview.png) with matplotlib.

    python docs/make_overview.py [--out docs/figures/overview.png]

Boxes and arrows only, so the figure is reproducible from this file: a plain-data description is built into a
Simulation (populations placed in 3D space); rules compose on each synapse by role (efficacy, weight,
modifier); the frontal controller acts between trials (reward, pruning, selection); tasks reach the spiking
network and the LSTM through one adapter layer and come back as the same metrics.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "figures" / "overview.png"

#: Colors per concept group (box face, edge).
COLORS = {
    "describe": ("#e8f0fb", "#4a78b5"),
    "build": ("#fdf1e1", "#c9822b"),
    "sim": ("#e9f5e9", "#3f8f4a"),
    "rule": ("#f7e8f3", "#9b4a87"),
    "ctrl": ("#fdeaea", "#b84a4a"),
    "task": ("#eef0f3", "#5b6675"),
    "learner": ("#fff8d6", "#a88a12"),
}


def _box(ax, x, y, w, h, title, body="", kind="describe", title_size=10.5, body_size=8.2):
    """A rounded box with a bold title and a smaller body text; returns its (x, y, w, h)."""
    from matplotlib.patches import FancyBboxPatch

    face, edge = COLORS[kind]
    ax.add_patch(
        FancyBboxPatch(
            (x, y), w, h, boxstyle="round,pad=0.25,rounding_size=0.8", fc=face, ec=edge, lw=1.4, zorder=2
        )
    )
    if body:
        ax.text(
            x + w / 2, y + h - 1.1, title, ha="center", va="top", fontsize=title_size, weight="bold", zorder=3
        )
        ax.text(
            x + w / 2,
            y + h - 3.6,
            body,
            ha="center",
            va="top",
            fontsize=body_size,
            zorder=3,
            linespacing=1.35,
        )
    else:
        ax.text(
            x + w / 2,
            y + h / 2,
            title,
            ha="center",
            va="center",
            fontsize=title_size,
            weight="bold",
            zorder=3,
        )
    return x, y, w, h


def _arrow(ax, start, end, text="", color="0.25", style="-|>", rad=0.0, text_offset=(0, 0.9), size=7.8):
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=14,
            lw=1.4,
            color=color,
            zorder=4,
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=2,
            shrinkB=2,
        )
    )
    if text:
        mx, my = (start[0] + end[0]) / 2 + text_offset[0], (start[1] + end[1]) / 2 + text_offset[1]
        ax.text(mx, my, text, ha="center", va="bottom", fontsize=size, color=color, style="italic", zorder=5)


def _right(b, f=0.5):
    return (b[0] + b[2], b[1] + f * b[3])


def _left(b, f=0.5):
    return (b[0], b[1] + f * b[3])


def _top(b, f=0.5):
    return (b[0] + f * b[2], b[1] + b[3])


def _bottom(b, f=0.5):
    return (b[0] + f * b[2], b[1])


def _group(ax, frame, title, parts, kind, columns):
    """An outer box titled ``title`` holding one inner box per ``(title, body)`` of ``parts``, in columns
    starting at ``x0``, ``step`` apart, ``width`` wide; returns the outer box and the inner ones."""
    x, y, w, h = frame
    outer = _box(ax, x, y, w, h, "", kind=kind)
    ax.text(x + w / 2, y + h - 1, title, ha="center", va="top", fontsize=10, weight="bold", zorder=3)
    x0, step, width = columns
    inner = [
        _box(ax, x0 + step * k, y + 3.5, width, 11.5, t, body, kind, title_size=10, body_size=7.6)
        for k, (t, body) in enumerate(parts)
    ]
    return outer, inner


def draw(path: str | Path = OUT, *, seed: int = 3) -> Path:
    """Draw the overview and write it as a PNG to ``path`` (folders are created)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(15, 7.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 150)
    ax.set_ylim(0, 73)
    ax.axis("off")

    # -- row 1: describe → build → Simulation ---------------------------------------------------------
    ax.text(2, 70.5, "1  Describe, build, run", fontsize=12, weight="bold", color="0.2")
    desc = _box(
        ax,
        2,
        53,
        30,
        14,
        "description (plain data)",
        "Population: model, n, placement in 3D\nProjection: kernel, delay, rules\n"
        "inputs, recordings, seed, dt\nfrozen dataclasses ↔ dict / JSON / TOML",
        "describe",
    )
    build = _box(
        ax,
        42,
        53,
        26,
        14,
        "build(desc, target)",
        "the only place Brian2\nobjects are made\nKD-tree pair sampling\ncomposed synapse models\n"
        "numpy · cython · cpp_standalone",
        "build",
    )
    sim = _box(
        ax,
        78,
        53,
        28,
        14,
        "Simulation",
        ".run(duration)  .spikes(pop)\n.weights(proj)  .positions\n.compact(proj, keep)  .save()",
        "sim",
    )
    _arrow(ax, _right(desc), _left(build))
    _arrow(ax, _right(build), _left(sim))

    # populations in 3D space: a small 3D scatter beside the Simulation
    rng = np.random.default_rng(seed)
    ax3 = fig.add_axes((0.725, 0.66, 0.14, 0.31), projection="3d")
    e = rng.uniform(0, 400, size=(80, 3))
    i = rng.uniform(0, 400, size=(20, 3))
    ax3.scatter(*e.T, s=6, c="#c0392b", depthshade=True, label="E")
    ax3.scatter(*i.T, s=9, c="#2c6fbb", marker="^", depthshade=True, label="I")
    near = np.argsort(((e - e[0]) ** 2).sum(1))[1:7]  # a neuron's nearest partners (distance-dependent)
    for k in near:
        ax3.plot(*np.stack([e[0], e[k]]).T, color="0.35", lw=0.6)
    ax3.set_xticks([])
    ax3.set_yticks([])
    ax3.set_zticks([])
    ax3.set_title("populations in 3D space (µm)", fontsize=8.5, pad=0)
    ax3.legend(fontsize=7, loc="upper left", frameon=False, handletextpad=0.1, borderaxespad=0)
    ax.text(
        140,
        60,
        "connection probability and\ndelay follow distance",
        fontsize=7.8,
        ha="center",
        va="top",
        color="0.3",
        style="italic",
    )

    # -- row 2: rules composed on a synapse; frontal controller ---------------------------------------
    ax.text(2, 48, "2  Plasticity rules compose on each synapse", fontsize=12, weight="bold", color="0.2")
    roles = [
        ("efficacy", "short-term plasticity\nTsodyksMarkram\n(depressing / facilitating)"),
        ("weight", "PairSTDP, TripletSTDP,\nCalcium (Graupner–Brunel)\neach emits dw; summed"),
        ("modifier", "RewardModulated (dw →\neligibility → w with dopamine)\nTaggingCapture"),
    ]
    syn, boxes = _group(
        ax,
        (2, 25.5, 66, 19.5),
        "one synapse:  each spike delivers  J · w · efficacy",
        roles,
        "rule",
        (4.5, 21, 19),
    )
    for a, b in zip(boxes, boxes[1:], strict=False):
        _arrow(ax, _right(a, 0.4), _left(b, 0.4))
    ax.text(
        35,
        26.1,
        "w = clip(w + Σ dw, w_min, w_max) · names namespaced (stp_x, stdp_apre) · fixed order",
        ha="center",
        va="bottom",
        fontsize=7.8,
        color="0.3",
        zorder=3,
    )
    _arrow(
        ax,
        _bottom(build, 0.5),
        _top(syn, 0.83),
        "composes a projection's rules\ninto one synapse model",
        text_offset=(11, -2.2),
    )

    parts = [
        ("reward", "policy(output, target)\nminus a running baseline\ndelayed dopamine"),
        ("pruning", "WeightMagnitude, PenaltyCount,\nLowActivity, RandomDeletion;\nschedules; regrowth"),
        ("selection", "NeuronSelection: bias\nan assembly; AssemblyBandit\n(UCB) picks which"),
    ]
    ctrl, _ = _group(
        ax,
        (78, 25.5, 70, 19.5),
        "frontal controller (between trials, never per time step)",
        parts,
        "ctrl",
        (80.5, 22.5, 20.5),
    )
    _arrow(
        ax,
        _top(ctrl, 0.35),
        _bottom(sim, 0.6),
        "reads spikes; delivers dopamine,\nremoves synapses, biases",
        color="#b84a4a",
        text_offset=(15, -2.5),
        style="<|-|>",
    )

    # -- row 3: tasks → adapter layer → learners → same metrics --------------------------------------
    ax.text(2, 20.5, "3  One task, two learners, the same metrics", fontsize=12, weight="bold", color="0.2")
    tasks = _box(
        ax,
        2,
        2,
        30,
        14,
        "tasks (numpy, seeded)",
        "associative recall · paired association\nstore-recall · sequence recall\n"
        "continual learning (A then B)\ntask.trials(n, seed, split)",
        "task",
    )
    adapter = _box(
        ax,
        40,
        2,
        28,
        14,
        "adapter layer",
        "Trial: inputs, targets, phase\nsteps of 200 ms\nrate coding → spikes (snn)\nspike-count decoding",
        "task",
    )
    snn = _box(
        ax, 78, 10, 26, 6, "snn: SpikingLearner", "plasticity + reward, one pass", "learner", body_size=7.8
    )
    lstm = _box(ax, 78, 2, 26, 6, "lstm: LSTMLearner", "BPTT + Adam, same #weights", "learner", body_size=7.8)
    metrics = _box(
        ax,
        114,
        2,
        34,
        14,
        "same metrics (ResultRecord)",
        "accuracy · train trials · trials to criterion\nwall time · parameters · ops · energy\n"
        "results.json, results.md, figures\n(neurosim run compare_lstm)",
        "learner",
    )
    _arrow(ax, _right(tasks), _left(adapter))
    _arrow(ax, _right(adapter, 0.75), _left(snn))
    _arrow(ax, _right(adapter, 0.25), _left(lstm))
    _arrow(ax, _right(snn), _left(metrics, 0.72))
    _arrow(ax, _right(lstm), _left(metrics, 0.28))
    _arrow(
        ax,
        _top(snn, 0.5),
        _bottom(ctrl, 0.1),
        "builds a network,\nruns the controller",
        color="#3f8f4a",
        text_offset=(8.5, -2.5),
    )

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT), help=f"PNG file to write (default {OUT})")
    args = parser.parse_args(argv)
    print(f"wrote {draw(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
