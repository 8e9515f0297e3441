#!/usr/bin/env bash
# A stand-in for `sbatch` that runs a job-array script on this machine, task after task, with
# the environment SLURM gives each task of an array:
#   SLURM_ARRAY_JOB_ID, SLURM_JOB_ID, SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT,
#   SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_MAX, SLURM_ARRAY_TASK_STEP (regular ranges),
#   SLURM_CPUS_PER_TASK (from --cpus-per-task).
# Usage: scripts/fake_sbatch.sh [--array=SPEC] SCRIPT
# SPEC as sbatch: A-B, A-B:S or a comma list (0-3, 1,4,7); without --array, the script's
# `#SBATCH --array=` line. Output and error go to the `#SBATCH --output/--error` paths with %A
# (job id), %a (task id) and %j replaced; as with SLURM their directory must exist.
# Unlike sbatch it waits for the tasks: exit status 0 when every task exited 0, else 1.
# FAKE_SBATCH_ONLY="1 2" runs only those task ids (to imitate tasks lost to a node failure).
set -euo pipefail

array=""
script=""
for a in "$@"; do
    case "$a" in
        --array=*) array="${a#--array=}" ;;
        -*) echo "fake_sbatch: unsupported option $a" >&2; exit 2 ;;
        *) script="$a" ;;
    esac
done
[ -n "$script" ] && [ -f "$script" ] || { echo "fake_sbatch: usage: fake_sbatch.sh [--array=SPEC] SCRIPT" >&2; exit 2; }

directive() { # value of `#SBATCH --NAME=VALUE` in the script (last one wins)
    sed -n "s/^#SBATCH[[:space:]]\{1,\}--$1=\(.*\)$/\1/p" "$script" | tail -n 1
}
[ -n "$array" ] || array="$(directive array)"
[ -n "$array" ] || { echo "fake_sbatch: no --array in the command or the script" >&2; exit 2; }
out_pat="$(directive output)"; out_pat="${out_pat:-slurm-%A_%a.out}"
err_pat="$(directive error)"; err_pat="${err_pat:-$out_pat}"
cpus="$(directive cpus-per-task)"; cpus="${cpus:-1}"

# Expand the array specification.
ids=()
step=""
IFS=',' read -ra items <<< "${array%%%*}"
for it in "${items[@]}"; do
    if [[ "$it" =~ ^([0-9]+)-([0-9]+)(:([0-9]+))?$ ]]; then
        s="${BASH_REMATCH[4]:-1}"
        step="$s"
        for ((i = BASH_REMATCH[1]; i <= BASH_REMATCH[2]; i += s)); do ids+=("$i"); done
    elif [[ "$it" =~ ^[0-9]+$ ]]; then
        ids+=("$it")
    else
        echo "fake_sbatch: bad --array element '$it'" >&2; exit 2
    fi
done
[ "${#items[@]}" -eq 1 ] || step=""
min="${ids[0]}"; max="${ids[0]}"
for i in "${ids[@]}"; do
    ((i < min)) && min="$i"
    ((i > max)) && max="$i"
done

job="$((100000 + RANDOM))"
echo "Submitted batch job $job"
status=0
for id in "${ids[@]}"; do
    if [ -n "${FAKE_SBATCH_ONLY:-}" ] && [[ " $FAKE_SBATCH_ONLY " != *" $id "* ]]; then
        continue
    fi
    o="${out_pat//%A/$job}"; o="${o//%a/$id}"; o="${o//%j/$job}"
    e="${err_pat//%A/$job}"; e="${e//%a/$id}"; e="${e//%j/$job}"
    if ! env SLURM_ARRAY_JOB_ID="$job" SLURM_JOB_ID="$((job + id))" \
        SLURM_ARRAY_TASK_ID="$id" SLURM_ARRAY_TASK_COUNT="${#ids[@]}" \
        SLURM_ARRAY_TASK_MIN="$min" SLURM_ARRAY_TASK_MAX="$max" \
        ${step:+SLURM_ARRAY_TASK_STEP="$step"} SLURM_CPUS_PER_TASK="$cpus" \
        bash "$script" > "$o" 2> "$e"; then
        echo "fake_sbatch: task $id failed (see $e)" >&2
        status=1
    fi
done
exit "$status"
