"""The clinical package's public surface and its runnable docstring examples."""

import doctest
import importlib

import pytest

import leiosurv.clinical as clinical

MODULES = [
    "leiosurv.clinical.findings",
    "leiosurv.clinical.risk",
    "leiosurv.clinical.surveillance",
    "leiosurv.clinical.diagnosis",
    "leiosurv.clinical._assess",
    "leiosurv.clinical.pathway",
    "leiosurv.clinical.mitoses",
    "leiosurv.clinical.evidence._models",
]


def test_all_names_exist():
    for name in clinical.__all__:
        assert hasattr(clinical, name), name


@pytest.mark.parametrize("name", MODULES + ["leiosurv.interfaces.ics", "leiosurv.interfaces.fhir",
                                                     "leiosurv.files", "leiosurv.casefile"])
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
