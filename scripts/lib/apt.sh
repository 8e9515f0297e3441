# Shared by scripts/slurm_check.sh and scripts/browser_check.sh (sourced, not run): installing
# Debian packages for a check, as root, with apt-get.
#
#   source "$(dirname "$0")/lib/apt.sh"
#   apt_can_install              # true when running as root and apt-get is on the PATH
#   apt_missing_reason           # why not, one line (for a skip or failure message)
#   apt_install LOG pkg...       # apt-get update + install --no-install-recommends; output to
#                                # LOG (its last lines on stderr on failure); returns non-zero on
#                                # failure; prints "installed in N s"
#   apt_install_quiet LOG pkg... # the same, with the packages' init scripts kept from starting
#                                # system daemons (a policy-rc.d that denies every start, removed
#                                # again afterwards; call apt_policy_cleanup from an EXIT trap)
# The caller keeps `set -euo pipefail`; nothing here exits the calling script.

# Non-empty while this library's policy-rc.d is in place (removed by apt_policy_cleanup).
APT_POLICY_ADDED=""

apt_can_install() {
    [ "$(id -u)" -eq 0 ] && command -v apt-get > /dev/null 2>&1
}

apt_missing_reason() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "installing packages needs root (run as root, or with sudo)"
    elif ! command -v apt-get > /dev/null 2>&1; then
        echo "there is no apt-get to install packages"
    else
        echo ""
    fi
}

# Keep the packages' init scripts from starting system daemons while installing.
apt_policy_block() {
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        APT_POLICY_ADDED=1
    fi
}

# Remove the policy-rc.d written by apt_policy_block (only that one); safe to call twice.
apt_policy_cleanup() {
    if [ -n "$APT_POLICY_ADDED" ]; then
        rm -f /usr/sbin/policy-rc.d
        APT_POLICY_ADDED=""
    fi
}

apt_install() {
    local log=$1 start status=0
    shift
    start=$(date +%s)
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -qq > "$log" 2>&1; then
        tail -n 20 "$log" >&2
        echo "apt-get update failed" >&2
        return 1
    fi
    apt-get install -y -qq --no-install-recommends "$@" >> "$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        tail -n 20 "$log" >&2
        echo "apt-get install $* failed" >&2
        return 1
    fi
    echo "    installed in $(( $(date +%s) - start )) s"
}

apt_install_quiet() {
    local status=0
    apt_policy_block
    apt_install "$@" || status=$?
    apt_policy_cleanup
    return "$status"
}
