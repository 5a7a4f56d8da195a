"""The demo bot's triage accuracy, offline (scripted patient, real conversation loop), on the bundled library,
on the held-out vignettes in tests/data/heldout_triage.json and on the fresh ones in
tests/data/heldout_triage_fresh.json, for both styles, with confusion matrices;
and the rule phrases that match a single bundled case and nothing in the held-out set.

    python -m bench.triage_accuracy
"""

from __future__ import annotations

import json

from tests.triage_harness import (
    HELD_OUT_PATH,
    accuracy,
    format_confusion,
    held_out_cases,
    library_cases,
    run_cases,
    single_case_phrases,
)

# Infant fever, overdose and self-harm vignettes (and home-care controls) written to check the demo bot's rules
# generalise beyond the library's EM-22 and EM-23; see tests/engine/test_demo_bot.py.
FRESH_PATH = HELD_OUT_PATH.with_name("heldout_triage_fresh.json")


def main() -> None:
    library, held_out = library_cases(), held_out_cases()
    fresh = json.loads(FRESH_PATH.read_text(encoding="utf-8"))
    for style in ("careful", "hasty"):
        for label, cases in (("library", library), ("held-out", held_out), ("fresh vignettes", fresh)):
            results = run_cases(cases, style)
            print(f"== {style} on {label} ({len(cases)} cases): {accuracy(results):.1%}")
            print(format_confusion(results))
            wrong = [f"{key} {gold}->{got}" for key, gold, got in results if gold != got]
            print("   wrong:", ", ".join(wrong) or "none")
    single = single_case_phrases(library, held_out)
    print(f"== rule phrases matching exactly one bundled case and no held-out case: {len(single)}")
    for rule, phrase, key in single:
        print(f"   {rule:<28} {key:<6} {phrase}")


if __name__ == "__main__":
    main()
