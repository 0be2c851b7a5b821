#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check.sh: the static checks of `make check`: rustfmt on the Rust tree, a CLIPPY=1 build of
# the Rust crates, and checkpatch on the overlay's files and on the patch series.
. "$(dirname "$0")/lib.sh"
"$TOP/harness/root.sh" || exit 1
"$TOP/harness/tree.sh" || exit 1
R=$(kbuild_tree)
C=$CACHE/build/clippy
[ -f "$R/.config" ] || "$TOP/harness/build.sh" rust || exit 1
failed=0

stage "check: rustfmtcheck"
if ! in_root make -C "$KSRC" O="$R" LLVM="$LLVM" rustfmtcheck >"$LOGS/rustfmtcheck.log" 2>&1; then
	note "rustfmtcheck failed: $LOGS/rustfmtcheck.log"
	failed=1
fi

# Clippy lints the Rust crates: rust/ (core, the kernel crate with its doctests) and the
# Rust parts of drivers/dma-buf/. Only those are built, in a tree of their own, so the normal
# tree is not rebuilt afterwards and no C kernel is compiled for nothing.
stage "check: CLIPPY=1 build of rust/ and drivers/dma-buf/ in $C (log: $LOGS/clippy.log)"
mkdir -p "$C"
cmp -s "$R/.config" "$C/.config" || cp "$R/.config" "$C/.config"
if ! in_root make -C "$KSRC" O="$C" LLVM="$LLVM" CLIPPY=1 -j"$JOBS" olddefconfig prepare rust/ drivers/dma-buf/ >"$LOGS/clippy.log" 2>&1; then
	note "the CLIPPY=1 build failed: $LOGS/clippy.log"
	failed=1
elif grep -E '^(warning|error)(\[|:)' "$LOGS/clippy.log" >/dev/null; then
	note "clippy warnings: $LOGS/clippy.log"
	grep -E -A3 '^(warning|error)(\[|:)' "$LOGS/clippy.log" | head -40 | sed 's/^/    /'
	failed=1
fi

stage "check: checkpatch"
files=$(cd "$TOP" && "$TOP/harness/tree.sh" --list 2>/dev/null | grep -E '\.(c|h|rs)$')
if [ -n "$files" ] && ! (cd "$KSRC" && in_root perl scripts/checkpatch.pl --no-tree --terse --show-types -f $files) >"$LOGS/checkpatch.log" 2>&1; then
	note "checkpatch on the overlay: $LOGS/checkpatch.log"
	failed=1
fi
if ! (cd "$KSRC" && in_root perl scripts/checkpatch.pl --no-tree --no-signoff --terse "$TOP"/patches/*.patch) >"$LOGS/checkpatch-patches.log" 2>&1; then
	note "checkpatch on patches/: $LOGS/checkpatch-patches.log"
	failed=1
fi
[ "$failed" = 0 ] || die "make check found problems (logs above)"
stage "check: clean"
