#!/bin/sh
# install-criu.sh - make sure a working CRIU (>= 4.2) is on PATH for berth's
# checkpoint and restore.
#
# Debian 12 ships CRIU 3.17, which fails `criu check` on 6.x kernels (the vDSO
# layout changed; CRIU >= 4.0 handles it). CRIU 4.0 and 4.1 cannot dump a TCP
# socket on kernels >= 6.16, which refuse SO_PASSCRED/SO_PASSSEC on it
# ("sockets: Can't get 1:16 opt: Operation not supported"; fixed in 4.2,
# criu PR 2719). Debian's testing (forky) ships CRIU 4.2, built against a
# newer glibc. This script downloads that criu and the libraries it needs
# (their dependency closure, as apt computes it) with apt-get download (no
# system upgrade, nothing installed through dpkg), unpacks them under PREFIX,
# and installs a `criu` wrapper at /usr/local/sbin/criu that runs it through
# that release's own dynamic loader, so the system's libraries are never
# mixed with it.
#
# Idempotent and quick: when the criu first on PATH (or the wrapper) already
# is MIN_VERSION or newer and passes `criu check`, it only says so and exits.
#
# usage: install-criu.sh [PREFIX]   (default /opt/criu4)
# env:   DEBIAN_MIRROR  the Debian archive to fetch from (default: the one
#                       this machine's apt sources already use)
#        CRIU_SUITE     the Debian suite to take criu from (default forky)
#        PREFIX_ONLY=1  unpack into PREFIX, do not touch the wrapper (used
#                       to stage CRIU for the test VM)
set -eu
PREFIX=${1:-/opt/criu4}
SUITE=${CRIU_SUITE:-forky}
MIN_VERSION=40200
WRAPPER=/usr/local/sbin/criu
say() { printf 'install-criu: %s\n' "$*"; }

criu_version() { # CMD -> major*10000+minor*100+sub
	"$1" --version 2>/dev/null | sed -n 's/^Version: //p' | head -1 |
		awk -F. '{ printf "%d\n", $1 * 10000 + $2 * 100 + $3 }'
}
criu_works() { # CMD -> true if new enough and it passes `criu check` (needs root)
	[ -x "$1" ] && [ "$(criu_version "$1")" -ge "$MIN_VERSION" ] 2>/dev/null &&
		"$1" check >/dev/null 2>&1
}
if [ -z "${PREFIX_ONLY:-}" ]; then
	for c in "$WRAPPER" "$(command -v criu 2>/dev/null || true)"; do
		[ -n "$c" ] || continue
		if criu_works "$c"; then
			say "$c: $("$c" --version | sed -n 's/^Version: //p' | head -1) works"
			exit 0
		fi
	done
fi
[ "$(id -u)" = 0 ] || { say "error: no working criu; run as root to install one" >&2; exit 1; }

apt_mirror() {
	# The Debian archive this machine's apt is set up with (not the security one).
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && sed -n -E 's/^URIs:[[:space:]]*([^[:space:]]+).*/\1/p; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' "$f"
	done | grep -E '/debian/?$' | head -n 1 || true
}
MIRROR=${DEBIAN_MIRROR:-$(apt_mirror)}
[ -n "$MIRROR" ] || { say "error: no Debian archive found in apt sources; set DEBIAN_MIRROR" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial" "$WORK/debs"
echo "deb $MIRROR $SUITE main" >"$WORK/sources.list"
# A private apt state: the suite's lists never reach the system's apt.
APT="-o Dir::Etc::sourcelist=$WORK/sources.list -o Dir::Etc::sourceparts=/dev/null -o Dir::State::lists=$WORK/lists -o Dir::Cache=$WORK/cache -o APT::Sandbox::User=root"
say "fetching $SUITE's criu and its libraries"
# shellcheck disable=SC2086 # $APT is a list of options
apt-get $APT update -qq
cd "$WORK/debs"
# criu and its run-time dependency closure, the suite's libc (whose loader
# runs the lot) included.
# shellcheck disable=SC2086
PKGS=$(apt-cache $APT depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances --no-pre-depends criu | grep -v '^[ <]' | sort -u)
# shellcheck disable=SC2086
apt-get $APT download -qq $PKGS
rm -rf "$PREFIX"
mkdir -p "$PREFIX"
for d in *.deb; do dpkg -x "$d" "$PREFIX"; done
if [ -n "${PREFIX_ONLY:-}" ]; then
	say "$SUITE's criu unpacked in $PREFIX"
	exit 0
fi
mkdir -p "$(dirname "$WRAPPER")"
cat >"$WRAPPER.tmp" <<WRAP
#!/bin/sh
# criu from Debian $SUITE, unpacked in $PREFIX by berth's scripts/install-criu.sh
exec $PREFIX/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $PREFIX/usr/lib/x86_64-linux-gnu:$PREFIX/lib/x86_64-linux-gnu $PREFIX/usr/sbin/criu "\$@"
WRAP
chmod 755 "$WRAPPER.tmp"
mv "$WRAPPER.tmp" "$WRAPPER"
"$WRAPPER" check
say "$("$WRAPPER" --version | sed -n 's/^Version: //p' | head -1) installed at $WRAPPER"
if [ "$(command -v criu)" != "$WRAPPER" ]; then
	say "warning: $(command -v criu) comes first on PATH; put $(dirname "$WRAPPER") before it" >&2
fi
