#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tree.sh: make the kernel source tree: Linux 7.2 from the linux-source-7.2 package with the
# patch series applied, the series that `make patches` writes (harness/series.py makes both
# from patches/series, the patches it names and the overlay, the files of this repository at
# kernel paths). Unchanged files keep their timestamps, so build trees rebuild incrementally.
# tree.sh --list prints the overlay's files.
. "$(dirname "$0")/lib.sh"

# Folders of this repository that are kernel paths.
OVERLAY_DIRS="rust drivers include Documentation tools kernel samples"

overlay_files() {
	cd "$TOP" || exit 1
	local dirs d
	for d in $OVERLAY_DIRS; do [ -e "$d" ] && dirs="$dirs $d"; done
	[ -n "$dirs" ] || return 0
	if git rev-parse --git-dir >/dev/null 2>&1; then
		git ls-files --cached --others --exclude-standard -- $dirs |
			while read -r f; do [ -f "$f" ] && echo "$f"; done
	else
		find $dirs -type f
	fi | LC_ALL=C sort
}

if [ "${1:-}" = --list ]; then
	overlay_files
	exit 0
fi

tarball=$(linux_tarball)
[ -f "$tarball" ] || die "$tarball is missing: install Debian's linux-source-7.2 (make root does)"

# series.py makes the series from patches/ and the overlay, and from the same commits writes
# the series' end state into the tree in the cache or, if each file it touches is 7.2's or
# the series' already, into a tree the user supplied.
series() { series_py --author "$(series_author)" "$@"; }
if [ "$KSRC" = "$CACHE/src/linux" ]; then
	# The tree is made anew only for another tarball (or a tree of the harness before
	# series.py): extracted to a temporary folder and renamed, so a half-extracted tree is
	# never used.
	id="series.py $(stat -c %s "$tarball")"
	if [ "$(cat "$KSRC/.dmabuf-rs-series" 2>/dev/null)" != "$id" ]; then
		stage "kernel tree: extracting linux-source-7.2"
		rm -rf "$KSRC.tmp"
		mkdir -p "$KSRC.tmp"
		run_logged "$LOGS/tree-extract.log" tar -C "$KSRC.tmp" --strip-components=1 -xf "$tarball"
		echo "$id" >"$KSRC.tmp/.dmabuf-rs-series"
		rm -rf "$KSRC"
		mv "$KSRC.tmp" "$KSRC"
	fi
	out=$(series --sync "$KSRC" 2>&1) || die "the patch series: $out"
else
	[ -f "$KSRC/Makefile" ] || die "KSRC=$KSRC is not a kernel source tree"
	grep -q '^PATCHLEVEL = 2$' "$KSRC/Makefile" && grep -q '^VERSION = 7$' "$KSRC/Makefile" ||
		die "KSRC=$KSRC is not Linux 7.2"
	out=$(series --apply "$KSRC" 2>&1) || die "the patch series: $out"
fi
[ -z "$out" ] || note "$out"
