"""The validation report's performance section and the study's multivariable table render in headless Chromium."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread
from test_report_browser import _dump_dom, _screenshot

from leiosurv.study import read_cohort, run_study, synthesize_cohort, validate_rule, write_report

pytestmark = pytest.mark.browser


def test_performance_and_multivariable_sections_render(tmp_path):
    cohort = read_cohort(synthesize_cohort(381, seed=1))
    html = write_report(validate_rule(cohort, progress=False), tmp_path / "val")
    dom = _dump_dom(html, tmp_path / "p1")
    i = dom.index('id="performance"')
    assert i < dom.index('id="discrimination"') < dom.index('id="calibration"') < dom.index('id="fig-calibration"')
    assert "Published 5-year risk (%)" in dom and "perfect agreement" in dom
    png = tmp_path / "val.png"
    _screenshot(html, png, tmp_path / "p2", height=9000)
    img = imread(png)
    assert float(np.var(img[-3000:, :, :3])) > 1e-3  # the bottom of the page (performance section) is drawn
    html = write_report(run_study(cohort, progress=False, multivariable=True), tmp_path / "mv")
    dom = _dump_dom(html, tmp_path / "p3")
    assert 'id="multivariable-metastasis"' in dom and 'id="multivariable-exploratory-metastasis"' in dom
