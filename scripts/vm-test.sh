#!/usr/bin/env bash
# Run the tests that need what this project's hosts lack — a pure cgroup v2
# hierarchy and systemd as PID 1 — inside the throwaway VM of ../shared/vm,
# in ONE boot (it takes 70-90 s under software emulation).
#
# On the host: stage the built ./berth, the test helpers and tests/vm into
# .vmstage/ (shared into the guest at the same path), then run the bats
# files there (VM_BATS: which ones, default tests/vm). Needs root, qemu and debootstrap (installed here if missing;
# the guest image is built once and cached by the VM scripts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
VM=${BERTH_VM_DIR:-$repo/../shared/vm}
stage=$repo/.vmstage

[ -x "$repo/berth" ] || { echo "vm-test: ./berth is not built (make build)" >&2; exit 2; }
[ -x "$VM/vm-run.sh" ] || [ -f "$VM/vm-run.sh" ] || { echo "vm-test: no VM scripts at $VM" >&2; exit 2; }
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
	echo "vm-test: installing ${need[*]}"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

rm -rf "$stage"
mkdir -p "$stage/tests"
cp "$repo/berth" "$stage/"
cp -r "$repo/tests/integration" "$repo/tests/vm" "$stage/tests/"
# CRIU for tests/vm/checkpoint.bats: the guest image has none, so the one
# scripts/install-criu.sh unpacked here (criu, its libraries and their own
# loader; CRIU_PREFIX) is copied in with a wrapper like the host's. Without
# it those tests skip.
criu_prefix=${CRIU_PREFIX:-/opt/criu4}
if [ -x "$criu_prefix/usr/sbin/criu" ]; then
	cp -a "$criu_prefix" "$stage/criu"
	mkdir -p "$stage/bin"
	libs=$stage/criu/usr/lib/x86_64-linux-gnu
	printf '#!/bin/sh\nexec %s/ld-linux-x86-64.so.2 --library-path %s %s/criu/usr/sbin/criu "$@"\n' \
		"$libs" "$libs" "$stage" >"$stage/bin/criu"
	chmod 755 "$stage/bin/criu"
else
	echo "vm-test: no CRIU at $criu_prefix (scripts/install-criu.sh): checkpoint tests will skip" >&2
fi
cat >"$stage/guest.sh" <<GUEST
set -u
[ -d "$stage/bin" ] && export PATH="$stage/bin:\$PATH"
echo "vm-test: \$(uname -r), cgroup \$(stat -f -c %T /sys/fs/cgroup), \$(systemctl --version | head -1)"
BERTH="\$PWD/berth" bats --timing ${VM_BATS:-tests/vm}
GUEST
rc=0
bash "$VM/vm-run.sh" -t "${VM_TIMEOUT:-1500}" "$stage" bash ./guest.sh || rc=$?
rm -rf "$stage"
exit "$rc"
