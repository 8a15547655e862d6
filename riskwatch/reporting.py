"""The manager's report: figures and tables for notebook 06 (and the dashboard)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from riskwatch.config import Schema
from riskwatch.riskfile import read_risk_list


def confusion_matrix_figure(matrix: Sequence[Sequence[int]], title: str):
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(4.2, 3.4))
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

    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 3.4))
    if len(set(y_true)) == 2:
        RocCurveDisplay.from_predictions(y_true, probability, name=label, ax=left)
        PrecisionRecallDisplay.from_predictions(y_true, probability, name=label, ax=right)
    else:
        for ax in (left, right):
            ax.text(0.5, 0.5, "test data has one class only", ha="center")
    left.set_title("ROC curve")
    right.set_title("Precision-recall curve")
    fig.tight_layout()
    return fig


def score_history_frame(ledger_path: Path):
    """Test-data F1 of every scored model over time, with deployments and rollbacks."""
    import pandas as pd

    from riskwatch.ledger import Ledger

    ledger = Ledger(ledger_path)
    scores = pd.DataFrame(ledger.scores(roles=["challenger", "production"]))
    events = pd.DataFrame(ledger.deployments(1000))
    return scores, events


def score_history_figure(scores, events):
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, ax = plt.subplots(figsize=(8.4, 3.0))
    if not scores.empty:
        test = scores[scores["dataset"] == "test"].drop_duplicates(["run_id", "version", "role"])
        for role, marker in (("challenger", "o"), ("production", "s")):
            part = test[test["role"] == role]
            ax.plot(pd.to_datetime(part["at"]), part["f1"], marker=marker, linestyle="-" if role == "production" else "",
                    label=f"{role} (test F1)")
        batch = scores[scores["dataset"] == "batch"]
        if not batch.empty:
            ax.plot(pd.to_datetime(batch["at"]), batch["f1"], "x", label="deployed model on new data")
    if not events.empty:
        for _, event in events.iterrows():
            colour = {"deploy": "green", "rollback": "orange", "reject": "red"}.get(event["action"], "grey")
            ax.axvline(pd.to_datetime(event["at"]), color=colour, alpha=0.3)
    ax.set_ylabel("F1")
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("Scores across runs (lines: green deploy, red reject, orange rollback)")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


PSI_BAND_SHORT = {"no significant change": "low", "moderate change": "moderate",
                  "significant change": "high"}


def drift_table(drift: dict[str, Any] | None):
    """One row per feature: method, value, p-value, effect size, PSI and the verdict — narrow
    enough for an A4 page."""
    import pandas as pd

    if not drift:
        return pd.DataFrame()

    def number(value: Any) -> str:
        return "—" if value is None or value != value else f"{value:.3g}"

    rows = []
    for f in drift["features"]:
        rows.append({"feature": f["feature"], "method": f["method"], "value": number(f["statistic"]),
                     "noise bound": number(f.get("noise_bound")), "p-value": number(f["p_value"]),
                     "effect size": f"{number(f['effect_size'])} ({f['effect_name']})",
                     "PSI": f"{number(f['psi'])} ({PSI_BAND_SHORT.get(f['psi_band'], f['psi_band'])})",
                     "verdict": "DRIFT" if f["drifted"] else "no drift"})
    return pd.DataFrame(rows).set_index("feature")


def events_table(events):
    """Deployments, rejections and rollbacks, newest first, with readable times."""
    import pandas as pd

    if events.empty:
        return events
    table = events[["at", "action", "version", "f1", "reason"]].copy()
    table["at"] = pd.to_datetime(table["at"]).dt.strftime("%Y-%m-%d %H:%M")
    table["version"] = "v" + table["version"].astype("Int64").astype(str)
    return table.set_index("at")


def risk_summary(risk_path: Path, schema: Schema, bands: Sequence[str], top: int):
    """(sentence, table of the top clients) for a run's risk list, or (sentence, None) without one."""
    risk = read_risk_list(Path(risk_path), schema, bands)
    if risk is None:
        return "No new client data in this cycle, so no risk list.", None
    if not risk.total:
        return "The risk list is empty.", None
    per_band = " · ".join(f"{band} **{n}**" for band, n in risk.counts.items())
    sentence = (f"**{risk.total} clients** of the new data scored by v{risk.model_version}: {per_band}. "
                f"The {min(top, risk.total)} most at risk:")
    table = risk.clients().head(top)[[schema.id_column, "probability", "risk_band"]].rename(
        columns={schema.id_column: "client", "probability": "attrition risk", "risk_band": "band"})
    table["attrition risk"] = (100 * table["attrition risk"]).map("{:.1f} %".format)
    return sentence, table.set_index("client")


