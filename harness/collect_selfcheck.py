#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""collect_selfcheck.py OUT KUNIT_PY: show that the verdict can fail, for each way a run can
go wrong without a test saying "not ok".

Takes the green results of a `make test` in OUT, makes a copy per case under OUT/selfcheck/
with one thing broken the way it breaks in a real run, collects each copy (collect.py) and
checks that it fails with its cause named. The unbroken copy must pass. Exits 1 otherwise.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

COLLECT = Path(__file__).resolve().parent / "collect.py"


def missing_binary(out):
    # test.sh runs `timeout ... BINARY`: a deleted binary gives timeout's complaint, status 127.
    tap = out / "results/c/kselftest-dmabuf-name.tap"
    tap.write_text("timeout: failed to run command './name': No such file or directory\n"
                   "# exit status 127\n")


def killed_midway(out):
    # The time limit (timeout -k 5 600) kills the program after some results: status 124.
    tap = out / "results/rust/kselftest-dmabuf-fences.tap"
    lines = tap.read_text().splitlines()
    results = [i for i, line in enumerate(lines) if re.match(r"(not )?ok \d+ ", line)]
    tap.write_text("\n".join(lines[: results[len(results) // 2] + 1]) + "\n# exit status 124\n")


def kunit_init_failed(out):
    # lib/kunit/test.c, kunit_run_tests(): a failing suite_init prints this and the suite's
    # result, no cases.
    log = out / "console-rust-test.log"
    text = log.read_text()
    start = text.index("    KTAP version 1\n", text.index("KTAP version 1"))
    end = text.index("] ok 1 rust_dma_buf\n")
    line_start = text.rindex("\n", 0, start) + 1
    stamp = text[line_start : text.index("]", line_start) + 1]
    text = (text[:line_start] + f"{stamp}     # failed to initialize (-12)\n{stamp} not ok 1"
            + text[end + len("] ok 1"):])
    log.write_text(text)


def unexpected_skip(out):
    # A fixture whose device is missing skips its tests (kselftest_harness SKIP()).
    tap = out / "results/c/kselftest-dmabuf-prime.tap"
    tap.write_text(re.sub(r"^(ok \d+ \S+)$", r"\1 # SKIP no vgem device", tap.read_text(),
                          count=1, flags=re.M))


def lost_suite(out):
    # IGT's runner died before writing its results.
    (out / "results/rust/igt/results.json").unlink()


def other_digest(out):
    # The fuzzer's deterministic phase gave another table of results on one core.
    tap = out / "results/rust/kselftest-dmabuf-fuzz.tap"
    tap.write_text(re.sub(r"^(# digest deterministic [^:]+: )[0-9a-f]+$", r"\g<1>00000000",
                          tap.read_text(), count=1, flags=re.M))


# (how to break the results, a regular expression the collector's output must match)
CASES = [
    (None, r"\d+ passed, 0 failed, 0 skipped"),
    (missing_binary, r"c: kselftest:dmabuf-name: no TAP plan"),
    (missing_binary, r"c: kselftest:dmabuf-name: exit status 127"),
    (killed_midway, r"rust: kselftest:dmabuf-fences: exit status 124: killed by its time limit"),
    (killed_midway, r"rust: kselftest:dmabuf-fences: \d+ results, the manifest expects \d+"),
    (kunit_init_failed, r"rust: kunit:rust_dma_buf: 0 results, the manifest expects \d+"),
    (unexpected_skip, r"c: kselftest:dmabuf-prime \S+: skipped, which the manifest does not allow"),
    (lost_suite, r"rust: igt:vgem_basic: reported nothing: it did not run"),
    (other_digest, r"kselftest:dmabuf-fuzz deterministic seed=\d+ ops=\d+: the digests differ: "
                   r"c [0-9a-f]{8}, rust 00000000"),
]


def main():
    out, kunit_py = Path(sys.argv[1]), sys.argv[2]
    bad = 0
    for break_it, cause in CASES:
        name = break_it.__name__ if break_it else "unbroken"
        copy = out / "selfcheck" / name
        shutil.rmtree(copy, ignore_errors=True)
        (copy / "results").mkdir(parents=True)
        for core in ("c", "rust"):
            shutil.copytree(out / "results" / core, copy / "results" / core,
                            ignore=shutil.ignore_patterns("kunit"))
            shutil.copy(out / f"console-{core}-test.log", copy)
        if break_it:
            break_it(copy)
        run = subprocess.run([sys.executable, str(COLLECT), "--kunit", kunit_py, str(copy)],
                             capture_output=True, text=True, check=False)
        want_rc = 0 if break_it is None else 1
        found = re.search(cause, run.stdout) is not None
        ok = run.returncode == want_rc and found
        bad += not ok
        print(f"{'ok' if ok else 'FAILED'}: {name}: "
              + (f"exit {run.returncode}, says {cause!r}" if ok else
                 f"exit {run.returncode} (want {want_rc}), {cause!r} "
                 f"{'found' if found else 'not found'} in {copy}/report.txt"))
        (copy / "report.txt").write_text(run.stdout + run.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
