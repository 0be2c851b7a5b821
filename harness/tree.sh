#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tree.sh: make the kernel source tree: Linux 7.2 from the linux-source-7.2 package, the
# patch series in patches/ applied in order, and the overlay (the files of this repository at
# kernel paths) copied in. Unchanged files keep their timestamps, so build trees rebuild
# incrementally. A tree whose series changed is made anew (extracted to a temporary folder
# and renamed, so a half-extracted tree is never used).
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

series_id() {
	cd "$TOP" || exit 1
	{
		echo "$1"
		sed -e 's/#.*//' -e '/^[[:space:]]*$/d' patches/series |
			while read -r p; do echo "$p"; cat "patches/$p"; done
	} | sha256sum | cut -d' ' -f1
}

apply_series() {
	local tree=$1 p
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TOP/patches/series" | while read -r p; do
		[ -f "$TOP/patches/$p" ] || die "patches/series names $p, which is missing"
		if patch -d "$tree" -p1 -R --dry-run -s -f <"$TOP/patches/$p" >/dev/null 2>&1; then
			continue # already applied (a tree the user supplied)
		fi
		patch -d "$tree" -p1 -s -f --no-backup-if-mismatch <"$TOP/patches/$p" ||
			{ echo "patch $p does not apply"; exit 1; }
	done
}

if [ "${1:-}" = --list ]; then
	overlay_files
	exit 0
fi

tarball=$BUILD_ROOT/usr/src/linux-source-7.2.tar.xz
host_root && tarball=/usr/src/linux-source-7.2.tar.xz

if [ "$KSRC" = "$CACHE/src/linux" ]; then
	[ -f "$tarball" ] || die "$tarball is missing: install Debian's linux-source-7.2 (make root does)"
	id=$(series_id "$(stat -c %s "$tarball")")
	if [ "$(cat "$KSRC/.dmabuf-rs-series" 2>/dev/null)" != "$id" ]; then
		stage "kernel tree: extracting linux-source-7.2 and applying patches/series"
		rm -rf "$KSRC.tmp"
		mkdir -p "$KSRC.tmp"
		run_logged "$LOGS/tree-extract.log" tar -C "$KSRC.tmp" --strip-components=1 -xf "$tarball"
		run_logged "$LOGS/tree-patch.log" apply_series "$KSRC.tmp"
		echo "$id" >"$KSRC.tmp/.dmabuf-rs-series"
		rm -rf "$KSRC"
		mv "$KSRC.tmp" "$KSRC"
	fi
else
	[ -f "$KSRC/Makefile" ] || die "KSRC=$KSRC is not a kernel source tree"
	grep -q '^PATCHLEVEL = 2$' "$KSRC/Makefile" && grep -q '^VERSION = 7$' "$KSRC/Makefile" ||
		die "KSRC=$KSRC is not Linux 7.2"
	run_logged "$LOGS/tree-patch.log" apply_series "$KSRC"
fi

# Copy the overlay; only files whose content changed get a new timestamp.
manifest=$KSRC/.dmabuf-rs-overlay
new=$(overlay_files)
copied=0
while read -r f; do
	[ -n "$f" ] || continue
	if ! cmp -s "$TOP/$f" "$KSRC/$f"; then
		mkdir -p "$(dirname "$KSRC/$f")"
		cp "$TOP/$f" "$KSRC/$f"
		copied=$((copied + 1))
	fi
done <<<"$new"
# A file that left the overlay must leave the tree too. Overlay files that replace upstream
# ones are not allowed (upstream files change through patches), so deleting is enough.
if [ -f "$manifest" ]; then
	comm -23 "$manifest" <(echo "$new") | while read -r f; do
		[ -n "$f" ] && rm -f "$KSRC/$f"
	done
fi
echo "$new" >"$manifest"
[ "$copied" = 0 ] || note "overlay: $copied file(s) updated in $KSRC"
