#!/usr/bin/env bash
# A real-browser check of the interactive viewer (`attnflow view`, OUT/view.html):
#   1. installs Debian's `chromium` if missing (needs root and apt-get, see scripts/lib/apt.sh;
#      without them the check is skipped with a message and exit status 0);
#   2. builds target/release/attnflow if missing and makes three small runs into a temporary
#      directory: particles on S^2 (d = 3), particles on the circle (d = 2) and a PDE run on the
#      sphere; each completed run writes OUT/view.html itself, and `attnflow view` rewrites one;
#   3. loads every page in headless chromium (no network: the pages are self-contained) with
#      `view.html#frame=K`, which the page honours, and checks from the dumped DOM that
#      the page's script ran (data-ready), that the slider moved the page to frame K
#      (#frame-index and body[data-frame]), and that no script error was caught (#errors empty;
#      window.onerror writes into it) nor logged ("Uncaught" on chromium's console log);
#   4. takes screenshots at #frame=0 and #frame=K and checks in Python (zlib/struct PNG decoding,
#      no PIL) that each is not blank (many distinct colours, enough non-white pixels) and that the
#      two frames differ.
# Exit status 0 when every check passes (or the check was skipped), else 1. About 20 s once
# chromium is installed and attnflow is built (installing chromium takes a minute or two).
#
#   scripts/browser_check.sh          # BROWSER_CHECK_KEEP=1 keeps the temporary directory
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=scripts/lib/apt.sh
source "$root/scripts/lib/apt.sh"

step() { printf '\n==> browser_check: %s\n' "$*"; }
fail() { printf 'browser_check: FAILED: %s\n' "$*" >&2; exit 1; }
skip() { printf 'browser_check: SKIPPED: %s\n' "$*" >&2; exit 0; }

tmp=$(mktemp -d /tmp/attnflow-browser-check.XXXXXX)
cleanup() {
    status=$?
    if [ -n "${BROWSER_CHECK_KEEP:-}" ]; then
        echo "browser_check: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. chromium ----------------------------------------------------------------------------
browser=""
for b in chromium chromium-browser; do
    if command -v "$b" > /dev/null 2>&1; then browser=$(command -v "$b"); break; fi
done
if [ -z "$browser" ]; then
    apt_can_install || skip "chromium is not installed and $(apt_missing_reason) (apt-get install chromium)"
    step "installing chromium (apt-get install chromium)"
    apt_install "$tmp/apt.log" chromium || fail "apt-get install chromium"
    browser=$(command -v chromium) || fail "chromium not found after installation"
fi
echo "    $("$browser" --version 2> /dev/null | head -n 1)"
command -v python3 > /dev/null || fail "python3 is needed to read the screenshots"

# --- 2. runs and pages -------------------------------------------------------------------------
exe="$root/target/release/attnflow"
if [ ! -x "$exe" ]; then
    step "building the command line (cargo build --release --bin attnflow)"
    cargo build --release --bin attnflow
fi

step "three small runs (each writes OUT/view.html at the end)"
"$exe" particles --dim 3 --n 600 --beta 4 --save-every 10 --out "$tmp/s2" > "$tmp/s2.log" 2>&1 \
    || { cat "$tmp/s2.log" >&2; fail "particles --dim 3"; }
"$exe" particles --dim 2 --n 300 --beta 9 --save-every 10 --out "$tmp/circle" > "$tmp/circle.log" 2>&1 \
    || { cat "$tmp/circle.log" >&2; fail "particles --dim 2"; }
"$exe" pde --geometry sphere --beta 4 --model sa --t-end 2 --lmax 16 --init-modes 1:1:0.3,2:-2:0.2 \
    --outputs 11 --out "$tmp/pde" > "$tmp/pde.log" 2>&1 || { cat "$tmp/pde.log" >&2; fail "pde --geometry sphere"; }
cat "$tmp/s2.log" "$tmp/circle.log" "$tmp/pde.log"
"$exe" view "$tmp/circle" --max-tokens 200 || fail "attnflow view $tmp/circle"
for d in s2 circle pde; do
    [ -s "$tmp/$d/view.html" ] || fail "no $tmp/$d/view.html"
done

# --- 3 and 4. the pages in headless chromium ---------------------------------------------------
chrome() {
    # No sandbox as root; a private profile; no network needed (file:// pages, nothing external).
    timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --no-default-browser-check --disable-extensions \
        --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 \
        --virtual-time-budget=3000 --window-size=1280,1100 "$@"
}

check_page() {
    local name=$1 frame=$2 page="$tmp/$1/view.html"
    step "$name: $page#frame=$frame"
    chrome --dump-dom "file://$page#frame=$frame" > "$tmp/$name.dom" 2> "$tmp/$name.dom.log" \
        || { tail -n 20 "$tmp/$name.dom.log" >&2; fail "$name: chromium --dump-dom"; }
    chrome --screenshot="$tmp/$name-0.png" "file://$page#frame=0" > /dev/null 2> "$tmp/$name-0.log" \
        || { tail -n 20 "$tmp/$name-0.log" >&2; fail "$name: chromium --screenshot (frame 0)"; }
    chrome --screenshot="$tmp/$name-$frame.png" "file://$page#frame=$frame" > /dev/null 2> "$tmp/$name-$frame.log" \
        || { tail -n 20 "$tmp/$name-$frame.log" >&2; fail "$name: chromium --screenshot (frame $frame)"; }
    if grep -h -i "uncaught\|CONSOLE.*error" "$tmp/$name.dom.log" "$tmp/$name-0.log" "$tmp/$name-$frame.log"; then
        fail "$name: the page logged script errors (above)"
    fi
    python3 scripts/browser_check_png.py "$tmp/$name.dom" "$frame" "$tmp/$name-0.png" "$tmp/$name-$frame.png" \
        || fail "$name: page checks (above)"
}

check_page s2 5
check_page circle 5
check_page pde 6
if [ -n "${BROWSER_CHECK_SHOTS:-}" ]; then
    mkdir -p "$BROWSER_CHECK_SHOTS"
    cp "$tmp"/*.png "$BROWSER_CHECK_SHOTS"/
    echo "    screenshots copied to $BROWSER_CHECK_SHOTS"
fi
step "PASSED: 3 pages load without script errors, honour #frame=K, and draw non-blank, different frames"
