#!/usr/bin/env bash
# A real SLURM check of `attnflow sweep --sbatch` / `attnflow merge`, on a one-node cluster
# started on this machine:
#   1. installs SLURM and munge from the Debian/Ubuntu packages if missing (needs root and apt-get,
#      see scripts/lib/apt.sh; daemons are kept from starting at install time);
#   2. starts its own munged (fresh key, private socket), slurmctld and slurmd with a slurm.conf
#      written into a temporary directory (node = `hostname -s`, CPUs from nproc, no cgroups,
#      no accounting, state and spool in the temporary directory, SlurmUser=root);
#   3. builds target/release/attnflow if missing, writes a 6-point particle sweep, generates its
#      job-array script (`attnflow sweep --sbatch --tasks 3 ...`), submits it with the real
#      `sbatch`, waits for the array (squeue, with a timeout), merges;
#   4. runs the same sweep unsharded in another directory, merges, and compares the two
#      merged/ directories byte for byte (diff -r).
# It stops the daemons it started and removes its temporary directory on every exit (success,
# failure, timeout, Ctrl-C). Exit status 0 when the merged results are identical, else 1.
# Needs root (SlurmUser=root, package installation). About 6 s once the packages are installed
# and attnflow is built (about a minute more to install the packages).
#
#   scripts/slurm_check.sh            # SLURM_CHECK_KEEP=1 keeps the temporary directory
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=scripts/lib/apt.sh
source "$root/scripts/lib/apt.sh"

