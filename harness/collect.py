#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Collect the results of `make test` into out/results/summary.tsv.

Reads, for each core, the serial console of its test boot (KUnit TAP printed at boot:
dmabuf_kunit, the Rust doctests and our own suites), the kselftests' TAP files and IGT's
results.json, and writes one line per test: core, suite, test, result (pass, fail or skip).
A kernel splat (BUG, WARNING, lockdep, KASAN, Oops, panic) in a console log is recorded as a
failed `kernel/no-splat` test of that core. Prints a table of suites by core and ends with
`N passed, M failed, K skipped`; exits 1 when anything failed.
"""

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
TAP_RESULT = re.compile(r"^(not ok|ok) \d+ (?:- )?(.*?)(?:\s+#\s*(SKIP|skip|TODO)\b.*)?$")
SPLAT = re.compile(
    r"(\bBUG:|\bWARNING:|\bOops\b|Kernel panic|KASAN:|UBSAN:|general protection fault|"
    r"INFO: task .* blocked|detected stalls|INFO: possible|INFO: trying to register non-static key)"
)

# Suites that run on one core only, with the reason; the differential check leaves them out.
ONE_CORE_SUITES = {
    "kunit:dma_buf_lock_misuse": (
        "rust",
        "breaks every lock rule on purpose; the C core deadlocks on several",
    ),
}
# Between these console markers the lock-misuse module runs (on the C core only its suite of
# in-tree drivers' misuses): the core's warnings about the broken rules, and about a buggy
# exporter's results, are expected there (and only there), any other splat is not. The Rust
# core warns from its own files (rules.rs first), the C core from dma-buf.c's lockdep asserts.
MISUSE_BEGIN, MISUSE_END = "dmabuf-rs: lock-misuse begin", "dmabuf-rs: lock-misuse end"
MISUSE_WARNING = re.compile(r"WARNING: .*drivers/dma-buf/(rust/\w+\.rs|dma-buf\.c):")


def tap_result(word, directive):
    if directive and directive.upper() == "SKIP":
        return "skip"
    return "pass" if word == "ok" else "fail"


def kunit(console):
    """KUnit TAP from a console log: one row per test case of each suite.

    Suites print at indentation 4 under the top level; parameterised cases nest deeper and
    are summed up by their parent's line, so only depth 1 is read.
    """
    rows, suite = [], None
    for raw in console:
        line = TIMESTAMP.sub("", raw.rstrip("\n"))
        m = re.match(r"^    # Subtest: (\S+)", line)
        if m:
            suite = m.group(1)
            continue
        m = TAP_RESULT.match(line[4:]) if line.startswith("    ") and not line.startswith("     ") else None
        if m and suite:
            rows.append(("kunit:" + suite, m.group(2).strip(), tap_result(m.group(1), m.group(3))))
    return rows


def tap_file(path, suite):
    """One row per top-level result of a TAP file; a file without any is a failed run."""
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        m = TAP_RESULT.match(line)
        if m:
            rows.append((suite, m.group(2).strip(), tap_result(m.group(1), m.group(3))))
    if not rows:
        rows.append((suite, "ran", "fail"))
    return rows


def kselftest(path, suite):
    return tap_file(path, "kselftest:" + suite)


def igt(path):
    results = json.loads(path.read_text())
    rows = []
    for name, test in sorted(results.get("tests", {}).items()):
        r = test.get("result", "fail")
        result = {"pass": "pass", "skip": "skip", "notrun": "skip"}.get(r, "fail")
        binary, _, sub = name.removeprefix("igt@").partition("@")
        rows.append(("igt:" + binary, sub or binary, result))
    return rows


# i915's mock selftests, from the dmesg excerpt that test.sh writes to i915-mock.log. The
# kernel prints (drivers/gpu/drm/i915/selftests/i915_selftest.c):
#   i915: Performing mock selftests with st_random_seed=0x... st_timeout=500   (l. 244)
#   i915: Running <group>                          a group of i915_mock_selftests.h (l. 278)
#   i915: Running <caller>/<subtest>               a subtest of that group (l. 515)
#   i915/<caller>: <subtest> failed with error <e>   (l. 520); the whole run stops there
#   i915/<caller>: setup failed for <subtest>        (l. 510; cannot happen for mock tests)
# <caller> is the C function of the group (i915_gem_dmabuf_mock_selftests). No line says
# pass or skip: a subtest passed when the run went on past it. test.sh appends the module
# parameter mock_selftests: -25 (-ENOTTY) when every enabled test passed, otherwise the
# first error (-4 when the timeout interrupted the run), "none" when i915 did not load.
I915_PERFORMING = re.compile(r"\bi915: Performing mock selftests\b")
I915_RUNNING = re.compile(r"\bi915: Running (\S+)\s*$")
I915_FAILED = re.compile(r"\bi915/(\S+): (\S+) failed with error (-?\d+)")
I915_SETUP_FAILED = re.compile(r"\bi915/(\S+): setup failed for (\S+)")
I915_VERDICT = re.compile(r"^# mock_selftests=(\S+)")
I915_ENOTTY = -25
# The subtests a group must report when it runs (i915_gem_dmabuf_mock_selftests() in
# gem/selftests/i915_gem_dmabuf.c): a missing one fails, or is skipped after a failure.
I915_EXPECTED = {
    "dmabuf": [
        "igt_dmabuf_export",
        "igt_dmabuf_import_self",
        "igt_dmabuf_import",
        "igt_dmabuf_import_ownership",
        "igt_dmabuf_export_vmap",
    ],
}


def i915_mock(path, suite="i915:mock"):
    """Rows (suite, "<group>/<subtest>", result) of i915's mock selftests, and problems.

    A group without subtests (sanitycheck, uncore) is one row "<group>". A missing log, a
    module that did not load or a run that never started is one failed row `ran`.
    """
    def not_run(why):
        return [(suite, "ran", "fail")], [f"i915 mock selftests: {why} ({path})"]

    if not path.exists():
        return not_run("no log, they did not run")
    started, verdict, group = False, None, None
    tests = []  # [group, row name, result], in the order they started
    index = {}  # (caller, subtest) -> position in tests
    for raw in path.read_text(errors="replace").splitlines():
        line = TIMESTAMP.sub("", raw.rstrip())
        if m := I915_VERDICT.match(line):
            verdict = m.group(1)
        elif I915_PERFORMING.search(line):
            started = True
        elif m := I915_RUNNING.search(line):
            caller, _, sub = m.group(1).partition("/")
            if sub:
                index[(caller, sub)] = len(tests)
                tests.append([group, f"{group}/{sub}", "pass"])
            else:
                group = caller
                tests.append([group, group, "pass"])
        elif m := I915_FAILED.search(line) or I915_SETUP_FAILED.search(line):
            i = index.get((m.group(1), m.group(2)))
            if i is not None:
                tests[i][2] = "fail"
    if verdict is None:
        return not_run("no verdict, the job did not finish")
    if not re.fullmatch(r"-?\d+", verdict):
        return not_run(f"i915 did not load (mock_selftests={verdict})")
    if not started:
        return not_run("i915 loaded but never started them")

    err, problems = int(verdict), []
    if err != I915_ENOTTY:
        problems.append(f"i915 mock selftests ended with error {err} ({path})")
        if tests and not any(t[2] == "fail" for t in tests):
            # Interrupted (-EINTR from the timeout) or a group failed outside its subtests
            # (mock_gem_device() returning NULL gives -ENOMEM): blame the last one started.
            tests[-1][2] = "fail"
    # A group's own row is kept only when it has no subtest rows, or when it failed.
    with_subtests = {g for g, name, _ in tests if name != g}
    rows = [(suite, name, result) for g, name, result in tests
            if name != g or g not in with_subtests or result == "fail"]
    seen = {name for _, name, _ in rows}
    for g in sorted({t[0] for t in tests} & I915_EXPECTED.keys()):
        for sub in I915_EXPECTED[g]:
            if f"{g}/{sub}" not in seen:
                # After a failure the rest of the run is skipped; otherwise the subtest is
                # gone (renamed?) and the expectations need an update.
                rows.append((suite, f"{g}/{sub}", "skip" if problems else "fail"))
                problems.append(f"i915 mock selftest {g}/{sub} did not run ({path})")
    if not rows:
        return not_run("no selftest ran")
    return rows, problems


def splats(console):
    """The splats of a console log, and the number of expected lock-misuse warnings."""
    found, expected, in_misuse = [], 0, False
    for line in console:
        if MISUSE_BEGIN in line:
            in_misuse = True
        elif MISUSE_END in line:
            in_misuse = False
        elif in_misuse and MISUSE_WARNING.search(line):
            expected += 1
        elif SPLAT.search(line):
            found.append(line.rstrip())
    return found, expected


def bufinfo_snapshot(path):
    """The row of the bufinfo snapshot (bufinfo_snapshot in our kselftests), and its shape.

    The snapshot must list the buffers the program made, by name, with a device attached; its
    shape (the text with every number replaced) must be the same on both cores, which
    `bufinfo_differences` checks.
    """
    if not path.exists():
        return [("bufinfo", "snapshot", "fail")], None, [f"no bufinfo snapshot ({path})"]
    text = path.read_text(errors="replace")
    wanted = ("snapshot-heap", "snapshot-udmabuf", "Attached Devices:", "Total 3 objects")
    missing = [w for w in wanted if w not in text]
    if missing:
        return [("bufinfo", "snapshot", "fail")], None, [
            f"bufinfo snapshot {path} lacks {', '.join(missing)}"
        ]
    return [("bufinfo", "snapshot", "pass")], re.sub(r"[0-9]+", "N", text), []


def bufinfo_differences(shapes):
    """A failed `differential` row if the bufinfo snapshots differ in shape between the cores."""
    cores = sorted(shapes)
    if len(cores) < 2 or any(shapes[c] is None for c in cores):
        return [], []
    first = shapes[cores[0]].splitlines()
    for core in cores[1:]:
        other = shapes[core].splitlines()
        if first != other:
            where = next((i for i, (a, b) in enumerate(zip(first, other)) if a != b),
                         min(len(first), len(other)))
            a = first[where] if where < len(first) else "(end)"
            b = other[where] if where < len(other) else "(end)"
            return [("diff", "differential", "bufinfo shape", "fail")], [
                f"bufinfo differs in shape, line {where + 1}: {cores[0]} {a!r}, {core} {b!r}"
            ]
    return [], []


def required_tap(core, path, suite, rows, problems):
    """The rows of a TAP file that every run writes; a missing one is a failed `ran` row."""
    if path.exists():
        rows += [(core, *r) for r in tap_file(path, suite)]
    else:
        rows.append((core, suite, "ran", "fail"))
        problems.append(f"{core}: {suite} did not run (no {path})")


def collect(out, cores):
    rows, problems, shapes = [], [], {}
    for core in cores:
        res = out / "results" / core
        log = out / f"console-{core}-test.log"
        required_tap(core, res / "compile-fail.tap", "build:compile-fail", rows, problems)
        required_tap(core, res / "build-exports.tap", "build:exports", rows, problems)
        if not log.exists():
            problems.append(f"{core}: no console log {log}")
            rows.append((core, "kernel", "booted", "fail"))
            continue
        console = log.read_text(errors="replace").splitlines()
        rows += [(core, *r) for r in kunit(console)]
        for tap in sorted(res.glob("kselftest-*.tap")):
            rows += [(core, *r) for r in kselftest(tap, tap.stem.removeprefix("kselftest-"))]
        i915_rows, i915_problems = i915_mock(res / "i915-mock.log")
        rows += [(core, *r) for r in i915_rows]
        problems += [f"{core}: {p}" for p in i915_problems]
        required_tap(core, res / "trace-dma_buf.tap", "trace:dma_buf", rows, problems)
        snap_rows, shapes[core], snap_problems = bufinfo_snapshot(res / "bufinfo-live.txt")
        rows += [(core, *r) for r in snap_rows]
        problems += [f"{core}: {p}" for p in snap_problems]
        results_json = res / "igt" / "results.json"
        if results_json.exists():
            rows += [(core, *r) for r in igt(results_json)]
        else:
            rows.append((core, "igt", "results.json", "fail"))
            problems.append(f"{core}: IGT wrote no results.json ({res / 'igt-runner.log'})")
        # A suite whose every test skipped tested nothing: that is a broken setup, not a pass.
        for suite in sorted({r[1] for r in rows if r[0] == core}):
            results = {r[3] for r in rows if r[0] == core and r[1] == suite}
            if results == {"skip"}:
                rows.append((core, suite, "not-all-skipped", "fail"))
        found, expected = splats(console)
        rows.append((core, "kernel", "no-splat", "fail" if found else "pass"))
        for suite, (only, _) in ONE_CORE_SUITES.items():
            if only == core and not any(r[0] == core and r[1] == suite for r in rows):
                rows.append((core, suite, "ran", "fail"))
                problems.append(f"{core}: {suite} did not run")
        # Each misuse of the module gets a warning, on either core: none at all means the
        # checks are not there.
        rows.append((core, "kernel", "lock-misuse-warned", "pass" if expected else "fail"))
        for s in found[:10]:
            problems.append(f"{core}: splat in {log}: {s}")
    return rows, problems, shapes


def differences(rows, cores):
    """Tests whose result is not the same on every core (or that ran on only some of them).

    The cores must behave alike, so each difference is a failed row of the suite `differential`,
    under the pseudo-core `diff`, named after the suite and test that differ.
    """
    results = defaultdict(dict)
    for core, suite, test, result in rows:
        results[(suite, test)][core] = result
    diff_rows, problems = [], []
    for (suite, test), by_core in sorted(results.items()):
        if suite in ONE_CORE_SUITES:
            continue
        seen = [by_core.get(c, "missing") for c in cores]
        if len(set(seen)) > 1:
            diff_rows.append(("diff", "differential", f"{suite} {test}", "fail"))
            problems.append(
                f"differs between cores: {suite} {test}: "
                + ", ".join(f"{c} {r}" for c, r in zip(cores, seen))
            )
    return diff_rows, problems


def main():
    out = Path(sys.argv[1])
    cores = sys.argv[2:] or ["c", "rust"]
    rows, problems, shapes = collect(out, cores)
    if len(cores) > 1:
        diff_rows, diff_problems = differences(rows, cores)
        rows += diff_rows
        problems += diff_problems
        diff_rows, diff_problems = bufinfo_differences(shapes)
        rows += diff_rows
        problems += diff_problems
    summary = out / "results" / "summary.tsv"
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text("".join("\t".join(r) + "\n" for r in rows))

    table = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for core, suite, _, result in rows:
        table[suite][core][["pass", "fail", "skip"].index(result)] += 1
    width = max([len(s) for s in table] + [5])
    print(f"{'suite':<{width}}  " + "  ".join(f"{c + ' pass/fail/skip':>22}" for c in cores))
    for suite in sorted(table):
        cells = ("/".join(map(str, table[suite][c])) if c in table[suite] else "-" for c in cores)
        print(f"{suite:<{width}}  " + "  ".join(f"{cell:>22}" for cell in cells))
    for p in problems:
        print(p)
    failed = [r for r in rows if r[3] == "fail"]
    for r in failed[:40]:
        print("FAIL: " + "\t".join(r))
    counts = {k: sum(1 for r in rows if r[3] == k) for k in ("pass", "fail", "skip")}
    print(f"summary: {summary}")
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return 1 if counts["fail"] or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
