#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""mutation_verdict.py PATCH SUMMARY MANIFEST: was the mutation caught by the tests it names?

PATCH (tests/mutations/NAME.patch) names, in its header, the rows that must fail:
    Must-fail: CORE SUITE TEST
as in summary.tsv (TEST may contain spaces). SUMMARY is the collection of the mutated core's
run against the C core's results of the same source. The mutation is caught when every named
row failed and nothing else did; a named row of a suite that compares the cores also fails
its `diff differential` row, which need not be named. Prints the verdict, one line per row that
was expected and did not fail or failed and was not expected; exits 0 when caught.
"""

import sys
import tomllib
from pathlib import Path


def expected_rows(patch):
    rows, header = set(), patch.read_text().split("\n--- ", 1)[0]
    for line in header.splitlines():
        if line.startswith("Must-fail:"):
            words = line.removeprefix("Must-fail:").split(None, 2)
            if len(words) != 3:
                raise SystemExit(f"{patch}: a Must-fail line needs CORE SUITE TEST: {line!r}")
            rows.add(tuple(words))
    return rows


def main():
    patch, summary, manifest_path = map(Path, sys.argv[1:4])
    with open(manifest_path, "rb") as f:
        manifest = tomllib.load(f)
    expected = expected_rows(patch)
    if not expected:
        print(f"{patch.stem}: no Must-fail lines in {patch}: nothing to check it by")
        return 1
    implied = set(expected)
    for core, suite, test in expected:
        if core != "diff" and manifest.get(suite, {}).get("compares"):
            implied.add(("diff", "differential", f"{suite} {test}"))
    failed = set()
    for line in summary.read_text().splitlines():
        core, suite, test, result = line.split("\t")
        if result == "fail":
            failed.add((core, suite, test))
    missed = sorted(expected - failed)
    extra = sorted(failed - implied)
    for row in missed:
        print(f"    expected to fail, did not: {' '.join(row)}")
    for row in extra:
        print(f"    failed, not expected:      {' '.join(row)}")
    if not missed and not extra:
        print(f"{patch.stem}: caught by its {len(expected)} named row(s), nothing else failed")
        return 0
    print(f"{patch.stem}: NOT caught as stated ({len(expected) - len(missed)} of "
          f"{len(expected)} named rows failed, {len(extra)} other row(s) failed)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
