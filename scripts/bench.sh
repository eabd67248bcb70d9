#!/usr/bin/env bash
# bench.sh - berth vs runc vs crun on one busybox bundle (run as root).
#
# Metrics, each interleaved per repetition (every runtime in turn, the order
# rotated by the repetition number, so drift on a shared machine hits all alike):
#   run          RT run --bundle B id  of /bin/true in the foreground: wall ms,
#                and CPU ms (user+sys of the runtime and every child it reaped)
#   create       RT create of `sleep 1000` (wall, CPU)
#   start        RT start (wall, CPU)
#   exec         RT exec id /bin/true into that running container, in the
#                foreground (wall, CPU)
#   delete -f    RT delete -f of the running container (wall; CPU counted until
#                the container is reaped, so it includes the container's own
#                CPU: the runtime's init code before exec, not seen in create)
#   kill         RT kill id KILL (wall)
#   delete       RT delete after kill, once the process has exited (wall, CPU)
#   rss run      peak RSS (MiB) of run, from /usr/bin/time -f %M
# Each runtime gets its own --root. The table shows the median per runtime and
# the ratio to crun (runtime / crun). A runtime whose binary is missing or that
# fails a smoke `run` is skipped with a note; the others are still measured.
#
# Environment (defaults in brackets):
#   REPS [30]  measured repetitions       WARMUP [2]  discarded repetitions first
#   BERTH [<repo>/berth]  RUNC [/usr/sbin/runc]  CRUN [/usr/bin/crun]
#                (set one to "" to leave that runtime out)
#   BUSYBOX [/bin/busybox]   OUT [<repo>/bench-results/<date>]
#   SPEC_FROM [runc]  binary whose `spec` makes the base config.json
#   SPEC_JQ [.]       extra jq filter applied to it, for every runtime alike
#
# On a cgroup v1/v2 hybrid host whose /sys/fs/cgroup/unified/cgroup.controllers
# lists controllers, crun refuses to run; the whole benchmark (every runtime
# alike) then runs in a private mount namespace where that file reads empty.
# The benchmark shell is a child subreaper (prctl PR_SET_CHILD_SUBREAPER via
# perl), so containers that exit are reaped by it, as a containerd shim would.
# Every container and the temp dir are removed on exit, also on error or ^C.
set -euo pipefail
export LC_ALL=C

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
die() { printf 'bench: error: %s\n' "$*" >&2; exit 2; }
note() { printf 'bench: %s\n' "$*" >&2; }

[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,/^set -e/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0; }
(( EUID == 0 )) || die "must run as root"

# ---------------------------------------------------------------- re-exec
# First pass: become a subreaper, and mask the cgroup v2 controllers list if it
# would make crun refuse; then re-exec this script as the measuring shell.
if [[ -z ${_BENCH_INNER:-} ]]; then
  export _BENCH_INNER=1 _BENCH_T0=$EPOCHSECONDS _BENCH_MASK=0 _BENCH_REAPER=0
  ctl=/sys/fs/cgroup/unified/cgroup.controllers
  if [[ -r $ctl && $(stat -f -c %T /sys/fs/cgroup) != cgroup2fs && -n $(<"$ctl") ]]; then
    _BENCH_MASK=1
  fi
  cmd=("$BASH" "$SELF" "$@")
  case $(uname -m) in x86_64) nr=157 ;; aarch64) nr=167 ;; *) nr= ;; esac   # prctl
  if [[ -n $nr ]] && command -v perl >/dev/null; then
    _BENCH_REAPER=1
    # prctl(PR_SET_CHILD_SUBREAPER = 36, 1) is kept across execve
    cmd=(perl -e "syscall($nr, 36, 1, 0, 0, 0) == 0 or die \"prctl: \$!\\n\"; exec {\$ARGV[0]} @ARGV or die \"exec: \$!\\n\"" "${cmd[@]}")
  else
    note "no perl or unknown arch: not a subreaper (exited containers go to init)"
  fi
  if (( _BENCH_MASK )); then
    exec unshare --mount --propagation private "${cmd[@]}"
  fi
  exec "${cmd[@]}"
