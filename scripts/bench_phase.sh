#!/usr/bin/env bash
# Benchmark of `compare phase` (the batched small-system kernel): two attnflow binaries run back
# to back, alternating, on a cut of the GLPR d = 2 setting (SA, N = 32, T = 30, 200 output
# intervals; 8 betas x 256 systems by default), one thread each; prints every run's CPU (user +
# sys) and wall seconds, the medians and the ratio of CPU medians (old / new), and the load.
#   scripts/bench_phase.sh OLD_BINARY NEW_BINARY [ROUNDS] [extra compare phase flags...]
# e.g. a baseline built from another commit:
#   git worktree add /tmp/base cdd1e79 && (cd /tmp/base && cargo build --release)
#   scripts/bench_phase.sh /tmp/base/target/release/attnflow target/release/attnflow 5
set -euo pipefail
old=$1 new=$2 rounds=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(compare phase --dims 2 --systems 256 --betas 8 --steps 200 "$@")
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for which in old new; do
    bin=$old; [ "$which" = new ] && bin=$new
    rm -rf "$tmp/$which"
    /usr/bin/time -f "%U %S %e" -o "$tmp/t" env RAYON_NUM_THREADS=1 "$bin" "${args[@]}" --out "$tmp/$which" >/dev/null
    read -r u s e < "$tmp/t"
    cpu=$(echo "$u + $s" | bc)
    echo "$which round $r: cpu $cpu s wall $e s"
    echo "$cpu $e" >> "$tmp/$which.times"
  done
  cmp -s "$tmp/old/phase_d2.png" "$tmp/new/phase_d2.png" && echo "  (same figure)" || true
done
med() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
oc=$(cut -d' ' -f1 "$tmp/old.times" | med); nc=$(cut -d' ' -f1 "$tmp/new.times" | med)
ow=$(cut -d' ' -f2 "$tmp/old.times" | med); nw=$(cut -d' ' -f2 "$tmp/new.times" | med)
echo "median cpu: old $oc s, new $nc s, ratio $(echo "scale=2; $oc / $nc" | bc)"
echo "median wall: old $ow s, new $nw s, ratio $(echo "scale=2; $ow / $nw" | bc)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
