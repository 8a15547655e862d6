"""Report export: HTML always, PDF through the system Chromium, clear advice without one."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import papermill
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from riskwatch.pdf_printer import PrintFailed
from riskwatch.report_export import (INSTALL_HINT, ExportAhead, export_report, find_chromium, html_to_pdf,
                                     notebook_to_html)


@pytest.fixture
def executed(tmp_path: Path) -> Path:
    glue = new_code_cell("from riskwatch.scraps import glue\nglue('hidden', 1)")
    glue.metadata["tags"] = ["remove_cell"]
    notebook = new_notebook(cells=[
        new_markdown_cell("# Quarterly attrition report"),
        new_code_cell("import pandas as pd\npd.DataFrame({'feature': ['lastmonth_activity'], 'verdict': ['DRIFT']})"),
        glue,
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    source, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(notebook, source)
    papermill.execute_notebook(str(source), str(out), kernel_name="python3", progress_bar=False)
    return out


@pytest.mark.integration
def test_html_hides_code_and_glue(executed: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("RISKWATCH_CHROMIUM", raising=False)
    result = export_report(executed, tmp_path / "out", "report")
    assert result.pdf is None and result.message == INSTALL_HINT
    assert "apt-get install chromium" in result.message
    html = result.html.read_text()
    assert "Quarterly attrition report" in html and "lastmonth_activity" in html
    assert "import pandas" not in html and "scrapbook" not in html


@pytest.mark.skipif(find_chromium() is None or shutil.which("pdftotext") is None,
                    reason="needs chromium and poppler-utils (make test installs them as root)")
@pytest.mark.integration
def test_pdf_through_system_chromium(executed: Path, tmp_path: Path) -> None:
    result = export_report(executed, tmp_path / "out", "report")
    assert result.pdf is not None and result.pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(result.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Quarterly attrition report" in text and "DRIFT" in text
    assert "import pandas" not in text
    info = subprocess.run(["pdfinfo", str(result.pdf)], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info
    assert "riskwatch report" in info  # the document title, not "Notebook"


def _pdf_facts(pdf: Path) -> tuple[str, list[str]]:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return text, [line for line in info.splitlines() if line.split(":")[0] in ("Title", "Pages", "Page size",
                                                                                "Tagged")]


@pytest.mark.skipif(find_chromium() is None or shutil.which("pdftotext") is None,
                    reason="needs chromium and poppler-utils (make test installs them as root)")
@pytest.mark.integration
def test_a_warm_chromium_prints_what_a_new_one_prints_and_leaves_nothing(executed: Path, tmp_path: Path) -> None:
    import psutil

    html = notebook_to_html(executed, tmp_path / "report.html")
    cold = html_to_pdf(html, tmp_path / "cold.pdf", find_chromium())
    ahead = ExportAhead(True, None)
    assert ahead.printer is not None
    try:
        browser = psutil.Process(ahead.printer.process.pid)
        warm = ahead.printer.print_pdf(html, tmp_path / "warm.pdf")
        assert _pdf_facts(warm) == _pdf_facts(cold)  # same text, title, pages, A4, tagged
        again = ahead.printer.print_pdf(html, tmp_path / "again.pdf")  # a second page in the same browser
        assert _pdf_facts(again) == _pdf_facts(cold)
        family = [browser] + browser.children(recursive=True)
    finally:
        ahead.close()
    assert psutil.wait_procs(family, timeout=10)[1] == []  # the browser and all its processes ended
    assert not Path(ahead.printer._profile).exists()


@pytest.mark.skipif(find_chromium() is None or shutil.which("pdftotext") is None,
                    reason="needs chromium and poppler-utils (make test installs them as root)")
@pytest.mark.integration
def test_without_its_warm_chromium_the_pdf_is_printed_the_usual_way(executed: Path, tmp_path: Path) -> None:
    html = notebook_to_html(executed, tmp_path / "report.html")
    ahead = ExportAhead(True, None)
    try:
        ahead.printer.process.kill()
        ahead.printer.process.wait()
        with pytest.raises(PrintFailed):
            ahead.printer.print_pdf(html, tmp_path / "never.pdf", timeout=10)
        pdf = html_to_pdf(html, tmp_path / "report.pdf", find_chromium(), printer=ahead.printer)
    finally:
        ahead.close()
    assert "Quarterly attrition report" in _pdf_facts(pdf)[0]
    assert not (tmp_path / "never.pdf").exists()




class _RemoteReferences(HTMLParser):
    """Every script, stylesheet, image or frame address in a page that is not on this machine."""

    def __init__(self) -> None:
        super().__init__()
        self.remote: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and tag in ("script", "link", "img", "iframe") and value \
                    and urlsplit(value).scheme in ("http", "https") \
                    and urlsplit(value).hostname not in ("127.0.0.1", "localhost"):
                self.remote.append(f"<{tag} {name}={value}>")


@pytest.mark.integration
def test_html_report_loads_nothing_remote(executed: Path, tmp_path: Path) -> None:
    """Issue 14, item 8: offline the report must read as it does online (no CDN scripts)."""
    html = notebook_to_html(executed, tmp_path / "report.html").read_text()
    parser = _RemoteReferences()
    parser.feed(html)
    assert parser.remote == []
    assert not re.search(r"@import\s+(url\()?['\"]?https?://", html)
    assert "Quarterly attrition report" in html and "DRIFT" in html


@pytest.mark.skipif(find_chromium() is None, reason="needs chromium (make test installs it as root)")
@pytest.mark.integration
def test_a_warm_chromium_ends_with_a_killed_runner() -> None:
    """Its DevTools pipe closes with the runner, and Chromium then quits: no browser is left."""
    import sys
    import textwrap
    import time

    import psutil

    script = textwrap.dedent("""
        import time
        from riskwatch.report_export import ExportAhead
        ahead = ExportAhead(True, None)
        print(ahead.printer.process.pid, flush=True)
        time.sleep(120)
    """)
    runner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    browser = psutil.Process(int(runner.stdout.readline()))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not browser.children():  # its renderer and helpers have started
        time.sleep(0.1)
    family = [browser] + browser.children(recursive=True)
    runner.kill()
    runner.wait()
    assert psutil.wait_procs(family, timeout=15)[1] == []
