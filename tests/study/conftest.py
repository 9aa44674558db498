"""Fixtures of the study tests.

The bootstrap of the derivation (``bootstrap=``, default 200 resamples) is
tested where it is the subject (``test_stability.py`` passes ``bootstrap``
explicitly); elsewhere the study runs with 20 resamples so that the many
small studies of these tests stay quick on a shared machine.  The option's
default itself is checked in ``test_stability.py``.
"""

from __future__ import annotations

import pytest

from leiosurv.study import _pipeline

TEST_BOOTSTRAP = 20


@pytest.fixture(autouse=True, scope="session")
def _quick_bootstrap():
    default = _pipeline._DEFAULTS["bootstrap"]
    _pipeline._DEFAULTS["bootstrap"] = TEST_BOOTSTRAP
    yield
    _pipeline._DEFAULTS["bootstrap"] = default
