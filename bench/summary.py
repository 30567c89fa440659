"""Print every benchmark's figures in one table and write them to results/summary.json."""

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main(names: list[str]) -> int:
    rows = []
    for name in names:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            rows.append({"bench": name, "figure": "(no result: the benchmark failed)",
                         "value": "-", "target": "-", "met": False})
            continue
        rows += [{"bench": name, **row} for row in json.loads(path.read_text())]
    (RESULTS / "summary.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2))
    widths = [max(len(str(r[k])) for r in rows + [{k: k}]) for k in
              ("bench", "figure", "value", "target")]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(("bench", "figure", "value", "target"), widths))
          + "  met")
    for r in rows:
        cells = [str(r[k]).ljust(w) for k, w in zip(("bench", "figure", "value", "target"),
                                                     widths)]
        print("  ".join(cells) + ("  yes" if r["met"] else "  NO"))
    missed = [r for r in rows if not r["met"]]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} figures meet their targets "
          f"(results in {RESULTS / 'summary.json'}).")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
