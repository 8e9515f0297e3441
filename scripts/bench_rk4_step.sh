#!/usr/bin/env bash
# One classical RK4 step of a whole `attnflow particles` run against blocked numpy (issue 12,
# item 1): N = 16384, d = 3, beta = 9, USA, exact summation, the default diagnostics
# (harmonic power C_1..C_16, clusters, energy, speed; merging check), run back to back.
#
# attnflow: the real CLI run, timed twice with S1 and S2 steps of RK4 (dt = 0.1 in tau); the
# cost of one step is (T(S2) - T(S1)) / (S2 - S1), which removes start-up, the initial
# evaluation, the initial and final snapshots and run.json/view.html. Both runs have at most
# 200 steps, so with the default --series-points 200 a diagnostics row is recorded after EVERY
# step (the most expensive cadence the default allows; longer runs record fewer rows).
# numpy: scripts/numpy_reference_particles.py --rk4 (four right-hand sides, renormalised stages,
# energy, speed and harmonic power of the new state; no clusters), one step per round.
# Each round measures 1 thread CPU time (user + sys, RAYON_NUM_THREADS=1 / --threads 1
# --cpu-time) and wall time on 2 threads; prints every value, the medians and the ratios.
#   scripts/bench_rk4_step.sh [BINARY] [ROUNDS] [S1] [S2]
# defaults: target/release/attnflow 3 2 12
set -euo pipefail
bin=${1:-target/release/attnflow} rounds=${2:-3} s1=${3:-2} s2=${4:-12}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dt=0.1
run() { # threads steps -> "cpu wall"
  rm -rf "$tmp/run"
  /usr/bin/time -f "%U %S %e" -o "$tmp/t" env RAYON_NUM_THREADS="$1" "$bin" particles --dim 3 \
    --n 16384 --beta 9 --method exact --time scaled --dt $dt \
    --t-end "$(echo "$2 * $dt" | bc -l)" --out "$tmp/run" >/dev/null
  read -r u s e < "$tmp/t"
  echo "$(echo "$u + $s" | bc -l) $e"
}
np() { # threads [--cpu-time]
  python3 "$here/numpy_reference_particles.py" --rk4 --n 16384 --repeat 1 --threads "$@" \
    | awk '/median/ {print $4}'
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  read -r c1 _ <<< "$(run 1 "$s1")"; read -r c2 _ <<< "$(run 1 "$s2")"
  a1=$(echo "($c2 - $c1) / ($s2 - $s1)" | bc -l)
  n1=$(np 1 --cpu-time)
  read -r _ w1 <<< "$(run 2 "$s1")"; read -r _ w2 <<< "$(run 2 "$s2")"
  a2=$(echo "($w2 - $w1) / ($s2 - $s1)" | bc -l)
  n2=$(np 2)
  printf "round %d: 1 thread cpu: attnflow %.3f s/step (runs %s, %s s), numpy %s s; 2 threads wall: attnflow %.3f s/step (runs %s, %s s), numpy %s s; load %s\n" \
    "$r" "$a1" "$c1" "$c2" "$n1" "$a2" "$w1" "$w2" "$n2" "$(cut -d' ' -f1 /proc/loadavg)"
  echo "$a1 $n1 $a2 $n2" >> "$tmp/all"
done
med() { sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m() { cut -d' ' -f"$1" "$tmp/all" | med; }
echo "median 1 thread cpu: attnflow $(m 1) s, numpy $(m 2) s, ratio $(echo "scale=1; $(m 2) / $(m 1)" | bc -l)x"
echo "median 2 threads wall: attnflow $(m 3) s, numpy $(m 4) s, ratio $(echo "scale=1; $(m 4) / $(m 3)" | bc -l)x"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
