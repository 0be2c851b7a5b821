#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build.sh CORE: build the kernel for one dma-buf core and install it into
# $CACHE/build/CORE (bzImage, System.map, Module.symvers, config, modules under mod/); with
# FLAVOUR=bench, make bench's kernel into $CACHE/build/bench-CORE, from its own tree.
#
# Both cores are built in one O= tree, $CACHE/build/kbuild: the configs differ only in the
# core choice, so switching reconfigures and rebuilds just what depends on it, instead of a
# second full kernel. The release string is the same for both, so modules built out of tree
# against that tree load on either kernel.
. "$(dirname "$0")/lib.sh"

core=$1
check_core "$core"
B=$(kbuild_tree)
I=$(kbuild_dir "$core")
# Logs and messages name the flavour's kernel: "rust", or "bench-rust".
name=$(flavour_prefix)$core
case ${FLAVOUR:-} in
# make bench: as a distribution builds its kernel, without the test kernels' debugging.
bench)
	case ${BENCH_INLINE_HELPERS:=y} in
	y | n) ;;
	*) die "BENCH_INLINE_HELPERS is y or n, not '$BENCH_INLINE_HELPERS'" ;;
	esac
	FRAGMENTS="dmabuf.config dmabuf_bench.config dmabuf_bench_helpers_$BENCH_INLINE_HELPERS.config dmabuf_core_$core.config"
	;;
"") FRAGMENTS="dmabuf.config dmabuf_debug.config dmabuf_sanitize.config dmabuf_faults.config dmabuf_core_$core.config" ;;
*) die "unknown FLAVOUR '$FLAVOUR' (bench, or unset for the test kernels)" ;;
esac
mkdir -p "$B"
kmake() { in_root make -C "$KSRC" O="$B" LLVM="$LLVM" "$@"; }

# Every symbol a fragment asks for must be in the final .config: a dependency that Kconfig
# silently dropped would otherwise show up much later as a skipped test.
check_config() {
	local f line sym want got bad=0
	for f in $FRAGMENTS; do
		while read -r line; do
			case "$line" in
			CONFIG_*=*) sym=${line%%=*} want=${line#*=} ;;
			"# CONFIG_"*" is not set") sym=${line#\# } sym=${sym%% *} want=n ;;
			*) continue ;;
			esac
			got=$(grep -E "^$sym=" "$B/.config" | cut -d= -f2-)
			[ -n "$got" ] || got=n
			if [ "$got" != "$want" ]; then
				echo "$f: $sym=$want requested, the .config has $sym=$got"
				bad=1
			fi
		done <"$KSRC/kernel/configs/$f"
	done
	return $bad
}

# The config is allnoconfig plus tinyconfig's fragments plus ours, in one Kconfig run (a
# `make tinyconfig a.config b.config` chain runs Kconfig once per fragment, minutes each).
allconfig() {
	cat "$KSRC/kernel/configs/tiny-base.config" "$KSRC/kernel/configs/tiny.config" \
		"$KSRC/arch/x86/configs/tiny.config"
	(cd "$KSRC/kernel/configs" && cat $FRAGMENTS)
}
cfgid=$( (allconfig; cat "$KSRC/.dmabuf-rs-series" "$KSRC/.dmabuf-rs-kconfig") | sha256sum | cut -d' ' -f1)
if [ ! -f "$B/.config" ] || [ "$(cat "$B/.dmabuf-rs-config" 2>/dev/null)" != "$cfgid" ]; then
	stage "kernel ($name): configuring allnoconfig + tinyconfig + $FRAGMENTS"
	rm -f "$B/.dmabuf-rs-config"
	allconfig >"$B/dmabuf-rs.allconfig"
	run_logged "$LOGS/config-$name.log" kmake KCONFIG_ALLCONFIG="$B/dmabuf-rs.allconfig" allnoconfig
	if ! check_config >"$LOGS/config-check-$name.log"; then
		die "kernel ($name): config fragments not satisfied, see $LOGS/config-check-$name.log:
$(sed 's/^/    /' "$LOGS/config-check-$name.log")"
	fi
	echo "$cfgid" >"$B/.dmabuf-rs-config"
fi

stage "kernel ($name): building bzImage and modules in $B (log: $LOGS/build-$name.log)"
run_logged "$LOGS/build-$name.log" kmake -j"$JOBS" bzImage modules

rm -rf "$I.tmp"
mkdir -p "$I.tmp"
run_logged "$LOGS/modules-install-$name.log" kmake INSTALL_MOD_PATH="$I.tmp/mod" INSTALL_MOD_STRIP=1 modules_install
cp "$B/arch/x86/boot/bzImage" "$B/System.map" "$B/Module.symvers" "$B/include/config/kernel.release" "$I.tmp/"
cp "$B/.config" "$I.tmp/config"
rm -rf "$I"
mv "$I.tmp" "$I"
note "kernel ($name): $(cat "$I/kernel.release") installed in $I"
