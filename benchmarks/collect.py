"""Assemble benchmarks/RESULTS.md from the section files in benchmarks/results/.

Each benchmark script writes its own section (``aj_goals.md``, ``aj_speed.md``,
``coverage.md``, ``study_scale.md``); this joins them in a fixed order under one header, so a
re-run of one benchmark never clobbers another's results.

    python benchmarks/collect.py
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["aj_goals.md", "aj_speed.md", "coverage.md", "study_scale.md", "registry_scale_sqlite.md",
         "registry_scale_postgresql.md", "registry_scale_sqlite_spread.md", "registry_scale_sqlite_spread_1e6.md",
         "web_speed.md", "web_speed_1e6_patients.md",
         "web_speed_demo_registry_SQLite_1_process_run_beside_the_2_worker_PostgreSQL_run.md", "web_speed_demo_registry_PostgreSQL_2_workers.md"]

HEADER = """# Benchmark results

Measured, not asserted: each section below was written by the script it names,
with the command, the machine and the date. Nothing here is a timed test.
Re-assemble with `python benchmarks/collect.py` after re-running a benchmark.
"""


def main() -> None:
    parts = [HEADER]
    sections = sorted((HERE / "results").glob("*.md"), key=lambda p: (ORDER.index(p.name) if p.name in ORDER else 99, p.name))
    for p in sections:
        parts.append(p.read_text().strip() + "\n")
    if len(parts) == 1:
        parts.append("_No results yet._\n")
    (HERE / "RESULTS.md").write_text("\n".join(parts))
    print(f"wrote {HERE / 'RESULTS.md'} from {[p.name for p in sections]}")


if __name__ == "__main__":
    main()
