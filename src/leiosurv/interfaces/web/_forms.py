"""The findings form: its fields (from the core's ``Findings`` model) and form data -> findings mapping.

The fields, their choices and help texts come from the clinical core's pydantic
models, so a finding added to the core appears in the form; nothing here decides
anything clinical.  Empty fields are left out (the core reads them as unknown).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass

from pydantic import BaseModel

from leiosurv.clinical import Findings, evidence
from leiosurv.exceptions import FindingsError

__all__ = ["FormField", "FINDINGS_SECTIONS", "findings_from_form", "errors_by_field", "CATEGORY_CHOICES"]


@dataclass(frozen=True)
class FormField:
    name: str          # dotted path, also the form field's name
    label: str
    kind: str          # "select", "number", "date", "text"
    choices: tuple[str, ...] = ()
    help: str = ""
    default: str = ""


def _unwrap(ann):
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            ann = args[0]
        else:
            return ann


def _fields(model: type[BaseModel], prefix: str = "") -> list[FormField]:
    out: list[FormField] = []
    for name, info in model.model_fields.items():
        if name in ("confirmed_diagnosis", "case_id"):
            continue
        ann = _unwrap(info.annotation)
        path = f"{prefix}{name}"
        label = name.replace("_", " ")
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _fields(ann, path + ".")
            continue
        default = info.default if isinstance(info.default, str) else ""
        if typing.get_origin(ann) is typing.Literal:
            out.append(FormField(path, label, "select", tuple(typing.get_args(ann)), info.description or "", default))
        elif ann in (int, float):
            out.append(FormField(path, label, "number", help=info.description or ""))
        elif getattr(ann, "__name__", "") == "date":
            out.append(FormField(path, label, "date", help=info.description or ""))
        else:
            out.append(FormField(path, label, "text", help=info.description or ""))
    return out


_ALL = _fields(Findings)
_GROUPS = [
    ("Lesion", lambda f: "." not in f.name and f.name in (
        "excision_date", "site", "site_region", "depth", "size_mm", "subcutis_involvement", "subcutis_involvement_mm",
        "growth_pattern", "margins", "margin_distance_mm")),
    ("Patient", lambda f: f.name.startswith("patient.")),
    ("Histology", lambda f: "." not in f.name and f.name in (
        "smooth_muscle_morphology", "atypia", "pleomorphism", "necrosis", "perineural_invasion",
        "intravascular_invasion", "prominent_inflammatory_infiltrate", "solar_elastosis", "near_haploidization",
        "fnclcc_grade")),
    ("Mitoses", lambda f: f.name.startswith("mitoses.")),
    ("Immunohistochemistry", lambda f: f.name.startswith("immunohistochemistry.")),
    ("History", lambda f: f.name.startswith("history.") or f.name in ("distant_lesion", "metastasis_workup")),
]
FINDINGS_SECTIONS: list[tuple[str, list[FormField]]] = [
    (title, [f for f in _ALL if pick(f)]) for title, pick in _GROUPS]
_placed = {f.name for _, fs in FINDINGS_SECTIONS for f in fs}
_rest = [f for f in _ALL if f.name not in _placed]
if _rest:
    FINDINGS_SECTIONS.append(("Other", _rest))
FIELD_NAMES = {f.name for f in _ALL} | {"confirmed_diagnosis"}
_NUMERIC = {f.name for f in _ALL if f.kind == "number"}
CATEGORY_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (cid, getattr(c, "name", None) or getattr(c, "label", None) or cid) for cid, c in evidence.CATEGORIES.items())


def findings_from_form(form: typing.Mapping[str, str]) -> dict:
    """The nested findings mapping from flat form fields (``mitoses.count`` -> ``{"mitoses": {"count": ..}}``).

    Empty values are left out; numbers are parsed as numbers when they look like
    one (otherwise the text goes to the core, which names the field in its error).
    """
    out: dict = {}
    for name in FIELD_NAMES:
        raw = form.get(name)
        if raw is None:
            continue
        value: object = str(raw).strip()
        if value == "":
            continue
        if name in _NUMERIC:
            try:
                value = float(value) if any(ch in str(value) for ch in ".eE") else int(str(value))
            except ValueError:
                pass
        node = out
        parts = name.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def errors_by_field(exc: FindingsError) -> dict[str, str]:
    """Field path -> message, for showing each error next to its field (others under ``_form``)."""
    out: dict[str, str] = {}
    for e in exc.errors:
        key = e.path if e.path in FIELD_NAMES else "_form"
        msg = e.message if key != "_form" else str(e)
        out[key] = (out[key] + "; " + msg) if key in out else msg
    return out
