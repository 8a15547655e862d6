"""The charts of the report and the dashboard: one seaborn style, one palette, a title and axis
labels on every chart, sized to read on an A4 page.

Each function takes frames or plain values and returns a matplotlib figure; nothing here reads
files. :func:`figure_html` turns a figure into an ``<img>`` for the dashboard's HTML widgets.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Sequence

import pandas as pd

PALETTE = "colorblind"
# Roles in the palette (seaborn "colorblind"): blue, orange, green, red, purple, brown, pink, grey.
BLUE, ORANGE, GREEN, RED, PURPLE, BROWN, PINK, GREY = range(8)
ACTION_STYLE = {"deploy": (GREEN, "^", "deploy"), "reject": (RED, "X", "reject"),
                "rollback": (ORANGE, "v", "rollback")}


def apply_style() -> list:
    """The one style of every riskwatch chart; returns the palette's colours."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook", font_scale=0.85)
    return sns.color_palette(PALETTE)


def run_positions(scores: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """One row per run, oldest first, with its ordinal position and a date label: runs seconds
    apart get their own place on the axis instead of one point of a clock axis."""
    frames = [f[["run_id", "at"]] for f in (scores, events) if not f.empty and "run_id" in f]
    if not frames:
        return pd.DataFrame(columns=["run_id", "at", "position", "label"])
    runs = pd.concat(frames).dropna(subset=["run_id"])
    runs["at"] = pd.to_datetime(runs["at"], utc=True, format="ISO8601")
    runs = runs.groupby("run_id", as_index=False)["at"].min().sort_values(["at", "run_id"], ignore_index=True)
    runs["position"] = range(len(runs))
    runs["label"] = [f"{i + 1}\n{at:%d %b %H:%M}" for i, at in enumerate(runs["at"])]
    return runs


def production_steps(events: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The production model's test F1 after each run (position, version, f1): it changes on a
    deploy or a rollback and holds otherwise — the step line of the history chart."""
    if events.empty or runs.empty:
        return pd.DataFrame(columns=["position", "version", "f1"])
    changes = events[events["action"].isin(["deploy", "rollback"])].merge(runs, on="run_id", how="inner",
                                                                          suffixes=("", "_run"))
    changes = changes.sort_values("at")
    rows, current = [], None
    by_position = {p: g.iloc[-1] for p, g in changes.groupby("position")}
    for position in runs["position"]:
        if position in by_position:
            current = by_position[position]
        if current is not None:
            rows.append({"position": position, "version": int(current["version"]), "f1": current["f1"]})
    return pd.DataFrame(rows, columns=["position", "version", "f1"])


def score_history_figure(scores: pd.DataFrame, events: pd.DataFrame):
    """F1 by run: the production model as a step line, challengers and the deployed model's
    score on new data as points, and a mark per deploy, reject and rollback; legend outside."""
    import matplotlib.pyplot as plt

    colours = apply_style()
    fig, ax = plt.subplots(figsize=(8.6, 3.2))
    runs = run_positions(scores, events)
    if runs.empty:
        ax.text(0.5, 0.5, "no scored model yet", ha="center", transform=ax.transAxes)
    else:
        steps = production_steps(events, runs)
        if not steps.empty:
            last = steps.iloc[[-1]].assign(position=steps["position"].iloc[-1] + 0.45)
            steps = pd.concat([steps, last], ignore_index=True)  # the last step reaches past its run
            ax.step(steps["position"], steps["f1"], where="post", color=colours[BLUE], linewidth=2,
                    label="production model (test F1)")
        if not scores.empty:
            placed = scores.merge(runs[["run_id", "position"]], on="run_id")
            challengers = placed[(placed["role"] == "challenger") & (placed["dataset"] == "test")]
            ax.scatter(challengers["position"], challengers["f1"], s=36, color=colours[PURPLE], zorder=3,
                       label="new model (test F1)")
            batch = placed[placed["dataset"].isin(["batch", "realised"])]
            if not batch.empty:
                ax.scatter(batch["position"], batch["f1"], marker="D", s=30, color=colours[BROWN], zorder=3,
                           label="deployed model on new data (F1)")
            estimate = placed[placed["dataset"] == "estimate"]
            if not estimate.empty:
                ax.scatter(estimate["position"], estimate["f1"], marker="o", s=34, facecolors="none",
                           edgecolors=colours[GREY], zorder=3, label="estimated F1 (no labels yet)")
        if not events.empty:
            marks = events.merge(runs[["run_id", "position"]], on="run_id")
            for action, (colour, marker, label) in ACTION_STYLE.items():
                part = marks[marks["action"] == action]
                if not part.empty:
                    ax.scatter(part["position"], part["f1"].fillna(0), marker=marker, s=90, color=colours[colour],
                               edgecolors="black", linewidths=0.5, zorder=4, label=label)
        ax.set_xticks(runs["position"], runs["label"], fontsize=7)
        ax.set_xlim(-0.5, max(len(runs) - 0.5, 0.5))
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("run (number, date UTC)")
    ax.set_ylabel("F1 score")
    ax.set_title("Model scores by run")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def drift_figure(drift: dict[str, Any] | None):
    """Effect size per feature as bars, each against its threshold (and the sampling-noise bound);
    drifted features in red."""
    import matplotlib.pyplot as plt

    colours = apply_style()
    features = (drift or {}).get("features") or []
    fig, ax = plt.subplots(figsize=(8.6, 0.5 + 0.45 * max(len(features), 2)))
    if not features:
        ax.text(0.5, 0.5, "no drift check in this cycle", ha="center", transform=ax.transAxes)
    for i, f in enumerate(features):
        effect = f.get("effect_size") if f.get("effect_size") is not None else f.get("statistic")
        colour = colours[RED] if f.get("drifted") else colours[BLUE]
        ax.barh(i, effect or 0.0, color=colour, height=0.6,
                label="drifted" if f.get("drifted") else "no drift")
        ax.text((effect or 0.0), i, f"  {effect:.3f}" if effect is not None else "  —", va="center", fontsize=8)
        if f.get("threshold") is not None:
            ax.vlines(f["threshold"], i - 0.4, i + 0.4, color="black", linewidth=2, label="threshold")
        if f.get("noise_bound") is not None:
            ax.vlines(f["noise_bound"], i - 0.4, i + 0.4, color=colours[GREY], linestyles="dotted",
                      linewidth=2, label="sampling-noise bound")
    ax.set_yticks(range(len(features)), [f["feature"] for f in features])
    ax.invert_yaxis()
    ax.set_xlabel("effect size (" + ", ".join(sorted({f.get("effect_name") or f.get("method", "")
                                                      for f in features})) + ")" if features else "effect size")
    ax.set_ylabel("feature")
    ax.set_title("Data drift per feature: effect size against its threshold")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        ax.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                  frameon=False)
    fig.tight_layout()
    return fig


def risk_distribution_figure(probability: Sequence[float], band: Sequence[str], bands: Sequence[str]):
    """How the batch's attrition risk is spread, coloured by risk band (lowest band first)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    colours = apply_style()
    fig, ax = plt.subplots(figsize=(8.6, 2.8))
    frame = pd.DataFrame({"attrition risk (%)": 100 * pd.Series(probability, dtype=float),
                          "risk band": pd.Series(band, dtype="string")})
    if frame.empty:
        ax.text(0.5, 0.5, "no clients scored in this cycle", ha="center", transform=ax.transAxes)
    else:
        order = [b for b in bands if b in set(frame["risk band"])]
        band_colours = dict(zip(bands, [colours[GREEN], colours[ORANGE], colours[RED], colours[PURPLE],
                                        colours[BROWN]][:len(bands)]))
        sns.histplot(frame, x="attrition risk (%)", hue="risk band", hue_order=order, multiple="stack",
                     bins=40, binrange=(0, 100), palette=band_colours, ax=ax, edgecolor="white", linewidth=0.3)
        if ax.get_legend() is not None:  # upper left, outside the data, as the other charts
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_xlim(0, 100)
    ax.set_xlabel("attrition risk (%)")
    ax.set_ylabel("clients")
    ax.set_title("Risk distribution of the new clients")
    fig.tight_layout()
    return fig


def confusion_matrix_figure(matrix: Sequence[Sequence[int]], title: str):
    import matplotlib.pyplot as plt
    import seaborn as sns

    apply_style()
    fig, ax = plt.subplots(figsize=(3.8, 2.9))
    sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax,
                xticklabels=["stays (0)", "leaves (1)"], yticklabels=["stays (0)", "leaves (1)"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def roc_pr_figure(y_true: Sequence[int], probability: Sequence[float], label: str):
    import matplotlib.pyplot as plt
    from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

    apply_style()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.6, 3.2))
    if len(set(y_true)) == 2:
        RocCurveDisplay.from_predictions(y_true, probability, name=label, ax=left)
        PrecisionRecallDisplay.from_predictions(y_true, probability, name=label, ax=right)
    else:
        for ax in (left, right):
            ax.text(0.5, 0.5, "test data has one class only", ha="center")
    left.set(title="ROC curve", xlabel="false positive rate", ylabel="true positive rate")
    right.set(title="Precision-recall curve", xlabel="recall", ylabel="precision")
    fig.tight_layout()
    return fig


def figure_html(fig, dpi: int = 96) -> str:
    """The figure as an inline PNG ``<img>`` (and closed), for HTML widgets and tables."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    payload = base64.b64encode(buffer.getvalue()).decode()
    return f'<img class="rw-chart" style="max-width:100%" src="data:image/png;base64,{payload}"/>'
