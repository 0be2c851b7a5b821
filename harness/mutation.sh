#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mutation.sh NAME... | --all: break the Rust core on purpose and check that the tests notice,
# by name.
#
# tests/mutations/NAME.patch is applied to the kernel tree on top of the overlay; the Rust-core
# kernel is built with it and booted for the test job, and its results are collected against
# the C core's results of the last `make test`, which must be green and of the same source
# (out/results/source-id). The mutation is caught when exactly the rows its header names
# (Must-fail:) fail (harness/mutation_verdict.py). The tree is restored afterwards (the overlay
# is copied again) and out/mutation/NAME/ keeps the report; with several mutations a table of
# the verdicts ends the run. The next `make test` rebuilds the real kernel.
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --all ]; then
	set -- $(cd "$TOP/tests/mutations" && ls ./*.patch | sed 's|^\./||; s|\.patch$||')
fi
[ $# -gt 0 ] || die "no mutation named"
for name in "$@"; do
	[ -f "$TOP/tests/mutations/$name.patch" ] || die "no mutation tests/mutations/$name.patch"
done
[ -f "$OUT/console-c-test.log" ] && [ -f "$OUT/results/summary.tsv" ] ||
	die "no results of a make test in $OUT: run make test first"
[ "$(cat "$OUT/results/source-id" 2>/dev/null)" = "$(source_id)" ] ||
	die "the results in $OUT are of source $(cat "$OUT/results/source-id" 2>/dev/null || echo unknown), the checkout is $(source_id): run make test first"
! grep -q $'\tfail$' "$OUT/results/summary.tsv" ||
	die "the last make test was not green: a mutation's failures would not be its own"

# mutate NAME: one mutation, built, booted and judged; its verdict line in $M/verdict.txt.
mutate() {
	local name=$1 patch=$TOP/tests/mutations/$1.patch M=$OUT/mutation/$1
	rm -rf "$M"
	mkdir -p "$M/results" "$M/logs"
	cp -r "$OUT/results/c" "$M/results/c"
	cp "$OUT/console-c-test.log" "$M/"
	stage "mutation $name: applying $patch to the kernel tree"
	"$TOP/harness/tree.sh" >/dev/null || exit 1
	patch -d "$KSRC" -p1 -s -f --no-backup-if-mismatch <"$patch" || die "$patch does not apply"
	echo "$name: the kernel did not build or boot (see above)" >"$M/verdict.txt"
	"$TOP/harness/build.sh" rust || return 1
	# The build-time checks too, so that every difference from the C core's results is the
	# mutation's doing.
	OUT=$M "$TOP/harness/exports.sh" rust || return 1
	OUT=$M "$TOP/harness/compile_fail.sh" rust || return 1
	"$TOP/harness/test_modules.sh" rust || return 1
	OUT=$M "$TOP/harness/boot.sh" rust test || return 1
	stage "mutation $name: results against the C core"
	in_root python3 "$TOP/harness/collect.py" --kunit "$KSRC/tools/testing/kunit/kunit.py" \
		"$M" c rust >"$M/report.txt" 2>&1
	in_root python3 "$TOP/harness/mutation_verdict.py" "$patch" "$M/results/summary.tsv" \
		"$TOP/tests/manifest.toml" >"$M/verdict.txt" 2>&1
	local rc=$?
	sed 's/^/    /' "$M/verdict.txt"
	return $rc
}

trap '"$TOP/harness/tree.sh" >/dev/null' EXIT
caught=0 missed=0
mkdir -p "$OUT/mutation"
: >"$OUT/mutation/table.txt"
for name in "$@"; do
	if mutate "$name"; then
		verdict=caught caught=$((caught + 1))
	elif grep -q "did not build or boot" "$OUT/mutation/$name/verdict.txt"; then
		verdict="did not build or boot" missed=$((missed + 1))
	else
		verdict="NOT caught" missed=$((missed + 1))
	fi
	class=$(sed -n 's/^Class: *//p' "$TOP/tests/mutations/$name.patch" | head -n1)
	printf '%-36s %-20s %s\n' "$name" "${class:-?}" "$verdict" >>"$OUT/mutation/table.txt"
done
stage "mutations: $caught caught, $missed not caught (reports in $OUT/mutation/NAME/)"
printf '%-36s %-20s %s\n' mutation class verdict
cat "$OUT/mutation/table.txt"
[ "$missed" = 0 ] || die "$missed mutation(s) not caught by their named tests"
