"""How many replies of the reader regression set (tests/data/triage_regression.json) a reader gets wrong.

Usage:  python bench/triage_reader_regression.py [path/to/triage.py]
With no path it measures the current reader; to measure an older one, e.g. the reader before issue 12
(commit 4d8c95c):
    git show 4d8c95c:preclinical/domain/triage.py > /tmp/old_triage.py
    python bench/triage_reader_regression.py /tmp/old_triage.py
A level-labelled reply is wrong when a different level (or none) is read; an `ambiguous` or
`unreadable` reply is wrong when the reader returns a level or the other status.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.unit.test_triage_regression import CASES, transcript_for  # noqa: E402

LEVELS = ("Emergency", "Clinician", "Home care")


def load(path: str | None):
    if path is None:
        from preclinical.domain import triage

        return triage
    spec = importlib.util.spec_from_file_location("reader_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["reader_under_test"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    reader = load(sys.argv[1] if len(sys.argv) > 1 else None)
    wrong = []
    for i, case in enumerate(CASES):
        got = reader.extract_disposition(transcript_for(case))
        if case["level"] in LEVELS:
            ok = got.level == case["level"]
        else:
            ok = got.level is None and getattr(got, "status", None) == case["level"]
        if not ok:
            wrong.append((i, case, got))
    labelled = sum(1 for c in CASES if c["level"] in LEVELS)
    print(f"{len(wrong)} of {len(CASES)} replies read wrongly "
          f"({sum(1 for _, c, _ in wrong if c['level'] in LEVELS)} of {labelled} with a level label)")
    print("by category:", dict(Counter(c["category"] for _, c, _ in wrong).most_common()))
    for i, case, got in wrong:
        print(f"  #{i:03d} {case['category']:<17} want {case['level']:<10} got {got.level!s:<10} {case['replies'][-1][:80]}")


if __name__ == "__main__":
    main()
