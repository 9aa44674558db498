"""Import files for the import tests: each keyword's text written to ``<keyword>.csv``."""

from __future__ import annotations


def write_csvs(tmp_path, **files):
    """Write each ``name=text`` to ``tmp_path/name.csv``; the paths, in the order given."""
    out = []
    for name, text in files.items():
        p = tmp_path / f"{name}.csv"
        p.write_text(text)
        out.append(p)
    return out
