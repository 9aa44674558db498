"""Re-take the study report screenshots in docs/screenshots (headless Chromium through Playwright).

Builds the synthetic cohorts of 381 and 40 patients (seed 1), runs ``leiosurv study`` on each
(default options: 200 bootstrap resamples) and screenshots the reports at 1200 px:

* ``study_report.png``, ``study_report_n40.png``: the first 4000 px (Methods, Results, Table 1);
* ``study_report_curves.png``: n = 381, Table 2 and the overall cumulative-incidence curves;
* ``study_report_n40_curves.png``: n = 40, the risk groups and their curves (a group without
  metastasis, whose band is the exact bound);
* ``study_report_n40_tables.png``: n = 40, Table 3 to the stability of the rule;
* ``study_remaining_risk.png``: n = 381, the remaining risk and the stability of the rule.

Usage: ``.venv/bin/python scripts/study_screenshots.py [out_dir]`` (default docs/screenshots);
needs Debian's chromium at /usr/bin/chromium (no browser download).  Look at the images after.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDTH = 1200


def _clip(page: Any, top_sel: str, bottom_sel: str, path: Path, pad: int = 16) -> None:
    """Screenshot the page from the top of ``top_sel`` to the bottom of ``bottom_sel``."""
    top, bottom = page.locator(top_sel).first.bounding_box(), page.locator(bottom_sel).first.bounding_box()
    if top is None or bottom is None:
        raise SystemExit(f"not on the page: {top_sel if top is None else bottom_sel}")
    y0, y1 = top["y"] - pad, bottom["y"] + bottom["height"] + pad
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": y0, "width": WIDTH, "height": y1 - y0})


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    cli = str(Path(sys.executable).parent / "leiosurv")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        work = Path(tmp)
        for n in (381, 40):  # the report names its source file: c381.parquet, c40.parquet, as before
            subprocess.run([cli, "synth", "--n", str(n), "--seed", "1", "--out", f"c{n}.parquet"], cwd=work,
                           check=True, capture_output=True)
            subprocess.run([cli, "study", f"c{n}.parquet", "--out", f"r{n}", "--no-progress"], cwd=work,
                           check=True, capture_output=True)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 4000})
        for n in (381, 40):
            page.goto((work / f"r{n}" / "report.html").as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(out / ("study_report.png" if n == 381 else "study_report_n40.png")))
            if n == 381:
                _clip(page, "#remaining", "#stability-table + p", out / "study_remaining_risk.png")
                _clip(page, "h3:has-text('Table 2.')", ".figrow >> nth=0", out / "study_report_curves.png")
            else:
                _clip(page, "h3:has-text('Table 3.')", "#stability-table + p", out / "study_report_n40_tables.png")
                _clip(page, "#groups", ".figrow >> nth=1", out / "study_report_n40_curves.png")
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
