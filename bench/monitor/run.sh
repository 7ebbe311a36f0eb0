#!/usr/bin/env bash
# bench/monitor: what brig's eBPF monitor costs a syscall-heavy container, and how fast a kill
# rule stops a forbidden exec. Not a test (CI does not run it). Needs root, a brig binary
# (Release: cmake -DCMAKE_BUILD_TYPE=Release), redis-server + redis-tools (scripts/install-deps).
#
#   bench/monitor/run.sh [path/to/brig]      env: ROUNDS=3 OPENS=2000000 EXECS=2000 MMAPS=1000000
#                                                 REDIS_REQUESTS=100000 KILLS=20
#                                                 CPU=<last> (the CPU the loops run on)
#
# In the SAME run, alternating: each workload in a brig container with the monitor off
# ({"monitor":{"enabled":false}}: the container is not registered) and on (default rules,
# default config). brig attaches its programs only while a container is registered, so "off"
# runs with no brig BPF program attached (other builds' pin dirs under /sys/fs/bpf/brig, if any
# hold a container, keep theirs: the bench says so). Also a host process's open+close loop with
# no container registered and with one (a `sleep` container): what watching a container costs
# the rest of the host. And the exec loop with a kill rule decided in user space, which makes
# every exec of the container wait for the watcher's verdict ("exec held").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
brig=${1:-$here/../../build-monbench/brig}
rounds=${ROUNDS:-3}
opens=${OPENS:-2000000}
execs=${EXECS:-2000}
mmaps=${MMAPS:-1000000}
redis_requests=${REDIS_REQUESTS:-100000}
kills=${KILLS:-20}
cpu=${CPU:-$(($(nproc) - 1))}

[ "$(id -u)" = 0 ] || { echo "bench/monitor: needs root" >&2; exit 1; }
[ -x "$brig" ] || { echo "bench/monitor: no brig at $brig (pass its path)" >&2; exit 1; }
for tool in redis-server redis-benchmark redis-cli python3 c++; do
  command -v "$tool" >/dev/null || {
    echo "bench/monitor: $tool missing (scripts/install-deps installs redis-server redis-tools)" >&2
    exit 1
  }
done