def estimates_table(ledger_path: Path, limit: int = 8):
    """F1 estimated when clients were scored, beside the realised F1 once their outcomes arrived."""
    import pandas as pd

    from riskwatch.ledger import Ledger

    rows = Ledger(ledger_path).estimates_and_outcomes(limit)
    if not rows:
        return None

    def f1(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    return pd.DataFrame([{
        "scored in run": r["run_id"], "model": f"v{r['version']}", "clients": r["n"],
        "estimated F1": f1(r["estimated_f1"]) + (f" ({r['interval'][0]:.2f}–{r['interval'][1]:.2f})" if r["interval"] else ""),
        "realised F1": f1(r["realised_f1"]) if r["realised_f1"] is not None else "outcomes not in yet",
    } for r in rows]).set_index("scored in run")


def describe_latest_estimate(latest: dict) -> str:
    """The latest F1 estimated without labels, beside the last realised one (``Ledger.latest_estimate``)."""
    interval = latest["interval"]
    line = (f"estimated F1 without labels: {latest['estimated_f1']:.4f}"
            + (f" ({interval[0]:.2f}–{interval[1]:.2f})" if interval else "")
            + f" on {latest['n']:,} clients scored by v{latest['version']} in run {latest['run_id']}")
    realised = latest["last_realised"]
    if realised is None:
        return line + "; no outcomes have arrived yet"
    return line + (f"; last realised: F1 {realised['realised_f1']:.4f} on run {realised['run_id']}'s clients "
                   f"(estimated then {realised['estimated_f1']:.4f})")


def describe_quarantine(rows: Sequence[dict], when: str = "in the last run") -> str:
    """One line on what went to the quarantine folder (``Ledger.quarantine`` rows): files refused and
    bad rows set aside, with the file names and the folder to look in."""
    if not rows:
        return f"quarantine: nothing refused or set aside {when}"
    refused = [r["name"] for r in rows if r["scope"] == "file"]
    aside = [(r["name"], r["n_rows"] or 0) for r in rows if r["scope"] == "rows"]
    n_aside = sum(n for _, n in aside)
    folders = sorted({str(Path(r["path"]).parent) for r in rows if r.get("path")})
    return (f"quarantine: {_count(len(refused), 'file')} refused"
            + (f" ({', '.join(refused)})" if refused else "")
            + f", {_count(n_aside, 'bad row')} set aside" + (f" ({', '.join(f'{n} of {name}' for name, n in aside)})"
                                                            if aside else "")
            + f" {when}" + (f" — see {', '.join(folders)}" if folders else ""))


def quarantine_summary(ledger_path: Path, run_id: str):
    """(sentence, table) on what this run put in the quarantine folder; the table is None if nothing."""
    import pandas as pd

    from riskwatch.ledger import Ledger

    rows = Ledger(ledger_path).quarantine([run_id]) if Path(ledger_path).exists() else []
    sentence = describe_quarantine(rows, "in this run")
    sentence = sentence[:1].upper() + sentence[1:] + "."
    if not rows:
        return sentence, None
    table = pd.DataFrame([{"file": r["name"],
                           "what": "file refused" if r["scope"] == "file" else f"{r['n_rows']} bad row(s) set aside",
                           "reason": r["reason"], "kept in": Path(r["path"]).name if r["path"] else "—"}
                          for r in rows])
    return sentence, table.set_index("file")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
