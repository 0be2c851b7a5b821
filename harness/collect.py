#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Collect the results of `make test` into out/results/summary.tsv.

Reads, for each core, the serial console of its test boot (KUnit at boot and from the KUnit
modules the job loads, parsed by the kernel's kunit.py), the kselftests' TAP files, IGT's
results.json, i915's mock selftests, bufinfo and kmemleak, and writes one line per result:
core, suite, test, result (pass, fail or skip). tests/manifest.toml says which suites must run
on which core with how many results; a missing suite, a short count, a TAP plan that does not
match, a bail-out, a non-zero exit status, an unexpected skip is a failed row naming the
cause (test names in parentheses are such checks). A kernel splat (BUG, WARNING, lockdep,
KASAN, KFENCE, UBSAN, list corruption, ODEBUG, refcount, RCU stall, hung task, soft lockup) is
a failed `kernel no-splat`, a kmemleak report a failed `kernel no-kmemleak-report`. Results of
the suites that compare the cores must be the same on both (`differential`). Prints a table of
suites by core and ends with `N passed, M failed, K skipped`; exits 1 when anything failed.
"""

import argparse
import json
import re
import subprocess
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
TAP_RESULT = re.compile(r"^(not ok|ok) \d+ (?:- )?(.*?)(?:\s+#\s*(SKIP|skip|TODO)\b.*)?$")
# What the detectors of the test kernels print (dmabuf_sanitize.config): BUG: also covers
# KASAN, KFENCE, soft lockups ("watchdog: BUG: soft lockup") and workqueue lockups.
SPLAT = re.compile(
    r"(\bBUG:|kernel BUG at|\bWARNING:|\bOops\b|Kernel panic|general protection fault|"
    r"KASAN:|KFENCE:|UBSAN:|ODEBUG:|refcount_t:|list_(?:add|del) corruption|\bcorrupted\b.*list|"
    r"INFO: task .* blocked for more than|self-detected stall|detected (?:expedited )?stalls|"
    r"hard LOCKUP|INFO: possible|INFO: trying to register non-static key)"
)
# kmemleak's "N new suspected memory leaks" line after the job's scans is not a splat: its
# report (kmemleak.txt) is judged on its own, known upstream leaks apart.
KMEMLEAK_OBJECT = re.compile(r"^unreferenced object 0x[0-9a-f]+", re.M)
# Leaks of upstream code that is the same with either core, by a function in the object's
# allocation backtrace, with the reason. Each is reported, and does not fail the run.
KNOWN_LEAKS: dict[str, str] = {
    # None: the two leaks of 7.2 these suites found (udmabuf's racing begin_cpu_udmabuf() and
    # st-dma-fence-unwrap's test_unwrap_merge_order) are fixed by patches/0001 and 0002.
}
# The line each sanitizer prints as it starts: a kernel without them cannot see what they see.
SANITIZER_BANNERS = {
    "KASAN": "KernelAddressSanitizer initialized",
    "kmemleak": "kmemleak: Kernel memory leak detector initialized",
    "KFENCE": "kfence: initialized",
}

# Between these console markers the lock-misuse module runs (on the C core only its suite of
# in-tree drivers' misuses): the core's warnings about the broken rules, and about a buggy
# exporter's results, are expected there (and only there), any other splat is not. The Rust
# core warns from its own files (abi/rules.rs first) and from its side of kernel::dma_buf
# (rust/kernel/dma_buf/core_*.rs: a buggy exporter's results), the C core from dma-buf.c's
# lockdep asserts.
MISUSE_BEGIN, MISUSE_END = "dmabuf-rs: lock-misuse begin", "dmabuf-rs: lock-misuse end"
MISUSE_WARNING = re.compile(
    r"WARNING: .*(drivers/dma-buf/rust/[\w/]+\.rs|rust/kernel/dma_buf/core_\w+\.rs"
    r"|drivers/dma-buf/dma-buf\.c):"
)


def tap_result(word, directive):
    if directive and directive.upper() == "SKIP":
        return "skip"
    return "pass" if word == "ok" else "fail"


KTAP_START = re.compile(r"KTAP version \d+\s*$")
TAP_EMPTY_PLAN = re.compile(r"^(?:\[\s*\d+\.\d+\]\s?)?1\.\.0\s*$")
MARKER = re.compile(r"dmabuf-rs: (\S+) (begin|end)\s*$")


def kunit_segments(console):
    """The KTAP documents of a console log, as (name, lines).

    "boot" is KUnit at boot (the built-in suites), from the first KTAP line to the guest job's
    first line; each KUnit module that test.sh loads prints between its markers.
    """
    segments, boot, name, lines = [], [], None, []
    for raw in console:
        line = raw.rstrip("\n")
        if m := MARKER.search(line):
            if m.group(2) == "begin":
                name, lines = m.group(1), []
            elif name == m.group(1):
                if any(KTAP_START.search(x) for x in lines):
                    segments.append((name, lines))
                name = None
            continue
        if name:
            lines.append(line)
        elif "dmabuf-rs guest:" in line:
            if boot:
                segments.insert(0, ("boot", boot))
                boot = None
        elif boot is not None and (boot or KTAP_START.search(line)):
            boot.append(line)
    if boot:
        # The job never started: KUnit at boot is all there is (and may have crashed).
        segments.insert(0, ("boot", boot))
    return segments


def kunit(console, kunit_py, scratch):
    """KUnit results of a console log through the kernel's own parser (kunit.py parse).

    Returns rows (suite "kunit:<name>", test, result) and problems. A parameterised case is one
    row per parameter, "<case>/<parameter>"; a suite that printed no cases (its init failed, or
    it crashed) is one row "(suite)" with its result. kunit.py's complaints (a plan that does
    not match, a missing result, a crash) become a failed "(ktap)" row of the suite they are
    about, or a failed "(ktap <segment>)" row of the kernel when they are about the document.
    """
    rows, problems = [], []
    scratch.mkdir(parents=True, exist_ok=True)
    for name, lines in kunit_segments(console):
        # KUnit filtered to nothing (the stress job's boot: its suites are in the modules it
        # loads) prints an empty plan, which kunit.py calls an error; what had to run is the
        # manifest's to say.
        if any(TAP_EMPTY_PLAN.search(x) for x in lines) and not any("ok " in x for x in lines):
            continue
        # Absolute: kunit.py changes into the kernel tree.
        log = (scratch / f"kunit-{name}.log").resolve()
        js = log.with_suffix(".json")
        log.write_text("\n".join(lines) + "\n")
        js.unlink(missing_ok=True)
        run = subprocess.run(
            [sys.executable, str(kunit_py), "parse", f"--json={js}", str(log)],
            capture_output=True, text=True, check=False,
        )
        errors = [e.split("[ERROR]", 1)[1].strip() for e in run.stdout.splitlines()
                  if "[ERROR]" in e]
        if not js.exists():
            rows.append(("kernel", f"(ktap {name})", "fail"))
            problems.append(f"kunit.py parse failed on {log}: {run.stderr.strip()[-300:]}")
            continue
        top = json.loads(js.read_text())
        for case in top.get("test_cases", []):
            rows.append(("kunit:" + case["name"], "(suite)", KUNIT_RESULT.get(case["status"], "fail")))
        for group in top.get("sub_groups", []):
            suite = "kunit:" + group["name"]
            rows += [(suite, t, r) for t, r in kunit_leaves(group)]
            if group["misc"].get("errors") or group["misc"].get("crashed"):
                rows.append((suite, "(ktap)", "fail"))
                mine = [e for e in errors if e.startswith(f"Test: {group['name']}:")]
                problems.append(f"{suite}: kunit.py: " + ("; ".join(mine) or "parse errors or a crash"))
        if top["misc"].get("errors") and not any(r[1] == "(ktap)" for r in rows):
            rows.append(("kernel", f"(ktap {name})", "fail"))
            problems.append(f"KTAP of {name}: kunit.py: " + ("; ".join(errors) or "parse errors"))
    return rows, problems


KUNIT_RESULT = {"PASS": "pass", "SKIP": "skip"}


def kunit_leaves(group, prefix=""):
    """(test, result) for every leaf of a kunit.py json group, nested cases as a/b."""
    for case in group.get("test_cases", []):
        yield prefix + case["name"], KUNIT_RESULT.get(case["status"], "fail")
    for sub in group.get("sub_groups", []):
        yield from kunit_leaves(sub, f"{prefix}{sub['name']}/")


TAP_PLAN = re.compile(r"^1\.\.(\d+)")
TAP_BAIL = re.compile(r"^Bail out!\s*(.*)")
EXIT_STATUS = re.compile(r"^# exit status (\d+)")
KSFT_TOTALS = re.compile(r"^# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) skip:(\d+) error:(\d+)")


def tap_file(path, suite):
    """Rows of a TAP file: one per top-level result, and a failed row for each way the file
    says the run went wrong: no plan, a plan the results do not match, a bail-out, a non-zero
    `# exit status` (test.sh appends it; 124 is its time limit), kselftest totals that do not
    add up. Returns rows and problems."""
    rows, problems = [], []
    plan = bail = status = totals = None
    for line in path.read_text(errors="replace").splitlines():
        if m := TAP_RESULT.match(line):
            rows.append((suite, m.group(2).strip(), tap_result(m.group(1), m.group(3))))
        elif (m := TAP_PLAN.match(line)) and plan is None:
            plan = int(m.group(1))
        elif m := TAP_BAIL.match(line):
            bail = m.group(1) or "(no reason)"
        elif m := EXIT_STATUS.match(line):
            status = int(m.group(1))
        elif m := KSFT_TOTALS.match(line):
            totals = sum(int(n) for n in m.groups())

    reported = len(rows)

    def bad(check, why):
        rows.append((suite, check, "fail"))
        problems.append(f"{suite}: {why} ({path})")

    if plan is None:
        bad("(plan)", "no TAP plan: the program did not start, or printed no TAP")
    elif plan != reported:
        bad("(plan)", f"the plan says {plan} tests, {reported} reported")
    if bail is not None:
        bad("(bail out)", f"bailed out: {bail}")
    if status is not None and status != 0:
        why = "killed by its time limit" if status in (124, 137) else "a non-zero exit status"
        bad("(exit status)", f"exit status {status}: {why}")
    if totals is not None and totals != reported:
        bad("(totals)", f"its totals count {totals} tests, {reported} reported")
    return rows, problems


def igt(path):
    """Rows of IGT's results.json, and problems. `notrun` (the runner gave up before the
    subtest, or it was never found) is a failure, not a skip."""
    results = json.loads(path.read_text())
    rows, problems = [], []
    for name, test in sorted(results.get("tests", {}).items()):
        r = test.get("result", "fail")
        result = {"pass": "pass", "skip": "skip"}.get(r, "fail")
        binary, _, sub = name.removeprefix("igt@").partition("@")
        rows.append(("igt:" + binary, sub or binary, result))
        if result == "fail" and r != "fail":
            problems.append(f"igt:{binary} {sub}: IGT says {r} ({path})")
    return rows, problems


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
        return [(suite, "(ran)", "fail")], [f"i915 mock selftests: {why} ({path})"]

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


# tests/faults prints, for each sweep, whether the call fails under some fault; that is the name
# of the row, so that the differential check compares it between the cores.
FAULT_SWEEP = re.compile(r"dma_buf_faults sweep: (\S+: .*?)\s*$")


def fault_sweeps(console):
    """A row per sweep of tests/faults (its KUnit results are the suite's own rows)."""
    return [("faults:kunit-sweeps", m.group(1), "pass")
            for line in console if (m := FAULT_SWEEP.search(line))], []


def kmemleak(path):
    """The rows of the kmemleak report the test job saved after its final scans, and problems:
    any unreferenced object fails, except those of a known upstream leak (KNOWN_LEAKS), which
    are named; a kernel without kmemleak fails too."""
    if not path.exists():
        return [("kernel", "no-kmemleak-report", "fail")], [f"no kmemleak report ({path})"]
    text = path.read_text(errors="replace")
    if text.startswith("# no "):
        return [("kernel", "no-kmemleak-report", "fail")], [f"{text.strip()} ({path})"]
    objects = [o.strip() for o in re.split(r"(?m)^(?=unreferenced object )", text)
               if KMEMLEAK_OBJECT.match(o)]
    known, unknown = defaultdict(int), []
    for o in objects:
        fn = next((fn for fn in KNOWN_LEAKS if re.search(rf"\b{fn}\+", o)), None)
        if fn:
            known[fn] += 1
        else:
            unknown.append(o)
    problems = [f"kmemleak: {n} object(s) of a known leak in {fn}: {KNOWN_LEAKS[fn]}"
                for fn, n in sorted(known.items())]
    if not unknown:
        return [("kernel", "no-kmemleak-report", "pass")], problems
    # The first object's report, with its backtrace, says where it was allocated.
    return [("kernel", "no-kmemleak-report", "fail")], problems + [
        f"kmemleak: {len(unknown)} unreferenced object(s) ({path}), the first:"
    ] + ["    " + line.strip() for line in unknown[0].splitlines()[:14]]


def sanitizers(console):
    """A row saying whether the boot had its sanitizers: each prints a line as it starts."""
    text = "\n".join(console)
    missing = [name for name, banner in SANITIZER_BANNERS.items() if banner not in text]
    if missing:
        return [("kernel", "sanitizers-on", "fail")], [
            f"no sign of {', '.join(missing)} in the console: the kernel lacks its sanitizers"
        ]
    return [("kernel", "sanitizers-on", "pass")], []


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


TRACE_COUNT = re.compile(r"^# (dma_buf_\w+): (\d+) events$", re.M)


def trace_counts(path):
    """{event: count} of the boot's trace-dma_buf.tap (harness/guest/test.sh)."""
    text = path.read_text(errors="replace") if path.exists() else ""
    return {e: int(n) for e, n in TRACE_COUNT.findall(text)}


def trace_differences(counts):
    """A failed `differential` row per trace event whose count differs between the cores: the
    same suites must make the same calls, so fire each event as often. The counts, which
    change with the suites, are in the message, not in the row's name."""
    cores = sorted(counts)
    if len(cores) < 2:
        return [], []
    rows, problems = [], []
    for event in sorted(set().union(*(counts[c] for c in cores))):
        seen = [counts[c].get(event) for c in cores]
        if len(set(seen)) > 1:
            rows.append(("diff", "differential", f"trace:dma_buf {event} count", "fail"))
            problems.append(f"trace:dma_buf {event} fired a different number of times: "
                            + ", ".join(f"{c} {'none' if n is None else n}"
                                        for c, n in zip(cores, seen)))
    return rows, problems


DIGEST = re.compile(r"^# digest (.+): ([0-9a-f]+)$", re.M)


def tap_digests(path, suite):
    """{(suite, name): digest} of the `# digest NAME: HEX` lines of a TAP file: a program's
    summary of results that must be the same on every core (selftests/dmabuf/fuzz: its
    table of results per operation), kept out of the result's name so that the names are."""
    return {(suite, name): digest
            for name, digest in DIGEST.findall(path.read_text(errors="replace"))}


def digest_differences(digests):
    """A failed `differential` row per digest that is not the same on every core."""
    cores = sorted(digests)
    if len(cores) < 2:
        return [], []
    rows, problems = [], []
    for suite, name in sorted(set().union(*(digests[c] for c in cores))):
        seen = [digests[c].get((suite, name)) for c in cores]
        if len(set(seen)) > 1:
            rows.append(("diff", "differential", f"{suite} {name} digest", "fail"))
            problems.append(f"{suite} {name}: the digests differ: "
                            + ", ".join(f"{c} {d or 'none'}" for c, d in zip(cores, seen)))
    return rows, problems


def bufinfo_after(path):
    """bufinfo once every suite is done and its modules unloaded: no buffer may be left."""
    text = path.read_text(errors="replace") if path.exists() else ""
    if re.search(r"^Total 0 objects, 0 bytes$", text, re.M):
        return [("bufinfo", "empty-at-end", "pass")], []
    left = re.search(r"^Total .*$", text, re.M)
    return [("bufinfo", "empty-at-end", "fail")], [
        f"bufinfo after the suites: {left.group(0) if left else 'unreadable'} ({path})"
    ]


def load_manifest(path):
    with open(path, "rb") as f:
        manifest = tomllib.load(f)
    for suite, m in manifest.items():
        for key, kind in (("cores", list), ("tests", int), ("compares", bool), ("about", str)):
            if not isinstance(m.get(key), kind):
                raise SystemExit(f"{path}: [{suite}] needs {key} ({kind.__name__})")
        m.setdefault("skips", [])
    return manifest


def check_manifest(core, rows, manifest):
    """Holds one core's rows against the manifest: returns them with unexpected skips failed,
    plus a failed row for each suite that is missing, short, too long, unknown or on the wrong
    core, and the problems naming each cause."""
    checked, problems = [], []
    by_suite = defaultdict(list)
    for r in rows:
        by_suite[r[0]].append(r)
    for suite in sorted(set(by_suite) | set(manifest)):
        got, m = by_suite.get(suite, []), manifest.get(suite)

        def bad(check, why):
            checked.append((suite, check, "fail"))
            problems.append(f"{core}: {suite}: {why}")

        for s, test, result in got:
            if result == "skip" and m is not None and test not in m["skips"]:
                result = "fail"
                problems.append(f"{core}: {suite} {test}: skipped, which the manifest does not allow")
            checked.append((s, test, result))
        if m is None:
            if got:
                bad("(manifest)", "reports results but is not in tests/manifest.toml")
        elif core not in m["cores"]:
            if got:
                bad("(core)", f"ran on the {core} core; the manifest runs it on {', '.join(m['cores'])}")
        elif not got:
            bad("(ran)", "reported nothing: it did not run")
        else:
            tests = sum(1 for _, test, _ in got if not test.startswith("("))
            if tests != m["tests"]:
                bad("(count)", f"{tests} results, the manifest expects {m['tests']}")
    return checked, problems


def results_dir(out, job):
    """Where a job's results are: out/results for the test job, out/<job> for the others."""
    return out / ("results" if job == "test" else job)


def collect(out, cores, manifest, kunit_py, job="test"):
    """The rows of every core's boot of @job, and problems. Only the test job runs IGT, i915's
    mock selftests, the lock-misuse module, the trace events and the bufinfo snapshot."""
    rows, problems, shapes, traces, digests = [], [], {}, {}, {}
    full = job == "test"
    for core in cores:
        res = results_dir(out, job) / core
        log = out / f"console-{core}-{job}.log"
        mine = []

        def add(result):
            new_rows, new_problems = result
            mine.extend(new_rows)
            problems.extend(f"{core}: {p}" for p in new_problems)

        for name, suite in (("compile-fail.tap", "build:compile-fail"),
                            ("build-exports.tap", "build:exports"),
                            ("trace-dma_buf.tap", "trace:dma_buf")):
            if (res / name).exists():
                add(tap_file(res / name, suite))
        if full:
            traces[core] = trace_counts(res / "trace-dma_buf.tap")
        digests[core] = {}
        for tap in sorted(res.glob("kselftest-*.tap")):
            suite = "kselftest:" + tap.stem.removeprefix("kselftest-")
            add(tap_file(tap, suite))
            digests[core].update(tap_digests(tap, suite))
        if full:
            if (res / "igt" / "results.json").exists():
                add(igt(res / "igt" / "results.json"))
            else:
                problems.append(f"{core}: IGT wrote no results.json ({res / 'igt-runner.log'})")
            add(i915_mock(res / "i915-mock.log"))
            snap_rows, shapes[core], snap_problems = bufinfo_snapshot(res / "bufinfo-live.txt")
            add((snap_rows, snap_problems))
        add(bufinfo_after(res / "bufinfo-after.txt"))
        if log.exists():
            console = log.read_text(errors="replace").splitlines()
            add(kunit(console, kunit_py, res / "kunit"))
            add(fault_sweeps(console))
            found, expected = splats(console)
            mine.append(("kernel", "no-splat", "fail" if found else "pass"))
            problems.extend(f"{core}: splat in {log}: {s}" for s in found[:10])
            # Each misuse of the module gets a warning, on either core: none at all means the
            # checks are not there.
            if full:
                mine.append(("kernel", "lock-misuse-warned", "pass" if expected else "fail"))
            add(sanitizers(console))
            add(kmemleak(res / "kmemleak.txt"))
        else:
            problems.append(f"{core}: no console log {log}: the {job} boot did not run")
        checked, manifest_problems = check_manifest(core, mine, manifest)
        rows += [(core, *r) for r in checked]
        problems += manifest_problems
    return rows, problems, shapes, traces, digests


def differences(rows, cores, manifest):
    """Tests whose result is not the same on every core (or that ran on only some of them),
    in the suites that compare the cores.

    The cores must behave alike, so each difference is a failed row of the suite `differential`,
    under the pseudo-core `diff`, named after the suite and test that differ.
    """
    results = defaultdict(dict)
    for core, suite, test, result in rows:
        results[(suite, test)][core] = result
    diff_rows, problems = [], []
    for (suite, test), by_core in sorted(results.items()):
        m = manifest.get(suite)
        if m is None or not m["compares"]:
            continue
        both = [c for c in cores if c in m["cores"]]
        seen = [by_core.get(c, "missing") for c in both]
        if len(set(seen)) > 1:
            diff_rows.append(("diff", "differential", f"{suite} {test}", "fail"))
            problems.append(
                f"differs between cores: {suite} {test}: "
                + ", ".join(f"{c} {r}" for c, r in zip(both, seen))
            )
    return diff_rows, problems


# What a stress run reports, for its table of figures (not rows: they vary from run to run).
FAULTS_DIAG = re.compile(r"^# (.+?): (\d+) faults")
KUNIT_FAULTS = re.compile(r"dma_buf_faults: (\S+): (\d+) faults")
STRESS_OPS = re.compile(r"dma_buf_stress: (\S+): (.+): (\d+)\s*$")
STORM_OPS = re.compile(r"^# storm (\S+): (.+): (\d+)\s*$")
FUZZ_OPS = re.compile(r"^# seed (\d+), (\d+) ops:")
FUZZ_RESULT = re.compile(r"^# total-result (\S+) (\d+)")


def figures(out, cores, job):
    """The figures of a stress run, per core: faults injected by the sweeps (in all, then per
    sweep), operations the stress tasks completed, fuzz operations and their results. Returns
    {figure: {core: n}}."""
    table = defaultdict(lambda: defaultdict(int))
    # Each sweep's faults, after the other figures.
    per_op = defaultdict(lambda: defaultdict(int))
    for core in cores:
        res = results_dir(out, job) / core
        log = out / f"console-{core}-{job}.log"
        console = log.read_text(errors="replace").splitlines() if log.exists() else []
        tap = res / "kselftest-dmabuf-faults.tap"
        for line in tap.read_text(errors="replace").splitlines() if tap.exists() else []:
            if m := FAULTS_DIAG.match(line):
                table["faults injected, selftests/dmabuf/faults"][core] += int(m.group(2))
                per_op[f"faults injected: {m.group(1)}"][core] += int(m.group(2))
        for line in console:
            if m := KUNIT_FAULTS.search(line):
                table["faults injected, tests/faults (KUnit)"][core] += int(m.group(2))
                per_op[f"faults injected: kunit {m.group(1)}"][core] += int(m.group(2))
            elif m := STRESS_OPS.search(line):
                table[f"stress {m.group(1)}: {m.group(2)}"][core] += int(m.group(3))
        tap = res / "kselftest-dmabuf-storm.tap"
        for line in tap.read_text(errors="replace").splitlines() if tap.exists() else []:
            if m := STORM_OPS.match(line):
                table[f"storm {m.group(1)}: {m.group(2)}"][core] += int(m.group(3))
        for tap in sorted(res.glob("kselftest-dmabuf-fuzz*.tap")):
            for line in tap.read_text(errors="replace").splitlines():
                if m := FUZZ_OPS.match(line):
                    table["fuzz operations"][core] += int(m.group(2))
                elif m := FUZZ_RESULT.match(line):
                    table[f"fuzz results: {m.group(1)}"][core] += int(m.group(2))
    table.update(per_op)
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("cores", nargs="*", default=["c", "rust"])
    ap.add_argument("--kunit", type=Path, required=True, help="the kernel's kunit.py")
    ap.add_argument("--manifest", type=Path,
                    default=Path(__file__).resolve().parent.parent / "tests" / "manifest.toml")
    ap.add_argument("--job", default="test", help="the guest job whose boots to read")
    args = ap.parse_args()
    manifest = load_manifest(args.manifest)
    cores = args.cores
    rows, problems, shapes, traces, digests = collect(args.out, cores, manifest, args.kunit,
                                                      args.job)
    if len(cores) > 1:
        for diff_rows, diff_problems in (differences(rows, cores, manifest),
                                         bufinfo_differences(shapes),
                                         trace_differences(traces),
                                         digest_differences(digests)):
            rows += diff_rows
            problems += diff_problems
    summary = results_dir(args.out, args.job) / "summary.tsv"
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text("".join("\t".join(r) + "\n" for r in rows))

    table = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for core, suite, _, result in rows:
        table[suite][core][["pass", "fail", "skip"].index(result)] += 1
    width = max([len(s) for s in table] + [5])
    print(f"{'suite':<{width}}  " + "  ".join(f"{c + ' pass/fail/skip':>22}" for c in cores)
          + "  compares the cores")
    for suite in sorted(table):
        cells = ("/".join(map(str, table[suite][c])) if c in table[suite] else "-" for c in cores)
        m = manifest.get(suite)
        if suite == "differential":
            how = "(the differences)"
        elif suite == "kernel":
            how = "no: checks of each boot"
        elif m is None:
            how = "(not in the manifest)"
        elif m["compares"]:
            how = "yes"
        else:
            how = "no: " + ("one core" if len(m["cores"]) == 1 else "same code on both")
        print(f"{suite:<{width}}  " + "  ".join(f"{cell:>22}" for cell in cells) + f"  {how}")
    if args.job != "test":
        figs = figures(args.out, cores, args.job)
        width = max([len(f) for f in figs] + [7])
        print(f"\n{'figures':<{width}}  " + "  ".join(f"{c:>12}" for c in cores))
        for fig in figs:
            print(f"{fig:<{width}}  " + "  ".join(f"{figs[fig][c]:>12}" for c in cores))
        print()
    for p in problems:
        print(p)
    failed = [r for r in rows if r[3] == "fail"]
    for r in failed[:40]:
        print("FAIL: " + "\t".join(r))
    counts = {k: sum(1 for r in rows if r[3] == k) for k in ("pass", "fail", "skip")}
    comparing = sum(1 for core, suite, _, result in rows
                    if result == "pass" and manifest.get(suite, {}).get("compares"))
    print(f"summary: {summary}")
    print(f"{comparing} of the passes compare the cores (suites that go through the core, "
          f"run on both); the rest test code both kernels share, or one core, or the kernel")
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return 1 if counts["fail"] or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
