#!/usr/bin/env bash
# demo.sh - run one busybox container with berth and show what it sees.
#
# Builds a bundle in a temp dir from the host's static busybox, makes its
# config.json with `berth spec` (edited with jq), runs it in the foreground with
# `berth run`, then deletes the container and the temp dir. Exits with the
# container's exit status. Needs root, jq and busybox-static (`make deps`).
#
# Environment: BERTH (default: ./berth at the repo root), BUSYBOX (/bin/busybox).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH=${BERTH:-$REPO/berth}
BUSYBOX=${BUSYBOX:-/bin/busybox}

die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }
(( EUID == 0 )) || die "must run as root (containers need it)"
[[ -x $BERTH ]] || die "no berth binary at $BERTH: run \`make build\`"
[[ -x $BUSYBOX ]] || die "no busybox at $BUSYBOX: run \`make deps\` (busybox-static)"
command -v jq >/dev/null || die "jq not found: run \`make deps\`"

ID=demo-$$
DIR=$(mktemp -d /tmp/berth-demo.XXXXXX)
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  "$BERTH" delete -f "$ID" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# rootfs: busybox plus one symlink per applet, and a minimal passwd/group
RF=$DIR/rootfs
mkdir -p "$RF"/{bin,dev,etc,proc,root,sys,tmp}
cp "$BUSYBOX" "$RF/bin/busybox"
for applet in $("$RF/bin/busybox" --list); do
  [[ $applet == busybox || -e $RF/bin/$applet ]] || ln -s busybox "$RF/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$RF/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$RF/etc/group"

# config.json: berth's default spec, then our process, env and hostname
(cd "$DIR" && "$BERTH" spec) || die "\`$BERTH spec\` failed"
# shellcheck disable=SC2016 # $(hostname), $$ and $CONTAINER_ID expand in the container
script='echo hostname: $(hostname); echo pid: $$; echo id: $CONTAINER_ID'
jq --arg id "$ID" --arg script "$script" '
    .process.terminal = false
  | .process.args = ["sh", "-c", $script]
  | .process.env = ((.process.env // []) | map(select(startswith("CONTAINER_ID=") | not))) + ["CONTAINER_ID=" + $id]
  | .hostname = "berth-demo"
' "$DIR/config.json" > "$DIR/config.json.new"
mv "$DIR/config.json.new" "$DIR/config.json"

echo "demo: bundle $DIR (busybox rootfs, config from \`berth spec\`)"
echo "demo: $BERTH run --bundle $DIR $ID"
rc=0
"$BERTH" run --bundle "$DIR" "$ID" </dev/null || rc=$?
echo "demo: container $ID exited with status $rc"
exit "$rc"
