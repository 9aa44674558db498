"""The error tree: every input error is a ValueError and names where it is."""

import pytest

from leiosurv import exceptions as ex


def test_tree():
    for cls in (ex.FindingsError, ex.CohortError, ex.DataError):
        assert issubclass(cls, ex.InputError)
        assert issubclass(cls, ValueError)
        assert issubclass(cls, ex.LeiosurvError)
    assert issubclass(ex.NotFittedError, AttributeError)
    assert issubclass(ex.StatisticalWarning, UserWarning)
    assert not issubclass(ex.StatisticalWarning, ex.LeiosurvError)


def test_field_issue_message_names_path_and_value():
    err = ex.FindingsError([ex.FieldIssue("mitoses.per_10_hpf", "must be >= 0", -3)], source="case.yaml")
    assert str(err) == "case.yaml: mitoses.per_10_hpf: must be >= 0 (got -3)"
    assert err.errors[0].path == "mitoses.per_10_hpf"


def test_several_issues_are_all_listed():
    err = ex.CohortError([ex.FieldIssue("row 3.age", "must be <= 120", 130),
                          ex.FieldIssue("row 9.sex", "unknown value", "x")])
    msg = str(err)
    assert msg.startswith("2 problems: ")
    assert "row 3.age" in msg and "row 9.sex" in msg


def test_data_error_context():
    err = ex.DataError("column 'time': 2 rows are negative", column="time", n_rows=2)
    assert (err.column, err.n_rows) == ("time", 2)
    with pytest.raises(ValueError, match="column 'time'"):
        raise err


def test_all_exported():
    for name in ex.__all__:
        assert hasattr(ex, name)
