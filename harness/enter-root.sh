#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# enter-root.sh ROOT CWD DIR... -- CMD...: runs in a fresh mount namespace (see in_root in
# lib.sh). Binds /proc, /dev and /sys and each DIR at its own path into ROOT, then runs CMD
# there in CWD.
set -e
root=$1 cwd=$2
shift 2
mount --make-rprivate /
mount --bind /proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
while [ "$1" != -- ]; do
	mkdir -p "$1" "$root$1"
	mount --bind "$1" "$root$1"
	shift
done
shift
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C.UTF-8
cd "$root$cwd" 2>/dev/null || true
exec chroot "$root" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$cwd" "$@"
