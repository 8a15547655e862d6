"""Dashboard benchmark: time from the request to an interactive page (the tab widget rendered with
the Overview showing), in the system Chromium, for a project with a deployed model.

    .venv/bin/python bench/dashboard.py [--runs 3] [--screenshot out.png]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def main() -> None:
    from playwright.sync_api import sync_playwright

    from api import prepare_project
    from riskwatch.report_export import find_chromium
    from riskwatch.screenshots import LAUNCH_ARGS, DashboardProcess

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds before each page: Voila refills its pre-heated kernel meanwhile")
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        sys.exit("needs chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="riskwatch-bench-dash-") as tmp:
        config = prepare_project(Path(tmp))
        with DashboardProcess(config) as server:
            times = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
                for _ in range(args.runs):
                    time.sleep(args.settle)
                    page = browser.new_page()
                    start = time.perf_counter()
                    page.goto(server.url, timeout=120_000)
                    # Interactive: the tab widget rendered with the Overview's answers showing.
                    page.get_by_text("Who is at risk").first.wait_for(timeout=120_000)
                    times.append(time.perf_counter() - start)
                    if args.screenshot:
                        page.screenshot(path=args.screenshot, full_page=True)
                    page.close()
                browser.close()
    print(f"dashboard request → interactive: median {statistics.median(times):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
