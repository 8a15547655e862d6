"""The report's export: the executed report notebook to HTML and, with a system Chromium, to PDF.

PDF needs no TeX and downloads nothing: nbconvert renders HTML (code hidden, glue cells removed)
and a system Chromium prints it to an A4 PDF. Without Chromium the HTML is still written and the
caller is told exactly what to install. The HTML loads no script from anywhere (no require.js,
MathJax, Mermaid or widget renderer from a CDN): it reads the same offline as online.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskwatch import layout
from riskwatch.newdata import atomic_copy
from riskwatch.pdf_printer import PrintFailed, WarmPrinter

_EXPORTING = threading.Lock()  # one render at a time through the shared exporter

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Chromium without a sandbox (root in containers), a GPU or any network chatter; for printing and browsing.
CHROMIUM_BASE_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                       "--disable-background-networking", "--disable-component-update", "--disable-sync")
HEADLESS_FLAGS = ("--headless", *CHROMIUM_BASE_FLAGS)
# --print-to-pdf's; a browser kept open to print over the DevTools pipe must not have the last one
# (its pages' renderers then end at once) and asks for no header or footer per page instead.
CHROMIUM_FLAGS = (*HEADLESS_FLAGS, "--no-pdf-header-footer")
PRINT_CSS = """<style>
@page { size: A4; margin: 14mm 12mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
table.dataframe { font-size: 8pt; border-collapse: collapse; }
table.dataframe td { white-space: normal; }
table.dataframe td, table.dataframe th { padding: 2px 6px; }
table.rw-table td, table.rw-table th { text-align: left; }
table.rw-table td:first-child { white-space: nowrap; }
h1 { page-break-before: avoid; } h2 { page-break-after: avoid; margin-top: 1.2em; }
.jp-OutputPrompt, .jp-InputPrompt { display: none; }
</style>"""
# The lab template without the head scripts it would fetch from a CDN (the report has no math,
# diagrams or widgets); everything else, CSS included, is inlined by nbconvert.
OFFLINE_TEMPLATE = "riskwatch-report.html.j2"
OFFLINE_TEMPLATE_SOURCE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""
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


@functools.cache
def report_exporter() -> Any:
    """nbconvert's HTML exporter for reports (built once: importing nbconvert and loading the
    templates is most of an export's time)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config as TraitletsConfig

    config = TraitletsConfig()
    config.TagRemovePreprocessor.remove_cell_tags = ("remove_cell",)
    config.TagRemovePreprocessor.remove_input_tags = ("hide_input",)
    config.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=config, template_name="lab", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True,
                            extra_loaders=[DictLoader({OFFLINE_TEMPLATE: OFFLINE_TEMPLATE_SOURCE})],
                            template_file=OFFLINE_TEMPLATE)
    exporter.register_preprocessor(TagRemovePreprocessor(config=config), enabled=True)
    exporter.template  # noqa: B018 — loads the templates now
    return exporter


def notebook_to_html(notebook_path: Path, html_path: Path, title: str = "riskwatch report") -> Path:
    """Render an executed notebook as a report: no code, no prompts, glue cells removed."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    with _EXPORTING:
        body, _ = report_exporter().from_notebook_node(notebook, resources={"metadata": {"name": title}})
    body = body.replace("</head>", PRINT_CSS + "</head>", 1)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def html_to_pdf(html_path: Path, pdf_path: Path, chromium: str, timeout: float = 120,
                printer: WarmPrinter | None = None) -> Path:
    """Print an HTML file to PDF with headless Chromium (fresh profile, no network chatter): the
    warm ``printer`` when there is one and it can, else a Chromium started for it."""
    if printer is not None:
        try:
            return printer.print_pdf(html_path, pdf_path, timeout)
        except PrintFailed:
            pass
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
                  chromium: str | None = None, printer: WarmPrinter | None = None) -> ExportResult:
    """Write ``stem``.html and, when Chromium is available, ``stem``.pdf into ``out_dir``."""
    html = notebook_to_html(notebook_path, out_dir / f"{stem}.html")
    browser = find_chromium(chromium)
    if browser is None:
        return ExportResult(html, None, INSTALL_HINT)
    pdf = html_to_pdf(html, out_dir / f"{stem}.pdf", browser, printer=printer)
    return ExportResult(html, pdf, f"report written: {html} and {pdf}")


class ExportAhead:
    """What a report's export needs, started while the report notebook runs: nbconvert imported
    with its templates loaded (in a thread) and, for the PDF, a warm Chromium. ``close()`` ends it."""

    def __init__(self, pdf: bool, chromium: str | None):
        threading.Thread(target=report_exporter, name="riskwatch-export-ahead", daemon=True).start()
        browser = find_chromium(chromium) if pdf else None
        self.printer: WarmPrinter | None = None
        if browser is not None:
            try:
                self.printer = WarmPrinter(browser, HEADLESS_FLAGS)
            except OSError:  # the export then starts its own Chromium, and says what went wrong
                self.printer = None

    def close(self) -> None:
        if self.printer is not None:
            self.printer.close()


def export_cycle_report(notebook: Path, run_folder: Path, pdf: bool, chromium: str | None,
                        output_model_path: Path, ahead: ExportAhead | None = None) -> dict[str, Any]:
    """HTML and PDF of a cycle's report notebook into its run folder, the PDF also as the baseline's
    ``summary_report.pdf``. A missing or failing Chromium costs the PDF, never the cycle."""
    printer = ahead.printer if ahead is not None else None
    try:
        exported = export_report(notebook, run_folder, layout.REPORT_STEM, chromium, printer) if pdf else None
    except Exception as exc:  # nbconvert or Chromium trouble must not undo a finished cycle
        return {"html": None, "pdf": None, "message": f"report export failed: {exc}"}
    if exported is None:
        html = notebook_to_html(notebook, run_folder / f"{layout.REPORT_STEM}.html")
        return {"html": str(html), "pdf": None, "message": "PDF disabled in config (report.pdf)"}
    if exported.pdf is not None:
        output_model_path.mkdir(parents=True, exist_ok=True)
        atomic_copy(exported.pdf, output_model_path / layout.SUMMARY_REPORT)
    return {"html": str(exported.html), "pdf": str(exported.pdf) if exported.pdf else None,
            "message": exported.message}
