"""The research export holds coded fields and day offsets only, and says exactly which columns it holds.

Before: free text typed into a death's cause, a treatment's agent or an
encounter's kind (a name, a birth date) was copied verbatim into
``export --research``, which says it holds no names or birth dates.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from leiosurv.exceptions import InputError
from leiosurv.interfaces.cli import main
from leiosurv.registry import RESEARCH_COLUMNS, Registry

LEAK = "Maria Example 1950-03-04"
SECRETS = ("Maria", "Example", "1950", "03-04", "PSEUDO")


def _registry_with_free_text(reg: Registry) -> None:
    reg.add_patient("PSEUDO-77", sex="female", name="Maria Example", birth_date="1950-03-04", note=LEAK)
    reg.add_tumour("PSEUDO-77", "T", {"excision_date": "2020-01-15", "depth": "dermal", "margins": "positive"},
                   as_of=dt.date(2020, 2, 1))
    reg.add_observation("PSEUDO-77", "lesion", LEAK, "2020-03-01", 90, site=LEAK, as_of=dt.date(2020, 3, 1))
    reg.record_encounter("PSEUDO-77", date="2020-06-01", kind=LEAK, modality=LEAK, provider=LEAK, findings=LEAK,
                         tumour="T", as_of=dt.date(2020, 6, 1))
    reg.record_encounter("PSEUDO-77", date="2020-07-15", plan_item="visit-m006", findings=LEAK,
                         as_of=dt.date(2020, 8, 1))
    reg.record_event("PSEUDO-77", "metastasis", "2021-01-15", site="lung", note=LEAK, as_of=dt.date(2021, 2, 1))
    reg.record_treatment("PSEUDO-77", "systemic", "2021-02-01", agent=LEAK, note=LEAK, as_of=dt.date(2021, 2, 1))
    reg.record_event("PSEUDO-77", "death", "2022-01-15", cause=LEAK, note=LEAK, as_of=dt.date(2022, 2, 1))


def test_free_text_never_reaches_the_research_export(reg):
    _registry_with_free_text(reg)
    tables = reg.research_export()
    text = "\n".join(df.to_csv(index=False) for df in tables.values())
    for secret in SECRETS:
        assert secret not in text, secret
    assert {n: list(df.columns) for n, df in tables.items()} == {n: list(c) for n, c in RESEARCH_COLUMNS.items()}
    assert tables["events"]["kind"].tolist() == ["metastasis", "death"]
    assert tables["events"]["day"].tolist() == [366, 731]
    assert tables["treatments"][["kind", "day"]].values.tolist() == [["systemic", 383]]
    enc = tables["encounters"]
    assert set(enc["origin"]) == {"ad_hoc", "planned"} and set(enc["done_day"].dropna()) == {138, 182}


def _readme_columns(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"## (\w+)\.csv ", line)
        if m:
            current = out.setdefault(m[1], [])
        m = re.match(r"- `(\w+)`: ", line)
        if m and current is not None:
            current.append(m[1])
    return out


def test_the_readme_lists_exactly_the_columns_of_each_file(db_url, tmp_path, capsys):
    reg = Registry(db_url, create=True)
    _registry_with_free_text(reg)
    out = tmp_path / "research"
    assert main(["registry", "--db", db_url, "export", "--research", "--out", str(out)]) == 0
    capsys.readouterr()
    readme = (out / "README.md").read_text()
    files = {p.stem: list(pd.read_csv(p, nrows=0).columns) for p in sorted(out.glob("*.csv"))}
    assert _readme_columns(readme) == files and set(files) == set(RESEARCH_COLUMNS)
    every = readme + "".join(p.read_text() for p in out.glob("*.csv"))
    for secret in SECRETS:
        assert secret not in every, secret


@pytest.mark.parametrize("birth_date", ["1950-02-30", "03/04/1950", "19500304", "1850-03-04"])
def test_no_message_shows_an_identifying_value(reg, birth_date):
    with pytest.raises(InputError) as e:
        reg.add_patient("P1", name="Maria Example", birth_date=birth_date)
    assert "birth_date" in str(e.value)
    for part in re.split(r"[-/]", birth_date) + ["Maria", "Example"]:
        assert part not in str(e.value), (part, str(e.value))
