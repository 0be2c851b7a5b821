#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check.sh: the static checks of `make check`: rustfmt on the Rust tree, a CLIPPY=1 build of
# the Rust crates, checkpatch on the overlay's files, and the patch series: made into
# out/patches, checked with checkpatch --strict patch by patch, applied with git am to a clean
# Linux 7.2 and built after every patch. check.sh --patches-only only makes the series
# (`make patches`).
. "$(dirname "$0")/lib.sh"
"$TOP/harness/root.sh" || exit 1
"$TOP/harness/tree.sh" || exit 1

P=$OUT/patches
make_patches() {
	local out untracked
	out=$(series_py --author "$(series_author --required)" --format "$P" 2>&1) ||
		die "make patches: $out"
	note "$out"
	# The overlay includes files git does not track yet (so that they are tested before they
	# are added); in a series to send, they are worth a look.
	untracked=$(cd "$TOP" && "$TOP/harness/tree.sh" --list | git ls-files --others \
		--exclude-standard --pathspec-from-file=- 2>/dev/null)
	[ -z "$untracked" ] || note "in the series but not tracked by git: $untracked"
}
if [ "${1:-}" = --patches-only ]; then
	stage "patches: the series against Linux 7.2"
	make_patches
	exit 0
fi
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

# The series. FILE_PATH_CHANGES ("does MAINTAINERS need updating?") is left to series.py,
# which refuses a patch adding a file that no F: line the series adds to MAINTAINERS covers.
stage "check: the patch series in $P, checkpatch --strict on each patch"
make_patches
: >"$LOGS/checkpatch-series.log"
for p in "$P"/0*.patch; do
	case $p in */0000-cover-letter.patch) continue ;; esac
	if ! (cd "$KSRC" && in_root perl scripts/checkpatch.pl --strict --terse --show-types \
		--ignore FILE_PATH_CHANGES "$p") >"$LOGS/checkpatch-patch.log" 2>&1; then
		note "checkpatch --strict: $(basename "$p")"
		sed 's/^/    /' "$LOGS/checkpatch-patch.log" | head -20
		failed=1
	fi
	cat "$LOGS/checkpatch-patch.log" >>"$LOGS/checkpatch-series.log"
done
rm -f "$LOGS/checkpatch-patch.log"

# git am to a clean 7.2 (a git repository of its own, made once from the tarball; reset to
# 7.2 for every run, which rewrites only the files the series changed), then a build after
# every patch, incrementally, in $CACHE/build/series with the Rust test kernel's
# configuration (each patch keeps what Kconfig knows of it by then: the C core until the
# patch that lets Kconfig choose the Rust one). What is built is vmlinux, linked, and
# drivers/dma-buf/ with its modules: everything the series compiles (rust/ is in vmlinux),
# without the modules of drivers it does not change, such as i915.
G=$CACHE/series/linux
S=$CACHE/build/series
if [ ! -d "$G/.git" ]; then
	stage "check: a git repository of clean Linux 7.2 in $G"
	rm -rf "$G.tmp"
	mkdir -p "$G.tmp"
	run_logged "$LOGS/series-extract.log" tar -C "$G.tmp" --strip-components=1 -xf "$(linux_tarball)"
	# -f: the tarball's .gitignore (Debian's) ignores everything at the top level.
	(cd "$G.tmp" && git init -q && git add -A -f && git -c user.name=dmabuf-rs \
		-c user.email=dmabuf-rs@localhost commit -q -m "Linux 7.2" && git tag v7.2) ||
		die "could not make the repository of Linux 7.2"
	mv "$G.tmp" "$G"
fi
git -C "$G" am --abort >/dev/null 2>&1
# -x: files a previous run's series added are ignored by that .gitignore once untracked.
git -C "$G" reset -q --hard v7.2 && git -C "$G" clean -fdxq || die "could not reset $G to v7.2"
config=$(kbuild_dir rust)/config
[ -f "$config" ] || "$TOP/harness/build.sh" rust || exit 1
mkdir -p "$S"
n=0
for p in "$P"/0*.patch; do
	case $p in */0000-cover-letter.patch) continue ;; esac
	n=$((n + 1))
	name=$(basename "$p" .patch)
	if ! git -C "$G" -c user.name=dmabuf-rs -c user.email=dmabuf-rs@localhost am -q "$p" \
		>"$LOGS/series-am.log" 2>&1; then
		note "git am: $name does not apply to Linux 7.2 with the patches before it"
		sed 's/^/    /' "$LOGS/series-am.log" | head -20
		die "make check found problems (logs above)"
	fi
	stage "check: series patch $n, $name: building"
	cmp -s "$config" "$S/.config" || cp "$config" "$S/.config"
	if ! in_root make -C "$G" O="$S" LLVM="$LLVM" -j"$JOBS" olddefconfig vmlinux drivers/dma-buf/ \
		>"$LOGS/series-build-$n.log" 2>&1; then
		note "the tree does not build after $name: $LOGS/series-build-$n.log"
		grep -E -m5 '(error|Error)' "$LOGS/series-build-$n.log" | sed 's/^/    /'
		die "make check found problems (logs above)"
	fi
done
core=$(grep -E '^CONFIG_DMABUF_CORE_(C|RUST)=y' "$S/.config" | cut -d= -f1)
note "all $n patches apply with git am and build; the last build's core: ${core:-none}"
[ "$core" = CONFIG_DMABUF_CORE_RUST ] || { note "the series' last build is not of the Rust core"; failed=1; }

# The README's configuration for real hardware, on the clean tree with the series: a
# distribution-like x86_64_defconfig with Rust and i915 as a module keeps the Rust core
# through olddefconfig (configured only).
D=$CACHE/build/series-defconfig
stage "check: x86_64_defconfig + RUST + DRM_I915=m + DMABUF_CORE_RUST, olddefconfig (configure only)"
mkdir -p "$D"
if in_root make -C "$G" O="$D" LLVM="$LLVM" x86_64_defconfig >"$LOGS/series-defconfig.log" 2>&1 &&
	in_root "$G/scripts/config" --file "$D/.config" --enable RUST --module DRM_I915 \
		--disable DMABUF_CORE_C --enable DMABUF_CORE_RUST >>"$LOGS/series-defconfig.log" 2>&1 &&
	in_root make -C "$G" O="$D" LLVM="$LLVM" olddefconfig >>"$LOGS/series-defconfig.log" 2>&1; then
	for want in CONFIG_RUST=y CONFIG_DRM_I915=m CONFIG_DMABUF_CORE_RUST=y; do
		grep -qx "$want" "$D/.config" || {
			note "x86_64_defconfig + RUST + DRM_I915=m: no $want after olddefconfig"
			failed=1
		}
	done
else
	note "configuring x86_64_defconfig failed: $LOGS/series-defconfig.log"
	failed=1
fi

# The series and the tree the other targets build are the same files.
stage "check: the series applied is the tree in $KSRC"
if ! diffs=$(git -C "$G" diff --name-only v7.2 HEAD | while read -r f; do
	cmp -s "$G/$f" "$KSRC/$f" || echo "$f"
done) || [ -n "$diffs" ]; then
	note "files of the series that differ from $KSRC: $diffs"
	failed=1
fi
[ "$failed" = 0 ] || die "make check found problems (logs above)"
stage "check: clean"
