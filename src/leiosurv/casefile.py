"""Reading case files (YAML or JSON) into validated findings: the clinical core's input edge.

The CLI, the registry and the web app all read case files through
:func:`load_case` / :func:`parse_case_text`.  Hostile or broken input fails
fast, as one :class:`~leiosurv.exceptions.FindingsError` naming the line or
field:

* files larger than :data:`MAX_BYTES`, non-UTF-8 text;
* duplicate keys (YAML and JSON), YAML aliases and anchors (no alias-expansion
  bombs), nesting deeper than :data:`MAX_DEPTH`;
* YAML timestamps are not converted: a date must be written ``YYYY-MM-DD``
  and is checked by the findings model (``2023-02-30``, year 0, a bare number
  such as ``excision_date: 0``, and dates before 1900 are refused);
* non-finite numbers (``.inf``, ``1e400``) and true/false as numbers are refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from leiosurv.clinical.findings import Findings, parse_findings
from leiosurv.exceptions import FieldIssue, FindingsError
from leiosurv.files import short

__all__ = ["load_case", "parse_case_text", "MAX_BYTES", "MAX_DEPTH"]

MAX_BYTES = 1_000_000
"""A case file is a few kilobytes; anything above this is refused unread."""
MAX_DEPTH = 8
"""The findings model nests three levels deep; deeper input is refused."""


class _CaseLoader(yaml.SafeLoader):
    """SafeLoader without timestamps and aliases, with duplicate-key and depth checks."""

    _depth = 0


_CaseLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _compose_node(self: _CaseLoader, parent: Any, index: Any) -> Any:
    if self.check_event(yaml.AliasEvent):
        ev = self.peek_event()  # type: ignore[no-untyped-call]
        raise yaml.constructor.ConstructorError(None, None, "YAML aliases are not allowed in a case file",
                                                ev.start_mark)
    ev = self.peek_event()  # type: ignore[no-untyped-call]
    if getattr(ev, "anchor", None):
        raise yaml.constructor.ConstructorError(None, None, "YAML anchors are not allowed in a case file",
                                                ev.start_mark)
    self._depth += 1
    try:
        if self._depth > MAX_DEPTH:
            raise yaml.constructor.ConstructorError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                                    ev.start_mark)
        return yaml.SafeLoader.compose_node(self, parent, index)
    finally:
        self._depth -= 1


def _construct_mapping(self: _CaseLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = self.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {short(key, 60)!r}",
                                                    key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(self, node, deep=deep)


_CaseLoader.compose_node = _compose_node  # type: ignore[method-assign,assignment]
_CaseLoader.construct_mapping = _construct_mapping  # type: ignore[method-assign,assignment]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {short(k, 60)!r}")
        out[k] = v
    return out


def _depth_of(obj: Any, level: int = 0) -> int:
    if isinstance(obj, dict):
        return max([_depth_of(v, level + 1) for v in obj.values()], default=level + 1)
    if isinstance(obj, list):
        return max([_depth_of(v, level + 1) for v in obj], default=level + 1)
    return level


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name} is not allowed")


def parse_case_text(text: str, *, source: str = "(case)", as_json: bool = False) -> Findings:
    """Parse YAML (or JSON) case text and validate it; every failure is a :class:`FindingsError`.

    Examples
    --------
    >>> parse_case_text("excision_date: 2024-03-01\\ndepth: dermal\\n").depth
    'dermal'
    >>> parse_case_text("excision_date: 2024-03-01\\ndepth: dermal\\ndepth: bone\\n")
    Traceback (most recent call last):
    ...
    leiosurv.exceptions.FindingsError: (case): line 3: malformed YAML: duplicate key 'depth'
    """
    try:
        if as_json:
            data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
            if _depth_of(data) > MAX_DEPTH:
                raise FindingsError([FieldIssue("(file)", f"nested deeper than {MAX_DEPTH} levels")], source=source)
        else:
            data = yaml.load(text, Loader=_CaseLoader)  # noqa: S506 - _CaseLoader is a restricted SafeLoader
    except json.JSONDecodeError as exc:
        raise FindingsError([FieldIssue(f"line {exc.lineno}", f"malformed JSON: {exc.msg}")], source=source) from None
    except (ValueError, RecursionError) as exc:
        raise FindingsError([FieldIssue("(file)", short(str(exc)))], source=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FindingsError([FieldIssue(where, short(f"malformed YAML: {problem}"))], source=source) from None
    return parse_findings(data, source=source)


def load_case(path: str | os.PathLike[str]) -> Findings:
    """Read and validate a JSON or YAML case file (by extension; anything else is read as YAML).

    Raises
    ------
    FindingsError
        Naming the file and the line or field; the message echoes at most about 200 characters of any value.
    """
    p = Path(path)
    name = short(p.name, 120)
    try:
        if not p.is_file():
            raise FindingsError([FieldIssue("(file)", "no such file" if not p.exists() else "not a regular file",
                                            short(str(p)))])
        if p.stat().st_size > MAX_BYTES:
            raise FindingsError([FieldIssue("(file)", f"larger than {MAX_BYTES} bytes; not a case file")], source=name)
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise FindingsError([FieldIssue("(file)", "not UTF-8 text")], source=name) from None
    except OSError as exc:
        raise FindingsError([FieldIssue("(file)", f"cannot read: {exc.strerror}", short(str(p)))]) from None
    return parse_case_text(text, source=name, as_json=p.suffix.lower() == ".json")
