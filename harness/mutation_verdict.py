#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""mutation_verdict.py PATCH SUMMARY MANIFEST: was the mutation caught by the tests it names?

PATCH (tests/mutations/NAME.patch) names, in its header, the rows that must fail:
    Must-fail: CORE SUITE TEST
as in summary.tsv (TEST may contain spaces), and groups of rows of which at least one must
fail and any may, for a failure whose place depends on the run (which test a sanitizer's
single report lands in, for example):
    Must-fail-one-of: CORE SUITE TEST | CORE SUITE TEST ...
and rows that may fail but need not, for a detector that sees the bug only when a race lands
(DEBUG_LIST in a concurrent suite, for example); the header says why:
    May-fail: CORE SUITE TEST
SUMMARY is the collection of the mutated core's run against the C core's results of the same
source. The mutation is caught when every named row and a row of every group failed and
nothing else did; a named row of a suite that compares the cores also fails its
`diff differential` row, which need not be named. Prints the verdict, one line per row that
was expected and did not fail or failed and was not expected; exits 0 when caught.
"""

import sys
import tomllib
from pathlib import Path


def parse_row(patch, text):
    words = text.strip().split(None, 2)
    if len(words) != 3:
        raise SystemExit(f"{patch}: a Must-fail row needs CORE SUITE TEST: {text!r}")
    return tuple(words)


def expected_rows(patch):
    """The rows that must fail, the groups of which one must, and the rows that may."""
    rows, groups, optional = set(), [], set()
    header = patch.read_text().split("\n--- ", 1)[0]
    for line in header.splitlines():
        if line.startswith("Must-fail:"):
            rows.add(parse_row(patch, line.removeprefix("Must-fail:")))
        elif line.startswith("Must-fail-one-of:"):
            alternatives = line.removeprefix("Must-fail-one-of:").split("|")
            groups.append({parse_row(patch, alt) for alt in alternatives})
        elif line.startswith("May-fail:"):
            optional.add(parse_row(patch, line.removeprefix("May-fail:")))
    return rows, groups, optional


def with_differential(rows, manifest):
    """@rows and the differential rows that their failures imply."""
    implied = set(rows)
    for core, suite, test in rows:
        if core != "diff" and manifest.get(suite, {}).get("compares"):
            implied.add(("diff", "differential", f"{suite} {test}"))
    return implied


def main():
    patch, summary, manifest_path = map(Path, sys.argv[1:4])
    with open(manifest_path, "rb") as f:
        manifest = tomllib.load(f)
    expected, groups, optional = expected_rows(patch)
    if not expected and not groups:
        print(f"{patch.stem}: no Must-fail lines in {patch}: nothing to check it by")
        return 1
    allowed = with_differential(expected.union(optional, *groups), manifest)
    failed = set()
    for line in summary.read_text().splitlines():
        core, suite, test, result = line.split("\t")
        if result == "fail":
            failed.add((core, suite, test))
    missed = sorted(expected - failed)
    missed_groups = [group for group in groups if not group & failed]
    extra = sorted(failed - allowed)
    for row in missed:
        print(f"    expected to fail, did not: {' '.join(row)}")
    for group in missed_groups:
        print(f"    expected one to fail, none did: {' | '.join(' '.join(r) for r in sorted(group))}")
    for row in extra:
        print(f"    failed, not expected:      {' '.join(row)}")
    named = len(expected) + len(groups)
    if not missed and not missed_groups and not extra:
        print(f"{patch.stem}: caught by its {named} named row(s), nothing else failed")
        return 0
    print(f"{patch.stem}: NOT caught as stated ({named - len(missed) - len(missed_groups)} of "
          f"{named} named rows failed, {len(extra)} other row(s) failed)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
