"""Print every benchmark's figures in one table and write them to results/summary.json."""

import json
import os
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


DATABASES = ("sqlite", "postgresql")


def main(names: list[str]) -> int:
    """The figures of ``names`` on the database of this run (TRACKER_BENCH_DB), a missing
    result counted as a failure, followed by those of the other database where present."""
    current = os.environ.get("TRACKER_BENCH_DB", "sqlite")
    rows = []
    for db in sorted(DATABASES, key=lambda d: d != current):
        for name in names:
            path = RESULTS / (f"{name}.json" if db == "sqlite" else f"{name}.{db}.json")
            if not path.exists():
                if db == current:
                    rows.append({"bench": name, "db": db,
                                 "figure": "(no result: the benchmark failed)",
                                 "value": "-", "target": "-", "met": False})
                continue
            rows += [{"bench": name, "db": db, **row} for row in json.loads(path.read_text())]
    (RESULTS / "summary.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2))
    columns = ("db", "bench", "figure", "value", "target")
    widths = [max(len(str(r[k])) for r in rows + [{k: k}]) for k in columns]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(columns, widths)) + "  met")
    for r in rows:
        cells = [str(r[k]).ljust(w) for k, w in zip(columns, widths)]
        print("  ".join(cells) + ("  yes" if r["met"] else "  NO"))
    missed = [r for r in rows if not r["met"]]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} figures meet their targets "
          f"(results in {RESULTS / 'summary.json'}).")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
