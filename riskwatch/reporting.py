"""The manager's report: figures and tables for notebook 06, and its export to HTML and PDF.

PDF needs no TeX and downloads nothing: nbconvert renders HTML (code hidden, glue cells removed)
and a system Chromium prints it to an A4 PDF. Without Chromium the HTML is still written and the
caller is told exactly what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-pdf-header-footer")
PRINT_CSS = """<style>
@page { size: A4; margin: 14mm 12mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
table.dataframe { font-size: 8pt; border-collapse: collapse; }
table.dataframe td { white-space: normal; }
table.dataframe td, table.dataframe th { padding: 2px 6px; }
h1 { page-break-before: avoid; } h2 { page-break-after: avoid; margin-top: 1.2em; }
.jp-OutputPrompt, .jp-InputPrompt { display: none; }
</style>"""
INSTALL_HINT = ("no Chromium found for the PDF report: install it (Debian/Ubuntu: "
                "`apt-get install chromium`), or set RISKWATCH_CHROMIUM or report.chromium in "
                "config.json to its path; the HTML report was written")


@dataclass
class ExportResult:
    html: Path
    pdf: Path | None
    message: str


def find_chromium(configured: str | None = None) -> str | None:
    """Chromium from config, then $RISKWATCH_CHROMIUM, then the usual command names."""
    for candidate in (configured, os.environ.get("RISKWATCH_CHROMIUM")):
        if candidate:
            found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
            if found:
                return found
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def notebook_to_html(notebook_path: Path, html_path: Path, title: str = "riskwatch report") -> Path:
    """Render an executed notebook as a report: no code, no prompts, glue cells removed."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config as TraitletsConfig

    config = TraitletsConfig()
    config.TagRemovePreprocessor.remove_cell_tags = ("remove_cell",)
    config.TagRemovePreprocessor.remove_input_tags = ("hide_input",)
    config.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=config, template_name="lab", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(TagRemovePreprocessor(config=config), enabled=True)
    notebook = nbformat.read(notebook_path, as_version=4)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    body = body.replace("</head>", PRINT_CSS + "</head>", 1)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def html_to_pdf(html_path: Path, pdf_path: Path, chromium: str, timeout: float = 120) -> Path:
    """Print an HTML file to PDF with headless Chromium (fresh profile, no network chatter)."""
    with tempfile.TemporaryDirectory(prefix="riskwatch-chromium-") as profile:
        tmp_pdf = pdf_path.with_name(f".{pdf_path.name}.tmp")
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                   f"--print-to-pdf={tmp_pdf}", html_path.resolve().as_uri()]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if completed.returncode != 0 or not tmp_pdf.exists() or tmp_pdf.stat().st_size == 0:
            raise RuntimeError(f"Chromium could not print the report (exit {completed.returncode}): "
                               f"{completed.stderr.strip()[-500:]}")
        tmp_pdf.replace(pdf_path)
    return pdf_path


def export_report(notebook_path: Path, out_dir: Path, stem: str = "report",
                  chromium: str | None = None) -> ExportResult:
    """Write ``stem``.html and, when Chromium is available, ``stem``.pdf into ``out_dir``."""
    html = notebook_to_html(notebook_path, out_dir / f"{stem}.html")
    browser = find_chromium(chromium)
    if browser is None:
        return ExportResult(html, None, INSTALL_HINT)
    pdf = html_to_pdf(html, out_dir / f"{stem}.pdf", browser)
    return ExportResult(html, pdf, f"report written: {html} and {pdf}")


# ---- figures and tables for notebook 06 -------------------------------------------------------

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
                     "p-value": number(f["p_value"]),
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
