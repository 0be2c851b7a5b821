# SPDX-License-Identifier: GPL-2.0
# Common settings and helpers for the dmabuf-rs harness. Sourced, not run.
#
# Everything the harness creates lives outside the checkout except out/ (ignored):
#   $CACHE/root          the Debian sid build root (toolchain, QEMU, IGT)
#   $CACHE/src/linux     Linux 7.2 with the patch series applied and the overlay synced
#   $CACHE/build/kbuild  the O= build tree (both cores, one after the other)
#   $CACHE/build/<core>  the kernel and modules installed for each core (c, rust)
#   $CACHE/build/bench-* the same for make bench's kernels (FLAVOUR=bench)
#   $TOP/out             logs, guest output and results of the last runs

set -o pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DMABUF_RS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/dmabuf-rs}
# BUILD_ROOT=/ runs every step with the host's own tools (see README, "Your own toolchain").
BUILD_ROOT=${BUILD_ROOT:-$CACHE/root}
KSRC=${KSRC:-$CACHE/src/linux}
OUT=${OUT:-$TOP/out}
LOGS=$OUT/logs
# LLVM suffix matching rustc's LLVM in the sid root; override with LLVM=1 for the default clang.
LLVM=${LLVM:--22}
JOBS=${JOBS:-$(nproc)}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SUITE=${DEBIAN_SUITE:-sid}

: "${DMABUF_RS_T0:=$(date +%s)}"
export DMABUF_RS_T0

elapsed() {
	local s=$(( $(date +%s) - DMABUF_RS_T0 ))
	printf '%02d:%02d:%02d' $((s / 3600)) $((s / 60 % 60)) $((s % 60))
}

# stage NAME: announce a stage with the elapsed time since the first harness command.
stage() { printf '[dmabuf-rs %s] %s\n' "$(elapsed)" "$*"; }
note() { printf '[dmabuf-rs %s]   %s\n' "$(elapsed)" "$*"; }
die() { printf '[dmabuf-rs %s] error: %s\n' "$(elapsed)" "$*" >&2; exit 1; }

# run_logged LOG CMD...: run CMD with its output in LOG; on failure name the log and show
# its tail, then stop.
run_logged() {
	local log=$1; shift
	mkdir -p "$(dirname "$log")"
	if ! "$@" >"$log" 2>&1; then
		printf '[dmabuf-rs %s] error: step failed, log: %s\n' "$(elapsed)" "$log" >&2
		tail -n 25 "$log" | sed 's/^/    /' >&2
		exit 1
	fi
}

host_root() { [ "$BUILD_ROOT" = / ]; }

# Who makes the patch series: its From and Signed-off-by, and the M: of its MAINTAINERS entry.
# PATCH_FROM='Name <address>', else git's user.name and user.email; `make patches` requires
# one of them (a Signed-off-by certifies the Developer's Certificate of Origin, which only its
# signer can), the tree takes a placeholder without (its MAINTAINERS only shows it).
series_author() {
	local name email
	if [ -n "${PATCH_FROM:-}" ]; then
		echo "$PATCH_FROM"
		return
	fi
	name=$(git -C "$TOP" config user.name 2>/dev/null)
	email=$(git -C "$TOP" config user.email 2>/dev/null)
	if [ -n "$name" ] && [ -n "$email" ]; then
		echo "$name <$email>"
	elif [ "${1:-}" = --required ]; then
		die "make patches: set PATCH_FROM='Name <address>' (or git's user.name and user.email): the patches' From and Signed-off-by are yours"
	else
		echo "dmabuf-rs <dmabuf-rs@localhost>"
	fi
}
# The linux-source-7.2 package's tarball, in the build root (or on the host, as the root).
linux_tarball() {
	if host_root; then
		echo /usr/src/linux-source-7.2.tar.xz
	else
		echo "$BUILD_ROOT/usr/src/linux-source-7.2.tar.xz"
	fi
}
# series_py --author WHO ARGS: harness/series.py on this checkout's patches/ and overlay.
series_py() {
	local list rc
	list=$(mktemp)
	"$TOP/harness/tree.sh" --list >"$list"
	mkdir -p "$CACHE"
	# One at a time: series.py makes its repository anew in $CACHE/series.
	flock "$CACHE/series.lock" python3 "$TOP/harness/series.py" --top "$TOP" \
		--work "$CACHE/series" --tarball "$(linux_tarball)" --overlay "$list" \
		--date "$(series_date)" "$@"
	rc=$?
	rm -f "$list"
	return $rc
}
# The date of the series' commits: that of the checkout's last commit, so the series is the
# same whenever it is made from one commit.
series_date() { git -C "$TOP" log -1 --format=%cI 2>/dev/null || echo 2026-01-01T00:00:00Z; }

# in_root CMD...: run CMD inside the build root, in the current directory, with the checkout
# and the cache visible at the same paths. A private mount namespace means no mount outlives
# the command, even if it is killed.
in_root() {
	if host_root; then
		"$@"
		return
	fi
	[ -x "$BUILD_ROOT/bin/sh" ] || die "no build root at $BUILD_ROOT (run: make root)"
	unshare --mount --fork -- "$TOP/harness/enter-root.sh" "$BUILD_ROOT" "$PWD" \
		"$TOP" "$CACHE" "$OUT" -- "$@"
}

# The one O= build tree both cores are built in, where each core's kernel is installed, and
# where the test modules built against it go. FLAVOUR=bench selects make bench's kernels
# instead (built like a distribution kernel, kernel/configs/dmabuf_bench.config): a tree of
# their own, so that neither flavour rebuilds the other.
flavour_prefix() { echo "${FLAVOUR:+$FLAVOUR-}"; }
kbuild_tree() { echo "$CACHE/build/$(flavour_prefix)kbuild"; }
kbuild_dir() { echo "$CACHE/build/$(flavour_prefix)$1"; }
testmods_dir() { echo "$CACHE/build/$(flavour_prefix)modules"; }

# source_id: what the results of a run are of: the checkout's commit, plus a hash of its
# uncommitted changes if there are any. The mutations (tests/mutations/) and the scripts that
# run and judge them are left out: they change nothing that `make test` runs.
source_id() {
	local head dirty
	local -a not=(':!tests/mutations' ':!harness/mutation.sh' ':!harness/mutation_verdict.py')
	head=$(git -C "$TOP" rev-parse --short=12 HEAD 2>/dev/null) || { echo unversioned; return; }
	dirty=$(cd "$TOP" && {
		git diff HEAD -- . "${not[@]}"
		git ls-files --others --exclude-standard -z -- . "${not[@]}" | xargs -0r cat
	} | sha256sum | cut -c1-12)
	if [ -z "$(cd "$TOP" && git status --porcelain -- . "${not[@]}")" ]; then
		echo "$head"
	else
		echo "$head+$dirty"
	fi
}

# The C compiler for guest programs: the build root's clang, the one LLVM names.
host_cc() {
	case "$LLVM" in
	-*) echo "clang$LLVM" ;;
	*) echo clang ;;
	esac
}

check_core() {
	case "$1" in
	c|rust) ;;
	*) die "CORE must be c or rust, not '$1'" ;;
	esac
}
