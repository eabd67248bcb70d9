#!/bin/sh
# install-criu.sh - make sure a working CRIU (>= 4.0) is on PATH for berth's
# checkpoint and restore.
#
# Debian 12 ships CRIU 3.17, which fails `criu check` on 6.x kernels (the vDSO
# layout changed; CRIU >= 4.0 handles it). Debian's next release (trixie) ships
# CRIU 4.1, built against a newer glibc. This script downloads trixie's criu
# and the libraries it needs with apt-get download (no system upgrade, nothing
# installed through dpkg), unpacks them under PREFIX, and installs a `criu`
# wrapper at /usr/local/sbin/criu that runs it through trixie's own dynamic
# loader, so the system's libraries are never mixed with trixie's.
#
# Idempotent and quick: when the criu first on PATH (or the wrapper) already
# passes `criu check`, it only says so and exits.
#
# usage: install-criu.sh [PREFIX]   (default /opt/criu4)
# env:   DEBIAN_MIRROR  the Debian archive to fetch trixie from (default: the
#                       one this machine's apt sources already use)
set -eu
PREFIX=${1:-/opt/criu4}
WRAPPER=/usr/local/sbin/criu
say() { printf 'install-criu: %s\n' "$*"; }

criu_works() { # CMD -> true if it runs and passes `criu check` (needs root)
	[ -x "$1" ] && "$1" check >/dev/null 2>&1
}
for c in "$WRAPPER" "$(command -v criu 2>/dev/null || true)"; do
	[ -n "$c" ] || continue
	if criu_works "$c"; then
		say "$c: $("$c" --version | sed -n 's/^Version: //p' | head -1) works"
		exit 0
	fi
done
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
echo "deb $MIRROR trixie main" >"$WORK/sources.list"
# A private apt state: trixie's lists never reach the system's apt.
APT="-o Dir::Etc::sourcelist=$WORK/sources.list -o Dir::Etc::sourceparts=/dev/null -o Dir::State::lists=$WORK/lists -o Dir::Cache=$WORK/cache -o APT::Sandbox::User=root"
say "fetching trixie's criu and its libraries"
# shellcheck disable=SC2086 # $APT is a list of options
apt-get $APT update -qq
cd "$WORK/debs"
# criu's run-time libraries, their own dependencies, and trixie's libc (whose
# loader runs the lot).
# shellcheck disable=SC2086
apt-get $APT download -qq criu libcompel1 libc6 libgnutls30t64 libnftables1 libnl-3-200 \
	libprotobuf-c1 libnet1 libbsd0 libuuid1 libnftnl11 libmnl0 libjansson4 libxtables12 \
	libidn2-0 libunistring5 libtasn1-6 libnettle8t64 libhogweed6t64 libgmp10 libp11-kit0 \
	libffi8 libmd0 libedit2 libtinfo6 libbpf1 libelf1t64 zlib1g libzstd1
rm -rf "$PREFIX"
mkdir -p "$PREFIX"
for d in *.deb; do dpkg -x "$d" "$PREFIX"; done
mkdir -p "$(dirname "$WRAPPER")"
cat >"$WRAPPER.tmp" <<WRAP
#!/bin/sh
# criu from Debian trixie, unpacked in $PREFIX by berth's scripts/install-criu.sh
exec $PREFIX/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $PREFIX/usr/lib/x86_64-linux-gnu:$PREFIX/lib/x86_64-linux-gnu $PREFIX/usr/sbin/criu "\$@"
WRAP
chmod 755 "$WRAPPER.tmp"
mv "$WRAPPER.tmp" "$WRAPPER"
"$WRAPPER" check
say "$("$WRAPPER" --version | sed -n 's/^Version: //p' | head -1) installed at $WRAPPER"
if [ "$(command -v criu)" != "$WRAPPER" ]; then
	say "warning: $(command -v criu) comes first on PATH; put $(dirname "$WRAPPER") before it" >&2
fi
