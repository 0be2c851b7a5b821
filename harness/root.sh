#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# root.sh: create (once) or complete the Debian build root that holds the toolchain, the
# Linux 7.2 source package, QEMU and IGT. Re-running it is cheap: it only installs what is
# missing. An interrupted creation is started over, never trusted.
. "$(dirname "$0")/lib.sh"

# Kernel build (Rust needs rustc, rust-src and bindgen; clang-22/lld-22/llvm-22 match rustc's
# LLVM), the kernel source, kselftest builds, the guest userland (QEMU, IGT, busybox), and
# for make bench's BTF and BPF iterator program pahole, bpftool and libbpf's headers.
PACKAGES="make bc bison flex cpio xz-utils python3 perl kmod rsync patch libc6-dev pkg-config
 libelf-dev libssl-dev rustc rust-src bindgen rustfmt rust-clippy clang llvm lld libclang-dev
 clang-22 lld-22 llvm-22 linux-source-7.2 qemu-system-x86 ipxe-qemu seabios busybox-static
 igt-gpu-tools igt-gpu-tools-tests libcap-dev libdrm-dev dwarves bpftool libbpf-dev"

host_root && { note "BUILD_ROOT=/: using the host's tools, no build root made"; exit 0; }

stamp=$BUILD_ROOT/.dmabuf-rs-packages
want=$(echo $PACKAGES | tr ' ' '\n' | sort | tr '\n' ' ')
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi

[ "$(id -u)" = 0 ] || die "making the build root needs root (debootstrap, chroot)"

if [ ! -f "$BUILD_ROOT/.dmabuf-rs-base" ]; then
	stage "build root: debootstrap $DEBIAN_SUITE into $BUILD_ROOT"
	if ! command -v debootstrap >/dev/null; then
		command -v apt-get >/dev/null || die "debootstrap is missing; install it (Debian package debootstrap)"
		note "installing debootstrap on the host"
		run_logged "$LOGS/host-apt.log" sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap'
	fi
	rm -rf "$BUILD_ROOT.tmp"
	mkdir -p "$(dirname "$BUILD_ROOT")"
	# debootstrap only needs the base; everything else comes from apt below.
	run_logged "$LOGS/debootstrap.log" debootstrap --variant=minbase \
		--include=ca-certificates "$DEBIAN_SUITE" "$BUILD_ROOT.tmp" "$DEBIAN_MIRROR"
	rm -rf "$BUILD_ROOT"
	mv "$BUILD_ROOT.tmp" "$BUILD_ROOT"
	: > "$BUILD_ROOT/.dmabuf-rs-base"
fi

stage "build root: installing packages"
cp -L /etc/resolv.conf "$BUILD_ROOT/etc/resolv.conf" 2>/dev/null || true
# The archive copy served here can be past its Release Valid-Until date.
run_logged "$LOGS/root-apt.log" in_root sh -c "
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o Acquire::Check-Valid-Until=false update &&
	apt-get install -y --no-install-recommends $want &&
	apt-get clean"
echo "$want" > "$stamp"
note "build root ready ($(du -sh "$BUILD_ROOT" 2>/dev/null | cut -f1))"
