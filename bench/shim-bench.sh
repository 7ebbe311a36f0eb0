#!/usr/bin/env bash
# Shim memory and `ctr run --rm` time: containerd-shim-brig-v2 against Debian's
# containerd-shim-runc-v2 (with runc, and with brig as its BinaryName), in the same run, on a
# private containerd. Usage: bench/shim-bench.sh [BUILD_DIR] [N_CONTAINERS] [N_RUNS]
set -euo pipefail
build=$(realpath "${1:-/work/build-shim}")
n=${2:-5}
runs=${3:-20}
shim=$build/containerd-shim-brig-v2
brig=${BRIG:-$build/brig}
dir=$(mktemp -d /tmp/brig-ctd-bench-XXXXXX)
sock=$dir/containerd.sock
ctr() { command ctr -a "$sock" "$@"; }

mkdir -p "$dir/bin" "$dir/rootfs"/{bin,proc,sys,dev,etc,tmp}
ln -s "$shim" "$dir/bin/containerd-shim-brig-v2"
cp /bin/busybox "$dir/rootfs/bin/"
for a in $(/bin/busybox --list); do [ -e "$dir/rootfs/bin/$a" ] || ln -s busybox "$dir/rootfs/bin/$a"; done
cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
TOML
PATH=$dir/bin:$PATH setsid containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
ctd=$!
cleanup() {
  for id in $(ctr task ls -q 2>/dev/null); do ctr task kill -s KILL "$id" || true; done
  sleep 0.5
  for id in $(ctr task ls -q 2>/dev/null); do ctr task delete -f "$id" || true; done
  for id in $(ctr c ls -q 2>/dev/null); do ctr c rm "$id" || true; done
  kill "$ctd"; wait "$ctd" || true
  rm -rf "$dir"
}
trap cleanup EXIT
until ctr version >/dev/null 2>&1; do sleep 0.1; done

# kB of a process's memory: Rss, Pss, Private (clean + dirty).
mem() { awk '/^Rss:/{r=$2} /^Pss:/{p=$2} /^Private_(Clean|Dirty):/{v+=$2} END{print r, p, v}' "/proc/$1/smaps_rollup"; }
# Shim daemons only: brig's per-container monitor watcher is forked from the shim (same command
# line) but renames itself brig-monitor.
shim_pids() {
  for pid in $(pgrep -f "$1.*-address $sock"); do
    [ "$(cat /proc/$pid/comm 2>/dev/null)" = brig-monitor ] || echo "$pid"
  done
}

report() {  # name pattern
  local total_r=0 total_p=0 total_v=0 count=0
  for pid in $(shim_pids "$2"); do
    read -r r p v < <(mem "$pid")
    total_r=$((total_r + r)); total_p=$((total_p + p)); total_v=$((total_v + v)); count=$((count + 1))
  done
  [ "$count" -gt 0 ] || { echo "$1: no shim found"; return; }
  printf '%-28s %2d shims  RSS %6d kB  PSS %6d kB  private %6d kB  (per shim)\n' "$1" "$count" \
    $((total_r / count)) $((total_p / count)) $((total_v / count))
}

for i in $(seq "$n"); do
  ctr run -d --runtime io.containerd.brig.v2 --rootfs "$dir/rootfs" "brig$i" /bin/sleep 1000
  ctr run -d --runtime io.containerd.runc.v2 --rootfs "$dir/rootfs" "runc$i" /bin/sleep 1000
done
echo "== shim memory with $n containers each"
report containerd-shim-brig-v2 containerd-shim-brig-v2
report containerd-shim-runc-v2 containerd-shim-runc-v2
# Where one brig shim's resident memory is: kB Rss/Pss per mapping (file, [heap], [stack], anon).
breakdown() {
  awk '/^[0-9a-f]+-[0-9a-f]+ /{name=($6=="" ? "[anon]" : $6)} /^Rss:/{r[name]+=$2} /^Pss:/{p[name]+=$2}
       END{for (n in r) if (r[n]) printf "  %-60s Rss %5d kB  Pss %5d kB\n", n, r[n], p[n]}' "/proc/$1/smaps" | sort -k3 -nr
  grep -E '^(Threads|VmHWM)' "/proc/$1/status" | sed 's/^/  /'
}
first=$(shim_pids containerd-shim-brig-v2 | sed -n 1p)
[ -z "$first" ] || { echo "== one containerd-shim-brig-v2 ($first)"; breakdown "$first"; }
for id in $(ctr task ls -q); do ctr task kill -s KILL "$id"; done
sleep 1
for id in $(ctr task ls -q); do ctr task delete "$id" >/dev/null; ctr c rm "$id"; done

timeit() {  # label, ctr run args...
  local label=$1; shift
  local start end
  start=$(date +%s%N)
  for i in $(seq "$runs"); do ctr run --rm "$@" --rootfs "$dir/rootfs" "t$i" /bin/true; done
  end=$(date +%s%N)
  printf '%-36s %7.1f ms per container (%d runs)\n' "$label" "$(echo "($end - $start) / $runs / 1000000" | bc -l)" "$runs"
}
echo "== ctr run --rm /bin/true"
timeit "runc shim + runc" --runtime io.containerd.runc.v2
timeit "runc shim + brig (--runc-binary)" --runtime io.containerd.runc.v2 --runc-binary "$brig"
timeit "brig shim" --runtime io.containerd.brig.v2
