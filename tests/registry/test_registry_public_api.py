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


def test_patient_record_is_frozen_and_typed_and_its_json_form_is_the_export(demo):
    import datetime as dt

    import pydantic
    import pytest

    from leiosurv.registry._export import patient_record

    rec = demo.patient_record("SEED-000")
    assert isinstance(rec, registry.PatientRecord)
    assert isinstance(rec.tumours[0].diagnosis_date, dt.date) and rec.tumours[0].assessments[0].result["plan"]
    assert {e.status for e in rec.encounters} and rec.observations[0].label
    with pytest.raises(pydantic.ValidationError):
        rec.patient.sex = "male"
    with demo.engine.connect() as c:
        assert rec.to_dict() == patient_record(c, "SEED-000")