step() { printf '\n==> slurm_check: %s\n' "$*"; }
fail() { printf 'slurm_check: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "needs root (it starts slurmctld/slurmd as SlurmUser=root and may install packages)"

# --- temporary directory and cleanup (on every exit) --------------------------------------
tmp=$(mktemp -d /tmp/attnflow-slurm-check.XXXXXX)
chmod 700 "$tmp"
pids=()
jobid=""
cleanup() {
    status=$?
    set +e
    if [ -n "$jobid" ] && [ -n "${SLURM_CONF:-}" ]; then
        scancel "$jobid" > /dev/null 2>&1
        for _ in $(seq 1 20); do
            [ -z "$(squeue -h -j "$jobid" 2> /dev/null)" ] && break
            sleep 0.5
        done
    fi
    if [ "${#pids[@]}" -gt 0 ]; then
        step "stopping the daemons started here (pids ${pids[*]})"
        for ((k = ${#pids[@]} - 1; k >= 0; k--)); do kill "${pids[k]}" 2> /dev/null; done
        for p in "${pids[@]}"; do
            for _ in $(seq 1 40); do kill -0 "$p" 2> /dev/null || break; sleep 0.25; done
            kill -0 "$p" 2> /dev/null && kill -9 "$p" 2> /dev/null
            wait "$p" 2> /dev/null
        done
    fi
    if [ "$status" -ne 0 ]; then
        for f in "$tmp"/log/*.log; do
            [ -f "$f" ] || continue
            echo "--- last lines of $f" >&2
            tail -n 15 "$f" >&2
        done
    fi
    apt_policy_cleanup
    if [ -n "${SLURM_CHECK_KEEP:-}" ]; then
        echo "slurm_check: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. packages ----------------------------------------------------------------------------
need=()
for b in munged slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
    command -v "$b" > /dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$b" > /dev/null 2>&1 || need+=("$b")
done
export PATH="$PATH:/usr/sbin:/sbin"
if [ "${#need[@]}" -gt 0 ]; then
    step "installing SLURM and munge (missing: ${need[*]}): apt-get install slurmctld slurmd slurm-client munge"
    apt_can_install || fail "missing ${need[*]} and $(apt_missing_reason)"
    # The packages' init scripts are kept from starting system daemons (this script starts its own).
    apt_install_quiet "$tmp/apt.log" slurmctld slurmd slurm-client munge \
        || fail "apt-get install slurmctld slurmd slurm-client munge"
fi
for b in munged slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
    command -v "$b" > /dev/null || fail "$b not found after installation"
done
echo "    $(slurmctld -V), $(munged --version 2>&1 | head -n 1 | awk '{print $1}')"

# --- 2. daemons ----------------------------------------------------------------------------
mkdir -p "$tmp/munge" "$tmp/log" "$tmp/state" "$tmp/spool"
chmod 700 "$tmp/munge"
host=$(hostname -s)
cpus=$(nproc)
# Ports away from the defaults (6817/6818), so that this check does not collide with a system SLURM.
ctld_port=$((17000 + RANDOM % 2000))
slurmd_port=$((ctld_port + 1))

step "munged with a fresh key and a private socket in $tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
sock="$tmp/munge/munge.socket"
munged --foreground --force --key-file="$tmp/munge/munge.key" --socket="$sock" \
    --pid-file="$tmp/munge/munged.pid" --seed-file="$tmp/munge/munged.seed" \
    --log-file="$tmp/log/munged.log" --num-threads=2 > "$tmp/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 40); do [ -S "$sock" ] && break; sleep 0.25; done
[ -S "$sock" ] || { cat "$tmp/log/munged.out" >&2; fail "munged did not start"; }
echo ok | munge --socket="$sock" | unmunge --socket="$sock" > /dev/null || fail "munge/unmunge round trip"

step "slurm.conf for a one-node cluster (NodeName=$host, CPUs=$cpus) in $tmp"
cat > "$tmp/slurm.conf" << EOF
# Written by scripts/slurm_check.sh: a throw-away one-node cluster.
ClusterName=attnflowcheck
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool/slurmd-%n
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MaxArraySize=1001
MinJobAge=600
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=512 State=UNKNOWN
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"

step "starting slurmctld and slurmd"
slurmctld -D -i -f "$SLURM_CONF" > "$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N "$host" -f "$SLURM_CONF" > "$tmp/log/slurmd.out" 2>&1 &
pids+=($!)

step "waiting for the node to be idle (sinfo, 60 s at most)"
state=""
for _ in $(seq 1 120); do
    for p in "${pids[@]}"; do kill -0 "$p" 2> /dev/null || { cat "$tmp"/log/*.out >&2; fail "a daemon exited (pid $p)"; }; done
    state=$(sinfo -h -n "$host" -o '%T' 2> /dev/null | head -n 1 || true)
    [ "$state" = idle ] && break
    sleep 0.5
done
[ "$state" = idle ] || fail "node $host is '${state:-not reported}' after 60 s, not idle"
sinfo

# --- 3. the sweep on SLURM ----------------------------------------------------------------
exe="$root/target/release/attnflow"
if [ ! -x "$exe" ]; then
    step "building the command line (cargo build --release --bin attnflow)"
    cargo build --release --bin attnflow
fi

step "a 6-point particle sweep as a job array of 3 tasks"
cat > "$tmp/sweep.toml" << 'EOF'
# 2 betas x 3 seeds, 64 tokens on the circle: a fraction of a second per point.
[particles]
dim = 2
n = 64
method = "exact"
series_points = 10
[sweep]
beta = [2.0, 5.0]
seed = { range = [0, 3] }
EOF
"$exe" sweep "$tmp/sweep.toml" --out "$tmp/slurm" --sbatch --tasks 3 --time 00:05:00 --cpus-per-task 1 \
    --job-name attnflow-check
[ -f "$tmp/slurm/sweep.sbatch" ] || fail "attnflow sweep --sbatch wrote no $tmp/slurm/sweep.sbatch"
sub=$(cd "$tmp" && sbatch --parsable "$tmp/slurm/sweep.sbatch") || fail "sbatch $tmp/slurm/sweep.sbatch"
jobid=${sub%%;*}
echo "    submitted job array $jobid"

step "waiting for the array to finish (squeue, 180 s at most)"
start=$(date +%s)
while :; do
    left=$(squeue -h -j "$jobid" -o '%i %T' 2> /dev/null || true)
    [ -z "$left" ] && break
    (( $(date +%s) - start < 180 )) || { echo "$left" >&2; fail "job array $jobid not finished after 180 s"; }
    sleep 1
done
echo "    finished in $(( $(date +%s) - start )) s"
for t in 0 1 2; do
    st=$(scontrol -o show job "${jobid}_$t" 2> /dev/null | grep -o 'JobState=[A-Z_]* .*ExitCode=[0-9:]*' \
        | sed 's/JobState=\([A-Z_]*\).*ExitCode=\([0-9:]*\)/\1 \2/' || true)
    echo "    task $t: ${st:-(no longer known to slurmctld)}"
    case "$st" in "" | "COMPLETED 0:0") ;; *) cat "$tmp/slurm/logs/${jobid}_$t.err" >&2 || true; fail "task $t of job $jobid: $st" ;; esac
done
n_logs=$(find "$tmp/slurm/logs" -name "${jobid}_*.out" | wc -l)
[ "$n_logs" -eq 3 ] || fail "expected 3 task logs in $tmp/slurm/logs, found $n_logs"
jobid=""

step "attnflow merge (the job array's points)"
"$exe" merge "$tmp/slurm" || fail "attnflow merge $tmp/slurm (exit $?)"

# --- 4. the same sweep unsharded ----------------------------------------------------------
step "the same sweep unsharded, then merge"
"$exe" sweep "$tmp/sweep.toml" --out "$tmp/local" > "$tmp/log/local.out" 2>&1 \
    || { cat "$tmp/log/local.out" >&2; fail "unsharded sweep"; }
"$exe" merge "$tmp/local" || fail "attnflow merge $tmp/local"

step "comparing merged/ byte for byte (diff -r)"
ls "$tmp/slurm/merged"
diff -r "$tmp/slurm/merged" "$tmp/local/merged" || fail "the job array's merged result differs from the unsharded one"
echo "    $(find "$tmp/slurm/merged" -type f | wc -l) files identical"
step "PASSED: a SLURM job array of 3 tasks merged to the same bytes as the unsharded sweep"