work=$(mktemp -d /tmp/brig-monbench-XXXXXX)
root=$work/state
cleanup() {
  for id in $("$brig" --root "$root" list -q 2>/dev/null); do
    "$brig" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# The rootfs: the host's /usr (read-only bind) behind Debian's merged-/usr links, plus the workload.
bundle=$work/bundle
mkdir -p "$bundle"/rootfs/{usr,proc,sys,dev,tmp,etc,bench} "$root"
for link in bin sbin lib lib64; do ln -s "usr/$link" "$bundle/rootfs/$link"; done
cp /etc/passwd /etc/group "$bundle/rootfs/etc/"
c++ -std=c++20 -O2 -static "$here/workload.cpp" -o "$bundle/rootfs/bench/workload"
cp "$bundle/rootfs/bench/workload" "$bundle/rootfs/bench/forbidden"
(cd "$bundle" && "$brig" spec >/dev/null 2>&1) || (cd "$bundle" && "$brig" spec)

set_args() {  # set_args ARG... : process.args of the bundle
  python3 - "$bundle/config.json" "$@" <<'EOF'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = args
c["root"]["readonly"] = False
mounts = [m for m in c.get("mounts", []) if m["destination"] != "/usr"]
mounts.append({"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]})
c["mounts"] = mounts
json.dump(c, open(path, "w"))
EOF
}

echo '{"monitor": {"enabled": false}}' >"$work/off.json"
echo '{}' >"$work/on.json"
cat >"$work/forbidden.yaml" <<'EOF'
- rule: bench forbidden binary
  desc: the program bench/monitor must never see run
  condition: evt.type = execve and proc.name = forbidden
  output: forbidden binary run (container.id=%container.id proc.exe=%proc.exe)
  priority: CRITICAL
  action: kill
EOF
echo "{\"monitor\": {\"rules_files\": [\"$work/forbidden.yaml\"]}}" >"$work/kill.json"
# A kill rule decided in user space (proc.pname): every exec waits for the watcher's verdict.
cat >"$work/held.yaml" <<'EOF'
- rule: bench judged exec
  desc: a rule the kernel maps cannot express, that never matches the bench
  condition: spawned_process and proc.pname = no-such-parent and proc.name = forbidden
  output: judged (container.id=%container.id proc.exe=%proc.exe)
  priority: CRITICAL
  action: kill
EOF
echo "{\"monitor\": {\"rules_files\": [\"$work/held.yaml\"]}}" >"$work/held.json"

n=0
in_container() {  # in_container on|off ARG... : runs to completion, prints its stdout
  local mode=$1
  shift
  set_args "$@"
  n=$((n + 1))
  "${prefix[@]}" "$brig" --root "$root" --config "$work/$mode.json" run --bundle "$bundle" "bench-$n"
}
prefix=()
# The single-process loops run pinned to one CPU (the container inherits the affinity): on a
# small VM the vCPUs' speed differs from moment to moment, and a loop migrating between them
# measures that instead of the monitor.
pinned() {  # pinned in_container ...
  local prefix=(taskset -c "$cpu")
  "$@"
}

redis_script="redis-server --port 0 --unixsocket /tmp/redis.sock --save '' --appendonly no \
--daemonize yes --dir /tmp --logfile /tmp/redis.log
until redis-cli -s /tmp/redis.sock ping >/dev/null 2>&1; do sleep 0.05; done
redis-benchmark -s /tmp/redis.sock -n $redis_requests -t set,get --csv
redis-cli -s /tmp/redis.sock shutdown nosave >/dev/null 2>&1 || true"

host_loop() {  # host_loop off|on: the workload's open+close loop on the host, pinned
  local mode=$1
  if [ "$mode" = on ]; then
    set_args /bin/sleep 3600
    "$brig" --root "$root" --config "$work/on.json" create --bundle "$bundle" host-sleep >/dev/null
  fi
  results[host-openclose-$mode]+=" $(taskset -c "$cpu" "$bundle/rootfs/bench/workload" openclose "$opens" | awk '{print $2}')"
  results[host-mmap-$mode]+=" $(taskset -c "$cpu" "$bundle/rootfs/bench/workload" mmap "$mmaps" | awk '{print $2}')"
  results[host-mmapexec-$mode]+=" $(taskset -c "$cpu" "$bundle/rootfs/bench/workload" mmapexec "$mmaps" /usr/lib/x86_64-linux-gnu/libc.so.6 | awk '{print $2}')"
  if [ "$mode" = on ]; then "$brig" --root "$root" delete --force host-sleep >/dev/null; fi
}

others=$(for d in /sys/fs/bpf/brig/*/links; do [ -e "$d" ] && echo "$d"; done)
[ -z "$others" ] || echo "bench/monitor: other brig builds have programs attached: $others" >&2

declare -A results
for round in $(seq "$rounds"); do
  for mode in off on; do
    host_loop $mode
    results[openclose-$mode]+=" $(pinned in_container $mode /bench/workload openclose "$opens" | awk '{print $2}')"
    results[exec-$mode]+=" $(pinned in_container $mode /bench/workload exec "$execs" | awk '{print $2}')"
    results[mmapexec-$mode]+=" $(pinned in_container $mode /bench/workload mmapexec "$mmaps" /usr/lib/x86_64-linux-gnu/libc.so.6 | awk '{print $2}')"
    csv=$(in_container $mode /bin/sh -c "$redis_script")
    results[redis-set-$mode]+=" $(echo "$csv" | awk -F'"' '$2=="SET"{print $4}')"
    results[redis-get-$mode]+=" $(echo "$csv" | awk -F'"' '$2=="GET"{print $4}')"
  done
  results[exec-held]+=" $(pinned in_container held /bench/workload exec "$execs" | awk '{print $2}')"
  echo "round $round/$rounds done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "brig monitor bench: $(uname -r), $(nproc) cpus, $rounds rounds (median), brig $brig"
printf '%-22s %14s %14s %10s\n' workload "monitor off" "monitor on" "lost"
for w in openclose exec mmapexec redis-set redis-get host-openclose host-mmap host-mmapexec; do
  off=$(echo "${results[$w-off]}" | median)
  on=$(echo "${results[$w-on]}" | median)
  lost=$(awk -v a="$off" -v b="$on" 'BEGIN {printf "%.1f%%", (a - b) / a * 100}')
  unit=ops/s
  [[ $w == redis-* ]] && unit=req/s
  printf '%-22s %14s %14s %10s\n' "$w ($unit)" "$off" "$on" "$lost"
  [[ $w == *openclose || $w == *mmap* ]] && awk -v a="$off" -v b="$on" -v w="$w" \
    'BEGIN {printf "  %s: %.0f ns more per pair of calls\n", w, (1e9 / b - 1e9 / a)}'
done

# The exec loop with a rule judged before exec (every exec held for the watcher's verdict).
held=$(echo "${results[exec-held]}" | median)
on=$(echo "${results[exec-on]}" | median)
awk -v a="$on" -v b="$held" 'BEGIN {
  printf "%-22s %14s %14s %10.1f%%  (on, and on with a rule judged before exec)\n", "exec held (ops/s)", a, b, (a - b) / a * 100
  printf "  exec held: %.0f us more per fork+exec+wait\n", 1e6 / b - 1e6 / a }'

# Forbidden exec -> container dead: the workload stamps CLOCK_MONOTONIC right before execve;
# the host side stamps the moment the container's init (the exec-ing process) is gone.
set_args /bench/workload forbidden /bench/forbidden
latencies=()
ran=never
for i in $(seq "$kills"); do
  id=kill-$i
  rm -f "$bundle/rootfs/forbidden-ran"
  "$brig" --root "$root" --config "$work/kill.json" create --bundle "$bundle" \
    --pid-file "$work/$id.pid" "$id" >"$work/$id.out" 2>&1
  dead=$("$bundle/rootfs/bench/workload" death "$work/$id.pid" \
    "$brig" --root "$root" --config "$work/kill.json" start "$id")
  exec_at=$(head -1 "$work/$id.out")
  [ -e "$bundle/rootfs/forbidden-ran" ] && ran="yes ($id)"
  latencies+=("$(((dead - exec_at) / 1000))")
  for _ in $(seq 50); do  # the watcher records the kill after the kernel's SIGKILL
    killed_by=$("$brig" --root "$root" state "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("killedByRule",""))')
    [ -n "$killed_by" ] && break
    sleep 0.1
  done
  [ "$killed_by" = "bench forbidden binary" ] || echo "$id: killedByRule '$killed_by'" >&2
  "$brig" --root "$root" delete --force "$id" >/dev/null
done
sorted=$(printf '%s\n' "${latencies[@]}" | sort -n)
echo "forbidden exec -> container dead ($kills runs): median $(echo "$sorted" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}') us," \
  "max $(echo "$sorted" | tail -1) us; the forbidden program ran: $ran"
