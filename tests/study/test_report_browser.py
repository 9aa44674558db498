"""The HTML report renders in headless Chromium: screenshot not blank, forest plot present."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest
from matplotlib.image import imread
from study_cohorts import cohort_frame

from leiosurv.study import read_cohort, run_study, write_report

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LEIOSURV_CHROMIUM", "/usr/bin/chromium")


def _chromium() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        pytest.fail(f"headless Chromium not found at {CHROMIUM}: install it (apt-get install chromium; "
                    "scripts/test does this) or set LEIOSURV_CHROMIUM")
    return path


def _screenshot(html, png, profile, height=3000) -> None:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", f"--window-size=1400,{height}", f"--screenshot={png}", html.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and png.exists(), proc.stderr[-2000:]


def _dump_dom(html, profile) -> str:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--dump-dom", html.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout


def test_report_renders(tmp_path):
    res = run_study(read_cohort(cohort_frame(400, seed=41)), progress=False)
    html = write_report(res, tmp_path / "report")
    png = tmp_path / "page.png"
    _screenshot(html, png, tmp_path / "profile")
    img = imread(png)
    assert img.shape[0] >= 2000 and img.shape[1] == 1400
    assert float(np.var(img[..., :3])) > 1e-3  # not blank
    # the banner is drawn in red across the top of the page
    top = img[:60, :, :3].reshape(-1, 3)
    assert ((top[:, 0] > 0.6) & (top[:, 1] < 0.2) & (top[:, 2] < 0.2)).mean() > 0.3
    dom = _dump_dom(html, tmp_path / "profile2")
    assert 'id="forest-plot"' in dom and "5-year risk difference (percentage points)" in dom
    # it reads as a Results section: the prose first, then the tables, the remaining-risk table and figure
    results = dom.index('id="results-text"')
    assert results < dom.index('id="table1"') < dom.index('id="remaining-risk"') < dom.index('id="fig-remaining"')
    assert "the 5-year risks of metastasis and local recurrence were" in dom
