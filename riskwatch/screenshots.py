"""Screenshots of the dashboard's tabs and of the report's page 1, for the README (``make
screenshots``) and for the browser tests: the system Chromium driven by Playwright (nothing is
downloaded), a real ``runner.py dashboard`` on a free loopback port, ``pdftoppm`` for the PDF.

``python -m riskwatch.screenshots [DOCS]`` runs two cycles of the bundled sample data in a
temporary project (practice, then production), then writes ``dashboard-<tab>.png`` and
``report-page1.png`` into DOCS (default ``docs/``), each small enough to commit.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from riskwatch.dashboard_panels import TABS
from riskwatch.report_export import CHROMIUM_BASE_FLAGS

WIDTH = 1400
LAUNCH_ARGS = list(CHROMIUM_BASE_FLAGS)  # Playwright adds its own headless flag
RUNNER = Path(__file__).resolve().parent.parent / "runner.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DashboardProcess:
    """``runner.py dashboard`` on a free loopback port, stopped on exit."""

    def __init__(self, config: Path, runner: Path = RUNNER):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process = subprocess.Popen([sys.executable, str(runner), "--config", str(config), "dashboard",
                                         "--port", str(self.port)], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)

    def __enter__(self) -> "DashboardProcess":
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.process.kill()
                    raise AssertionError(f"dashboard did not start: {self.process.communicate()[0][-2000:]}")
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def tab_file(tab: str) -> str:
    """``Clients at risk`` → ``dashboard-clients-at-risk.png``."""
    return "dashboard-" + re.sub(r"[^a-z0-9]+", "-", tab.lower()).strip("-") + ".png"


def open_dashboard(browser, url: str, width: int = WIDTH, height: int = 900):
    """A page at ``width`` px showing the dashboard with its tabs rendered."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, timeout=90_000)
    page.locator(".rw-tabs").wait_for(timeout=120_000)
    return page


def show_tab(page, tab: str) -> None:
    """Open ``tab`` and wait until its content is built (tabs are filled when first opened)."""
    page.get_by_role("tab", name=tab).click()
    page.wait_for_function("() => ![...document.querySelectorAll('.rw-loading')]"
                           ".some(e => e.offsetParent !== null)", timeout=60_000)
    page.wait_for_timeout(300)


def capture_tabs(page, out_dir: Path, full_page: bool = False) -> dict[str, Path]:
    """Click each tab and screenshot the window: {tab: png path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shots = {}
    for tab in TABS:
        show_tab(page, tab)
        shots[tab] = out_dir / tab_file(tab)
        page.screenshot(path=str(shots[tab]), full_page=full_page)
    return shots


def report_page_png(pdf: Path, png: Path, page: int = 1, resolution: int = 60) -> Path:
    """One page of a PDF as a PNG (poppler's pdftoppm)."""
    stem = png.with_suffix("")
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", str(resolution), "-png", "-singlefile", "-f", str(page), "-l", str(page),
                    str(pdf), str(stem)], check=True, capture_output=True)
    return png


def shrink_png(path: Path, max_bytes: int = 150_000) -> Path:
    """Re-save the PNG with fewer colours until it is under ``max_bytes`` (README screenshots)."""
    from PIL import Image

    colours = 256
    while path.stat().st_size > max_bytes and colours >= 16:
        with Image.open(path) as image:
            image.convert("RGB").quantize(colors=colours).save(path, optimize=True)
        colours //= 2
    return path


def sample_project(root: Path) -> Path:
    """A project on the bundled sample data after two cycles (practice, then production)."""
    import json

    repo = RUNNER.parent
    for part in ("practicedata", "sourcedata", "testdata"):
        shutil.copytree(repo / "data" / part, root / "data" / part)
    config = json.loads((repo / "config.json").read_text())
    config["report"] = {**config.get("report", {}), "index_url": "http://127.0.0.1:9/simple",
                        "dependency_timeout": 0.5}
    path = root / "config.json"
    path.write_text(json.dumps(config, indent=1))
    for mode in ("practice", "production"):
        done = subprocess.run([sys.executable, str(RUNNER), "--config", str(path), "--mode", mode, "run"],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"the {mode} cycle failed: {done.stdout[-1000:]}{done.stderr[-1000:]}")
    return path


def main(docs: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from riskwatch.report_export import find_chromium

    chromium = find_chromium()
    if chromium is None or shutil.which("pdftoppm") is None:
        raise SystemExit("screenshots need chromium and poppler-utils (make system-deps)")
    written = []
    with tempfile.TemporaryDirectory(prefix="riskwatch-shots-") as tmp:
        config = sample_project(Path(tmp) / "project")
        pdf = sorted((Path(tmp) / "project" / "outputs" / "runs").glob("*/report.pdf"))[-1]
        written.append(report_page_png(pdf, docs / "report-page1.png"))
        with DashboardProcess(config) as dash, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
            page = open_dashboard(browser, dash.url)
            written += capture_tabs(page, docs).values()
            browser.close()
    for path in written:
        shrink_png(path)
        print(f"{path} ({path.stat().st_size // 1000} KB)")
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs"))
