"""The registry's public surface and its errors."""

import leiosurv.registry as registry
from leiosurv import exceptions as ex


def test_all_exported():
    for name in registry.__all__:
        assert hasattr(registry, name), name


def test_error_tree():
    for cls in (ex.NotFoundError, ex.IntegrityError, ex.ImportValidationError):
        assert issubclass(cls, ex.RegistryError) and issubclass(cls, ex.InputError)
    assert issubclass(ex.NotFoundError, LookupError)
    err = ex.ImportValidationError([ex.FieldIssue("events row 3.date", "not a date", "2021-02-30")])
    assert str(err) == "events row 3.date: not a date (got '2021-02-30')"


def test_redact_hides_passwords():
    assert "secret" not in registry.redact("postgresql://me:secret@db.example/reg")
