"""Run every benchmark and print one table per benchmark (``make bench``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import format_table  # noqa: E402

BENCHES = ["bench_dixon_coles", "bench_features", "bench_simulate", "bench_ingest", "bench_f1_sim", "bench_pipeline",
           "bench_f1_skill", "bench_nfl_season", "bench_nfl"]


def main() -> None:
    for name in BENCHES:
        mod = importlib.import_module(name)
        print(f"\n== {name} ==")
        rows = mod.run()
        extra = []
        if isinstance(rows, tuple):  # (rows, a further table)
            rows, *extra = rows
        extra += [r.pop("skill") for r in rows if "skill" in r]
        print(format_table(rows))
        for table in extra:
            print()
            print(format_table(table))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
