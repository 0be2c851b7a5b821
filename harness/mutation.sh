#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mutation.sh NAME... | --all: break the Rust core on purpose and check that the tests notice,
# by name.
#
# tests/mutations/NAME.patch is applied to the kernel tree on top of the overlay; the Rust-core
# kernel is built with it and booted for the test job, and its results are collected against
# the C core's results of the last `make test`, which must be green and of the same source
# (out/results/source-id). The mutation is caught when exactly the rows its header names
# (Must-fail:) fail (harness/mutation_verdict.py). The tree is restored after each build (the
# overlay is copied again); two mutated kernels boot side by side, from copies, while the next
# one builds. out/mutation/NAME/ keeps the report; a table of the verdicts ends the run. The
# next `make test` rebuilds the real kernel.
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

# build NAME: one mutation applied and built, with the build-time checks (so that every
# difference from the C core's results is the mutation's doing); the kernel and the test
# modules are copied to $K/NAME, for its boot, and the tree is restored. Its verdict line
# stays "did not build or boot" unless judge replaces it.
K=$CACHE/build/mutants
build() {
	local name=$1 patch=$TOP/tests/mutations/$1.patch M=$OUT/mutation/$1
	rm -rf "$M" "$K/$name"
	mkdir -p "$M/results" "$M/logs" "$K/$name"
	cp -r "$OUT/results/c" "$M/results/c"
	cp "$OUT/console-c-test.log" "$M/"
	echo "$name: the kernel did not build or boot (see $M/logs and the output above)" >"$M/verdict.txt"
	stage "mutation $name: applying $patch to the kernel tree"
	"$TOP/harness/tree.sh" >/dev/null || exit 1
	patch -d "$KSRC" -p1 -s -f --no-backup-if-mismatch <"$patch" || die "$patch does not apply"
	"$TOP/harness/build.sh" rust &&
		OUT=$M "$TOP/harness/exports.sh" rust &&
		OUT=$M "$TOP/harness/compile_fail.sh" rust &&
		"$TOP/harness/test_modules.sh" rust &&
		cp -r "$(kbuild_dir rust)" "$K/$name/kernel" &&
		cp -r "$CACHE/build/modules" "$K/$name/modules"
	local rc=$?
	"$TOP/harness/tree.sh" >/dev/null || exit 1
	return $rc
}

# judge NAME: boot the copy of its kernel for the test job and judge the results against the
# C core's; the verdict in $OUT/mutation/NAME/verdict.txt and on fd 3, exit 0 when caught.
judge() {
	local name=$1 patch=$TOP/tests/mutations/$1.patch M=$OUT/mutation/$1
	local booted=0
	OUT=$M KERNEL_DIR=$K/$name/kernel TESTMODS_DIR=$K/$name/modules \
		"$TOP/harness/boot.sh" rust test || booted=1
	# The copy has served its one boot.
	rm -rf "${K:?}/$name"
	[ "$booted" = 0 ] || return 1
	in_root python3 "$TOP/harness/collect.py" --kunit "$KSRC/tools/testing/kunit/kunit.py" \
		"$M" c rust >"$M/report.txt" 2>&1
	in_root python3 "$TOP/harness/mutation_verdict.py" "$patch" "$M/results/summary.tsv" \
		"$TOP/tests/manifest.toml" >"$M/verdict.txt" 2>&1
	local rc=$?
	{
		stage "mutation $name: judged against the C core's results"
		sed 's/^/    /' "$M/verdict.txt"
	} | tee /dev/fd/3
	return $rc
}

# Two boots at a time, as in make test (each guest spends most of its time on one vCPU): the
# next mutation is built while the last one boots, and waits for a free slot to boot.
trap '"$TOP/harness/tree.sh" >/dev/null' EXIT
mkdir -p "$OUT/mutation"
exec 3>&1
declare -A boot_of
running=()
for name in "$@"; do
	if [ "${#running[@]}" -ge 2 ]; then
		wait "${boot_of[${running[0]}]}"
		running=("${running[@]:1}")
	fi
	build "$name" || continue
	judge "$name" >"$OUT/mutation/$name/judge.log" 2>&1 &
	boot_of[$name]=$!
	running+=("$name")
	stage "mutation $name: booting (log: $OUT/mutation/$name/judge.log)"
done
wait
caught=0 missed=0
: >"$OUT/mutation/table.txt"
for name in "$@"; do
	if grep -q "caught by its" "$OUT/mutation/$name/verdict.txt"; then
		verdict=caught caught=$((caught + 1))
	elif grep -q "did not build or boot" "$OUT/mutation/$name/verdict.txt"; then
		verdict="did not build or boot" missed=$((missed + 1))
	else
		verdict="NOT caught" missed=$((missed + 1))
	fi
	class=$(sed -n 's/^Class: *//p' "$TOP/tests/mutations/$name.patch" | head -n1)
	printf '%-36s %-20s %s\n' "$name" "${class:-?}" "$verdict" >>"$OUT/mutation/table.txt"
	[ "$verdict" = caught ] || sed 's/^/    /' "$OUT/mutation/$name/verdict.txt"
done
stage "mutations: $caught caught, $missed not caught (reports in $OUT/mutation/NAME/)"
printf '%-36s %-20s %s\n' mutation class verdict
cat "$OUT/mutation/table.txt"
[ "$missed" = 0 ] || die "$missed mutation(s) not caught by their named tests"
