#!/usr/bin/env bash
# Run the OCI runtime-tools validation suite (../shared/conformance) against
# ./berth and check the number of passing tests against the floor recorded
# in tests/conformance/floor: fewer passes than the floor is a regression.
#
# Usage: scripts/conformance.sh [TEST_NAME ...]
# Env:   BERTH (default ./berth), OCI_HARNESS (the harness script),
#        CONFORMANCE_ROOT (berth --root for the suite, default
#        /run/berth-conformance, so it never meets other containers).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
BERTH=${BERTH:-$repo/berth}
HARNESS=${OCI_HARNESS:-$repo/../shared/conformance/oci-validation.sh}
ROOT=${CONFORMANCE_ROOT:-/run/berth-conformance}
floor=$(cat tests/conformance/floor)

[ -x "$BERTH" ] || { echo "conformance: $BERTH is not built (make build)" >&2; exit 2; }
[ -f "$HARNESS" ] || { echo "conformance: no harness at $HARNESS (set OCI_HARNESS)" >&2; exit 2; }

out=$(mktemp -d /tmp/berth-conformance.XXXXXX)
trap 'rm -rf "$out"' EXIT
# The harness writes its per-test logs to OCI_VALIDATION_OUT; keep them only
# for the run. Its exit status is 1 when any test fails, which is expected
# today: the floor decides.
set +e
OCI_VALIDATION_OUT="$out/results" RUNTIME_ARGS="--root $ROOT" \
	bash "$HARNESS" "$BERTH" "$@" | tee "$out/tap"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -le 1 ] || { echo "conformance: the harness failed (exit $rc)" >&2; exit 2; }

summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/tap" | tail -n 1)
passed=${summary%% passed*}
echo "conformance: $summary (floor: $floor passed)"
grep -E '^not ok' "$out/tap" | sed 's/ #.*//; s/^/conformance: failing: /' || true
if [ $# -eq 0 ] && [ "$passed" -lt "$floor" ]; then
	echo "conformance: $passed passed, below the floor of $floor: a regression" >&2
	exit 1
fi
