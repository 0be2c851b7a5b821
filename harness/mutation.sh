#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mutation.sh NAME: break the Rust core on purpose and check that the suites notice.
#
# tests/mutations/NAME.patch is applied to the kernel tree on top of the overlay; the Rust-core
# kernel is built with it and booted for the test job, and its results are collected against
# the C core's results of the last `make test`. The mutation is caught when that collection
# fails; the run fails otherwise. The tree is restored afterwards (the overlay is copied again)
# and out/mutation/NAME/ keeps the report. The next `make test` rebuilds the real kernel.
. "$(dirname "$0")/lib.sh"

name=$1
patch=$TOP/tests/mutations/$name.patch
[ -f "$patch" ] || die "no mutation $patch (see tests/mutations/)"
[ -f "$OUT/console-c-test.log" ] && [ -d "$OUT/results/c" ] ||
	die "no C-core results in $OUT: run make test first"

M=$OUT/mutation/$name
rm -rf "$M"
mkdir -p "$M/results" "$M/logs"
cp -r "$OUT/results/c" "$M/results/c"
cp "$OUT/console-c-test.log" "$M/"

stage "mutation $name: applying $patch to the kernel tree"
"$TOP/harness/tree.sh" || exit 1
trap '"$TOP/harness/tree.sh" >/dev/null' EXIT
patch -d "$KSRC" -p1 -s -f --no-backup-if-mismatch <"$patch" || die "$patch does not apply"
"$TOP/harness/build.sh" rust || exit 1
# The build-time checks too, so that every difference from the C core's results is the
# mutation's doing.
OUT=$M "$TOP/harness/exports.sh" rust || exit 1
OUT=$M "$TOP/harness/compile_fail.sh" rust || exit 1
"$TOP/harness/test_modules.sh" rust || exit 1
OUT=$M "$TOP/harness/boot.sh" rust test || exit 1
stage "mutation $name: results against the C core"
in_root python3 "$TOP/harness/collect.py" "$M" c rust >"$M/report.txt" 2>&1
rc=$?
grep -E '^FAIL|differs between cores' "$M/report.txt" | head -20 | sed 's/^/    /'
tail -n1 "$M/report.txt" | sed 's/^/    /'
[ $rc != 0 ] || die "mutation $name was NOT caught: every suite still passes ($M/report.txt)"
note "mutation $name was caught (report: $M/report.txt)"
