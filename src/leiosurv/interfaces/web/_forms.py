"""The findings form: its fields (from the core's ``Findings`` model) and form data -> findings mapping.

The fields and their choices come from the clinical core's pydantic models, so a
finding added to the core appears in the form (under "Other" until the display
data places it); labels, help texts, sections and the stain panels come from the
evidence package's display data (``data/display/web.yaml``); nothing here decides
anything clinical.  Empty fields are left out (the core reads them as unknown).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass

from pydantic import BaseModel

from leiosurv.clinical import Findings, evidence
from leiosurv.exceptions import FindingsError

__all__ = ["FormField", "Section", "FINDINGS_SECTIONS", "findings_from_form", "errors_by_field", "CATEGORY_CHOICES",
           "depth_phrase", "CHOICE_WORDS"]


def _display() -> dict:
    """The web app's display wording (``clinical/evidence/data/display/web.yaml``): labels, help, sections."""
    from importlib import resources

    import yaml

    raw = resources.files(evidence.__name__).joinpath("data", "display", "web.yaml").read_bytes()
    return yaml.load(raw, Loader=evidence.YAML_LOADER)


DISPLAY: dict = _display()
CHOICE_WORDS: dict[str, str] = dict(DISPLAY["choices"])


@dataclass(frozen=True)
class FormField:
    name: str          # dotted path, also the form field's name
    label: str
    kind: str          # "select", "number", "date", "text"
    choices: tuple[str, ...] = ()
    help: str = ""
    default: str = ""

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    @property
    def options(self) -> tuple[tuple[str, str], ...]:
        """(value, words) of each choice."""
        return tuple((c, CHOICE_WORDS.get(c, c.replace("_", " "))) for c in self.choices)


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[FormField, ...]
    open: bool = True
    panel: bool = False   # a stain panel (shown as a compact row of stains)


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


def _label(path: str) -> str:
    if path in DISPLAY["labels"]:
        return DISPLAY["labels"][path]
    head, _, stain = path.partition(".")
    if head == "immunohistochemistry" and stain in evidence.STAIN_NAMES:
        return evidence.STAIN_NAMES[stain]
    return path.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def _fields(model: type[BaseModel], prefix: str = "") -> list[FormField]:
    out: list[FormField] = []
    for name, info in model.model_fields.items():
        if name in ("confirmed_diagnosis", "case_id"):
            continue
        ann = _unwrap(info.annotation)
        path = f"{prefix}{name}"
        label = _label(path)
        hint = DISPLAY["help"].get(path) or info.description or ""
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _fields(ann, path + ".")
            continue
        default = info.default if isinstance(info.default, str) else ""
        if typing.get_origin(ann) is typing.Literal:
            out.append(FormField(path, label, "select", tuple(typing.get_args(ann)), hint, default))
        elif ann in (int, float):
            out.append(FormField(path, label, "number", help=hint))
        elif getattr(ann, "__name__", "") == "date":
            out.append(FormField(path, label, "date", help=hint or "YYYY-MM-DD"))
        else:
            out.append(FormField(path, label, "text", help=hint))
    return out


_ALL = _fields(Findings)
_BY_NAME = {f.name: f for f in _ALL}


def _sections() -> list[Section]:
    out = [Section(s["title"], tuple(_BY_NAME[n] for n in s["fields"]), bool(s.get("open", True)))
           for s in DISPLAY["sections"]]
    out += [Section(p["title"], tuple(_BY_NAME["immunohistochemistry." + n] for n in p["stains"]),
                    bool(p.get("open", True)), panel=True) for p in DISPLAY["stain_panels"]]
    placed = {f.name for s in out for f in s.fields}
    rest = tuple(f for f in _ALL if f.name not in placed)
    return out + [Section("Other", rest, True)] if rest else out


FINDINGS_SECTIONS: list[Section] = _sections()
"""The findings form: sections of the findings model's fields, every field once (tests/web/test_pages.py)."""
FIELD_NAMES = {f.name for f in _ALL} | {"confirmed_diagnosis"}
_NUMERIC = {f.name for f in _ALL if f.kind == "number"}
CATEGORY_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (cid, getattr(c, "name", None) or getattr(c, "label", None) or cid) for cid, c in evidence.CATEGORIES.items())


def depth_phrase(depth: str) -> str:
    """Words for a tumour of this depth of origin, for a letter to the patient ("a tumour under the skin ...")."""
    return DISPLAY["depth_phrase"].get(depth) or DISPLAY["depth_phrase"]["unknown"]


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