fi

# ---------------------------------------------------------------- setup
REPS=${REPS:-30}
WARMUP=${WARMUP:-2}
BUSYBOX=${BUSYBOX:-/bin/busybox}
OUT=${OUT:-$REPO/bench-results/$(date +%Y%m%d-%H%M%S)}
[[ $REPS =~ ^[1-9][0-9]*$ && $WARMUP =~ ^[0-9]+$ ]] || die "REPS must be > 0, WARMUP >= 0"
command -v jq >/dev/null || die "jq not found (make deps)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (make deps: package time)"
[[ -x $BUSYBOX ]] || die "no static busybox at $BUSYBOX (make deps: busybox-static)"

WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
PFX=bb$$            # every container id starts with this
NAMES=() BINS=() ROOTS=()   # runtimes measured
ALL_BINS=() ALL_ROOTS=()    # every runtime tried (cleanup covers them all)

cleanup() {
  local rc=$? i id d
  trap - EXIT INT TERM HUP
  set +e
  for i in "${!ALL_BINS[@]}"; do
    for d in "${ALL_ROOTS[i]}"/*/; do
      [[ -d $d ]] || continue
      id=$(basename "$d")
      "${ALL_BINS[i]}" --root "${ALL_ROOTS[i]}" delete -f "$id" </dev/null >/dev/null 2>&1
      [[ -d $d ]] && note "WARNING: ${ALL_BINS[i]} could not delete container $id"
    done
  done
  # cgroups a crashed runtime left behind: named after our container ids
  find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -depth -type d -name "$PFX-*" -exec rmdir {} + 2>/dev/null
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM HUP

if (( _BENCH_MASK )); then
  : > "$WORK/empty"
  mount --bind "$WORK/empty" /sys/fs/cgroup/unified/cgroup.controllers \
    || die "cannot mask /sys/fs/cgroup/unified/cgroup.controllers"
fi
mkdir -p "$WORK"/{log,samples,true,sleep}

# one busybox rootfs, two configs (/bin/true and sleep 1000) pointing at it
RF=$WORK/rootfs
mkdir -p "$RF"/{bin,dev,etc,proc,sys,tmp}
cp "$BUSYBOX" "$RF/bin/busybox"
for a in sh true sleep; do ln -s busybox "$RF/bin/$a"; done
echo 'root:x:0:0:root:/:/bin/sh' > "$RF/etc/passwd"
echo 'root:x:0:' > "$RF/etc/group"

# ---------------------------------------------------------------- runtimes
add_runtime() {  # NAME PATH
  local name=$1 bin=$2
  if [[ -z $bin ]]; then note "$name: left out (empty path)"; return; fi
  if [[ ! -x $bin ]]; then note "$name: skipped, no executable at $bin"; return; fi
  NAMES+=("$name"); BINS+=("$bin"); ROOTS+=("$WORK/state-$name")
  ALL_BINS+=("$bin"); ALL_ROOTS+=("$WORK/state-$name")
}
add_runtime berth "${BERTH-$REPO/berth}"
add_runtime runc "${RUNC-/usr/sbin/runc}"
add_runtime crun "${CRUN-/usr/bin/crun}"
(( ${#BINS[@]} > 0 )) || die "no runtime to measure"

# base config from `runc spec` (else the first runtime's spec, or SPEC_FROM's)
specbin=${SPEC_FROM:-}
if [[ -z $specbin ]]; then
  specbin=${BINS[0]}
  for i in "${!NAMES[@]}"; do if [[ ${NAMES[i]} == runc ]]; then specbin=${BINS[i]}; fi; done
fi
(cd "$WORK" && "$specbin" spec) || die "$specbin spec failed"
jq --arg rf "$RF" ".root.path = \$rf | .process.terminal = false | .process.args = [\"/bin/true\"] | ${SPEC_JQ:-.}" \
  "$WORK/config.json" > "$WORK/true/config.json" || die "jq failed on the spec (SPEC_JQ=${SPEC_JQ:-})"
jq '.process.args = ["/bin/sleep", "1000"]' "$WORK/true/config.json" > "$WORK/sleep/config.json"

# ---------------------------------------------------------------- helpers
# cpu_now: CPU = user+sys µs of every child this shell has reaped (builtin
# `times`, ms resolution; no fork, so nothing of ours lands in the window)
cpu_now() {
  local line u s
  times > "$WORK/times"
  { read -r line; read -r u s; } < "$WORK/times"
  to_us "$u"; CPU=$US
  to_us "$s"; CPU=$(( CPU + US ))
}
to_us() {  # "1m2.345s" -> US (µs)
  US=0
  [[ $1 =~ ^([0-9]+)m([0-9]+)\.([0-9]+)s$ ]] || return 0
  local frac=${BASH_REMATCH[3]}000000
  US=$(( (10#${BASH_REMATCH[1]} * 60 + 10#${BASH_REMATCH[2]}) * 1000000 + 10#${frac:0:6} ))
}
# rt I ARGS...: run runtime I with ARGS; WALL, DCPU = µs spent (C0 = CPU at the
# start); returns its status
rt() {
  local i=$1 c0 t0 rc=0; shift
  cpu_now; c0=$CPU C0=$CPU
  t0=${EPOCHREALTIME/./}
  "${BINS[i]}" --root "${ROOTS[i]}" "$@" </dev/null >/dev/null 2>>"$WORK/log/${NAMES[i]}" || rc=$?
  WALL=$(( ${EPOCHREALTIME/./} - t0 ))
  cpu_now; DCPU=$(( CPU - c0 ))
  return "$rc"
}
REP=0
rec() {  # METRIC I VALUE (skipped during warm-up)
  (( REP >= 0 )) && echo "$3" >> "$WORK/samples/$1.${NAMES[$2]}"
  return 0
}
fail() {  # METRIC I ID: count the failure, remove the container
  (( REP >= 0 )) && echo "$REP" >> "$WORK/samples/$1.${NAMES[$2]}.fail"
  echo "rep $REP: $1 failed ($3)" >> "$WORK/log/${NAMES[$2]}"
  "${BINS[$2]}" --root "${ROOTS[$2]}" delete -f "$3" </dev/null >/dev/null 2>&1 || true
}
# wait_gone PID: wait (max 5 s) until the process is gone, so that we reap it
# (as subreaper) here and not inside a later measured window
wait_gone() {
  local pid=$1 n line st
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  for ((n = 0; n < 500; n++)); do
    { read -r line < "/proc/$pid/stat"; } 2>/dev/null || return 0
    st=${line##*) } st=${st%% *}
    [[ $st == Z ]] && (( ! _BENCH_REAPER || n > 100 )) && return 0
    sleep 0.01
  done
  return 1
}
pid_of() { local p=; read -r p < "$WORK/pid" 2>/dev/null || true; echo "$p"; }

# one repetition of everything, for runtime I
measure() {
  local i=$1 id=$PFX-${NAMES[$1]}-$REP pid kb
  # (a) run /bin/true: wall + CPU
  if rt "$i" run --bundle "$WORK/true" "$id-r"; then
    rec run "$i" "$WALL"; rec cpu_run "$i" "$DCPU"
  else fail run "$i" "$id-r"; fi
  # (e) peak RSS of run
  if /usr/bin/time -f %M -o "$WORK/rss" "${BINS[i]}" --root "${ROOTS[i]}" run --bundle "$WORK/true" "$id-m" \
      </dev/null >/dev/null 2>>"$WORK/log/${NAMES[i]}"; then
    kb=$(tail -1 "$WORK/rss"); rec rss_run "$i" "$kb"
  else fail rss_run "$i" "$id-m"; fi
  # (b) create, (c) start, (d) delete -f of the running container
  rm -f "$WORK/pid"
  if ! rt "$i" create --bundle "$WORK/sleep" --pid-file "$WORK/pid" "$id-c"; then fail create "$i" "$id-c"; return 0; fi
  rec create "$i" "$WALL"; rec cpu_create "$i" "$DCPU"
  pid=$(pid_of)
  if ! rt "$i" start "$id-c"; then fail start "$i" "$id-c"; return 0; fi
  rec start "$i" "$WALL"; rec cpu_start "$i" "$DCPU"
  if rt "$i" exec "$id-c" /bin/true; then
    rec exec "$i" "$WALL"; rec cpu_exec "$i" "$DCPU"
  elif (( REP >= 0 )); then
    echo "$REP" >> "$WORK/samples/exec.${NAMES[i]}.fail"
    echo "rep $REP: exec failed ($id-c)" >> "$WORK/log/${NAMES[i]}"
  fi
  if ! rt "$i" delete -f "$id-c"; then fail delete_f "$i" "$id-c"; return 0; fi
  rec delete_f "$i" "$WALL"
  # the killed container is reaped by this shell, maybe inside the window and
  # maybe after: count up to its reaping, so its CPU is always in
  if wait_gone "$pid"; then cpu_now; rec cpu_delete_f "$i" $(( CPU - C0 ))
  else note "${NAMES[i]}: pid $pid of $id-c still alive after delete -f"; fi
  # (d) kill, then a plain delete once the process has exited
  rm -f "$WORK/pid"
  if ! rt "$i" create --bundle "$WORK/sleep" --pid-file "$WORK/pid" "$id-k" || ! rt "$i" start "$id-k"; then
    fail delete "$i" "$id-k"; return 0
  fi
  pid=$(pid_of)
  if ! rt "$i" kill "$id-k" KILL; then fail kill "$i" "$id-k"; return 0; fi
  rec kill "$i" "$WALL"
  wait_gone "$pid" || { fail delete "$i" "$id-k"; return 0; }
  if ! rt "$i" delete "$id-k"; then fail delete "$i" "$id-k"; return 0; fi
  rec delete "$i" "$WALL"; rec cpu_delete "$i" "$DCPU"
}

# ---------------------------------------------------------------- smoke
for i in "${!BINS[@]}"; do
  rc=0; rt "$i" run --bundle "$WORK/true" "$PFX-${NAMES[i]}-smoke" || rc=$?
  if (( rc != 0 )); then
    "${BINS[i]}" --root "${ROOTS[i]}" delete -f "$PFX-${NAMES[i]}-smoke" </dev/null >/dev/null 2>&1 || true
    note "${NAMES[i]}: skipped, smoke \`run\` of /bin/true exited with status $rc:"
    tail -3 "$WORK/log/${NAMES[i]}" | sed 's/^/    /' >&2
    NAMES[i]=""   # removed below
  fi
done
keep=()
for i in "${!BINS[@]}"; do [[ -n ${NAMES[i]} ]] && keep+=("$i"); done
(( ${#keep[@]} > 0 )) || die "no runtime passed the smoke run"
N2=() B2=() R2=()
for i in "${keep[@]}"; do N2+=("${NAMES[i]}"); B2+=("${BINS[i]}"); R2+=("${ROOTS[i]}"); done
NAMES=("${N2[@]}") BINS=("${B2[@]}") ROOTS=("${R2[@]}")
N=${#BINS[@]}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(uname -srm), $(nproc) cpus; cgroup: $(stat -f -c %T /sys/fs/cgroup)$([[ -d /sys/fs/cgroup/unified ]] && echo ' + unified (hybrid)'); controllers masked: $_BENCH_MASK; subreaper: $_BENCH_REAPER"
  echo "REPS=$REPS WARMUP=$WARMUP; spec from $specbin; SPEC_JQ=${SPEC_JQ:-.}"
  for i in "${!BINS[@]}"; do echo "${NAMES[i]}: ${BINS[i]} ($("${BINS[i]}" --version 2>/dev/null | head -1))"; done
  echo "loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$WORK/env.txt"
sed 's/^/bench: /' "$WORK/env.txt" >&2

# ---------------------------------------------------------------- measure
for ((REP = -WARMUP; REP < REPS; REP++)); do
  if (( REP % 10 == 0 )); then note "repetition $REP/$REPS"; fi
  for ((k = 0; k < N; k++)); do
    measure $(( (k + REP + WARMUP) % N ))
  done
done
echo "loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$WORK/env.txt"

# ---------------------------------------------------------------- report
median() {  # FILE -> median, or empty
  [[ -s $1 ]] || return 0
  sort -g "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
METRICS=(
  "run|run /bin/true|ms" "cpu_run|cpu: run /bin/true|ms"
  "create|create|ms" "cpu_create|cpu: create|ms"
  "start|start|ms" "cpu_start|cpu: start|ms"
  "exec|exec /bin/true|ms" "cpu_exec|cpu: exec /bin/true|ms"
  "delete_f|delete -f (running)|ms" "cpu_delete_f|cpu: delete -f + container|ms"
  "kill|kill KILL|ms"
  "delete|delete (after kill)|ms" "cpu_delete|cpu: delete (after kill)|ms"
  "rss_run|peak RSS, run|MiB"
)
ref=-1
for i in "${!NAMES[@]}"; do [[ ${NAMES[i]} == crun ]] && ref=$i; done
mkdir -p "$OUT"
TSV=$OUT/results.tsv TXT=$OUT/results.txt
printf 'metric\tunit\truntime\tn\tfailed\tmedian\tratio_to_crun\n' > "$TSV"
ratio() {  # A B -> A/B with 2 decimals, or -
  if [[ -n $1 && -n $2 ]]; then awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'
  else echo -; fi
}
{
  printf '%-26s %-4s' metric unit
  for n in "${NAMES[@]}"; do printf ' %9s' "$n"; done
  for n in "${NAMES[@]}"; do [[ $n == crun ]] || printf ' %11s' "$n/crun"; done
  echo
  for m in "${METRICS[@]}"; do
    IFS='|' read -r key label unit <<< "$m"
    div=1000; [[ $unit == MiB ]] && div=1024
    meds=() counts=() fails=()
    for i in "${!NAMES[@]}"; do
      f=$WORK/samples/$key.${NAMES[i]}
      med=$(median "$f")
      [[ -n $med ]] && med=$(awk -v v="$med" -v d="$div" 'BEGIN {printf "%.2f", v / d}')
      meds+=("$med")
      n=0; [[ -s $f ]] && n=$(wc -l < "$f"); counts+=("$n")
      nf=0; [[ -s $f.fail ]] && nf=$(wc -l < "$f.fail"); fails+=("$nf")
    done
    refmed=; (( ref >= 0 )) && refmed=${meds[ref]}
    printf '%-26s %-4s' "$label" "$unit"
    for med in "${meds[@]}"; do printf ' %9s' "${med:--}"; done
    for i in "${!NAMES[@]}"; do
      r=$(ratio "${meds[i]}" "$refmed")
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$unit" "${NAMES[i]}" "${counts[i]}" "${fails[i]}" "${meds[i]:-NA}" "${r/-/NA}" >> "$TSV"
      [[ ${NAMES[i]} == crun ]] || printf ' %11s' "$r"
    done
    echo
  done
  echo
  echo "median of $REPS repetitions (after $WARMUP warm-up), interleaved in rotated order;"
  echo "cpu: = user+sys of the runtime command and the children it reaped;"
  echo "ratio = runtime median / crun median$( (( ref >= 0 )) || echo ' (crun not measured: no ratios)')"
  for i in "${!NAMES[@]}"; do
    nf=$(cat /dev/null "$WORK"/samples/*."${NAMES[i]}".fail 2>/dev/null | wc -l) || true
    if (( nf > 0 )); then echo "${NAMES[i]}: $nf failed operations (see log/${NAMES[i]})"; fi
  done
  echo "elapsed: $(( EPOCHSECONDS - _BENCH_T0 )) s"
} > "$TXT"
cp -r "$WORK/env.txt" "$WORK/samples" "$WORK/log" "$OUT/"
if [[ $(basename "$(dirname "$OUT")") == bench-results ]]; then ln -sfn "$(basename "$OUT")" "$(dirname "$OUT")/latest"; fi
cat "$TXT"
note "results in $OUT (results.txt, results.tsv, env.txt, samples/, log/)"
