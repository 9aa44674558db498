"""One serialisation style for every result of leiosurv: clinical, study and statistics.

Every result class offers the same five methods, all backed by one pydantic
``TypeAdapter`` of the result's *JSON form*:

* ``to_dict()`` — plain, JSON-safe Python (NaN and infinities as ``None``);
* ``to_json(indent=None)`` — the same as text;
* ``from_dict(d)`` / ``from_json(text)`` — rebuild the result (classmethods);
  malformed input raises :class:`~leiosurv.exceptions.InputError` naming the field;
* ``json_schema()`` — the JSON Schema of the form (classmethod), which
  ``leiosurv schema --output ...`` prints and the web API publishes.

The JSON form of a clinical result (a frozen pydantic model) and of a study
result (a frozen dataclass) is the object itself.  A statistics result keeps its
numbers as numpy arrays; its JSON form is a small dataclass of lists (see
``leiosurv.stats``), and the class converts with two hooks::

    class MyResult(Serialisable):
        JSON_FORM = MyResultForm                      # the form's type
        def to_json_form(self) -> MyResultForm: ...   # result -> form
        @classmethod
        def from_json_form(cls, form) -> MyResult: ...  # form -> result

pydantic is imported on first use, so the statistics core imports without it.
:data:`JSONFloat` is the float type of the forms: NaN is written as ``null`` and
``null`` read back as NaN.
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any, ClassVar, TypeVar

from leiosurv.exceptions import InputError

__all__ = ["Serialisable", "JSONFloat", "adapter", "schema_of"]  # noqa: F822 (JSONFloat: module __getattr__)

T = TypeVar("T", bound="Serialisable")


def _none_to_nan(v: Any) -> Any:
    return math.nan if v is None else v


def _nan_to_none(x: float) -> float | None:
    return None if not math.isfinite(x) else x


def _plain(x: Any) -> Any:
    """Fallback of the serialiser: numpy scalars as Python, NaN as None, anything else as text."""
    if hasattr(x, "item") and type(x).__module__ == "numpy":
        x = x.item()
    if isinstance(x, float):
        return _nan_to_none(x)
    if x is None or isinstance(x, (bool, int, str)):
        return x
    return str(x)


@cache
def _json_float() -> Any:
    from typing import Annotated

    from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

    return Annotated[
        float,
        BeforeValidator(_none_to_nan),
        PlainSerializer(_nan_to_none, return_type=float | None, when_used="json"),
        WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "null"}],
                        "description": "a number; null stands for NaN (not estimable)"}),
    ]


def __getattr__(name: str) -> Any:  # PEP 562: JSONFloat is built (and pydantic imported) on first use
    if name == "JSONFloat":
        return _json_float()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def adapter(form_type: Any) -> Any:
    """The (cached) pydantic ``TypeAdapter`` of a JSON form type."""
    from pydantic import TypeAdapter

    return TypeAdapter(form_type)


def schema_of(cls: type[Serialisable]) -> dict[str, Any]:
    """The JSON Schema of a result class's JSON form (``cls.json_schema()``)."""
    schema: dict[str, Any] = adapter(cls.json_form_type()).json_schema()
    return schema


def _one_line(exc: Exception, what: str) -> InputError:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0] if errors() else {}
        loc = ".".join(str(p) for p in first.get("loc", ())) or "(top level)"
        value = repr(first.get("input"))
        value = value if len(value) <= 200 else value[:197] + "..."
        more = len(errors()) - 1
        return InputError(f"{what}: {loc}: {first.get('msg', 'invalid')} (got {value})"
                          + (f"; and {more} more problem{'s' if more != 1 else ''}" if more else ""))
    return InputError(f"{what}: {exc}")


class Serialisable:
    """Mixin of the five serialisation methods (see the module docstring)."""

    __slots__ = ()

    JSON_FORM: ClassVar[Any] = None
    """The type of this result's JSON form, when it is not the class itself."""

    @classmethod
    def json_form_type(cls) -> Any:
        """The type whose pydantic schema is this result's JSON form (:attr:`JSON_FORM`, or the class itself)."""
        return cls if cls.JSON_FORM is None else cls.JSON_FORM

    def to_json_form(self) -> Any:
        """This result as an instance of :meth:`json_form_type` (itself by default)."""
        return self

    @classmethod
    def from_json_form(cls: type[T], form: Any) -> T:
        """The result rebuilt from its validated JSON form (the form itself by default)."""
        return form  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-safe Python (NaN and infinities as ``None``); lossless, see :meth:`from_dict`."""
        # numpy scalars (a count from an array, a label) are written as Python by the fallback
        out: dict[str, Any] = adapter(self.json_form_type()).dump_python(
            self.to_json_form(), mode="json", fallback=_plain, warnings=False)
        return out

    def to_json(self, indent: int | None = None) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls: type[T], d: Any) -> T:
        """Rebuild a result written by :meth:`to_dict`; malformed input raises InputError naming the field."""
        from pydantic import ValidationError

        try:
            form = adapter(cls.json_form_type()).validate_python(d)
        except ValidationError as exc:
            raise _one_line(exc, cls.__name__) from None
        return cls.from_json_form(form)

    @classmethod
    def from_json(cls: type[T], text: str | bytes) -> T:
        """Rebuild a result from :meth:`to_json`'s text."""
        try:
            d = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{cls.__name__}: not JSON ({str(exc)[:200]})") from None
        return cls.from_dict(d)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of :meth:`to_dict`'s output."""
        return schema_of(cls)
