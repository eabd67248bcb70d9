#!/usr/bin/env bash
# install-deps.sh - install what building, testing and benchmarking berth needs
# on Debian 12 (bookworm). Idempotent: when everything is present it only runs
# dpkg-query and exits, without touching apt.
#
# Environment: GO (Go binary; default: `go` on PATH, else /usr/local/go/bin/go).
# Go itself is not installed here: Debian 12's golang-go (1.19) is older than the
# go directive in go.mod; we check for it and fail with a clear message instead.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

# package -> a command (or path) it provides; either one being present is enough
# (a hand-installed bats or runc counts). "-" = only dpkg can tell.
PKGS=(
  make:make
  gcc:gcc
  libc6-dev:-
  pkg-config:pkg-config
  libseccomp-dev:-
  bats:bats
  busybox-static:-
  jq:jq
  time:/usr/bin/time
  iproute2:ip
  procps:ps
  util-linux:unshare
  runc:runc
  crun:crun
  iptables:iptables-restore   # CRIU locks a container's network with it
  libcap2-bin:capsh           # tests name capabilities with it
  qemu-system-x86:qemu-system-x86_64   # make vmtest
  qemu-utils:qemu-img
  debootstrap:debootstrap
)

installed() {  # PKG -> true if dpkg knows it as installed
  [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]
}

busybox_ok() {  # a static busybox at /bin/busybox (needed for test rootfs)
  installed busybox-static && return 0
  [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1
}

missing=()
for entry in "${PKGS[@]}"; do
  pkg=${entry%%:*} cmd=${entry#*:}
  case $pkg in
    busybox-static) busybox_ok && continue ;;
    *) installed "$pkg" && continue
       [[ $cmd != - ]] && command -v "$cmd" >/dev/null 2>&1 && continue ;;
  esac
  missing+=("$pkg")
done

if (( ${#missing[@]} > 0 )); then
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them by hand"
  SUDO=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null || die "missing ${missing[*]}: run as root to install them"
    SUDO=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  say "installing: ${missing[*]}"
  # a fresh image has empty package lists: update once, then install
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
  say "installed: ${missing[*]}"
else
  say "all packages present"
fi

# CRIU 4 (Debian 12's 3.17 fails on 6.x kernels) for checkpoint/restore
bash "$REPO/scripts/install-criu.sh" || die "no working criu: checkpoint/restore tests cannot run"

# ---------------------------------------------------------------- Go
need=$(awk '$1 == "go" {print $2; exit}' "$REPO/go.mod" 2>/dev/null || true)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
if [[ ! -x $GO ]] && ! command -v "$GO" >/dev/null 2>&1; then
  die "Go not found: $GO (default: \`go\` on PATH, else /usr/local/go/bin/go).
  berth needs Go ${need:-1.26} or newer. Debian 12's golang-go package is 1.19, too old:
  unpack an official Go release tarball to /usr/local/go (so /usr/local/go/bin/go exists),
  or pass GO=/path/to/go."
fi
have=$(GOTOOLCHAIN=local "$GO" env GOVERSION 2>/dev/null || true)
have=${have#go}
if [[ -n $need && -n $have && $(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1) != "$need" ]]; then
  die "$GO is Go $have; go.mod needs Go $need or newer.
  Put a newer Go at /usr/local/go/bin/go (or first on PATH), or pass GO=/path/to/go."
fi
say "go: $GO (go${have:-?})"
