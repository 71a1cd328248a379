# SPDX-License-Identifier: GPL-2.0-or-later
# Shell helpers for tests/vm/scenarios/*.sh (sourced; POSIX sh, run in the
# guest with the host's tools).  A scenario exits 0 for PASS, 77 for SKIP,
# anything else for FAIL; the guest's /init turns that into the verdict.

H=$RK_VM_HELPERS
RESETD=$RK_VM_BUILD/src/resetd/resetd
RESETCTL=$RK_VM_BUILD/src/resetctl/resetctl
FAILSAFE=$RK_VM_BUILD/src/reset-failsafe/reset-failsafe

say() { echo "[$RK_VM_NAME] $*"; }
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
ok() { read -r _up _ </proc/uptime; echo "ok: $* [${_up}s]"; }

# ms since boot (CLOCK_MONOTONIC, as the helpers print)
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# wait_for FILE REGEX [TIMEOUT_MS]: until a line of FILE matches
wait_for() {
        _t=${3:-5000}
        while [ "$_t" -gt 0 ]; do
                grep -Eq -- "$2" "$1" 2>/dev/null && return 0
                sleep 0.02
                _t=$((_t - 20))
        done
        echo "timed out waiting for /$2/ in $1:"; sed 's/^/    | /' "$1" 2>/dev/null
        return 1
}

# expect_line FILE REGEX WHAT: FILE has a matching line, or fail naming WHAT
expect_line() {
        grep -Eq -- "$2" "$1" || { sed 's/^/    | /' "$1"; fail "$3"; }
        ok "$3"
}

# Does a feature exist yet?  needs_verb resetctl "config commit"
needs_help() {
        "$1" --help 2>&1 | grep -q -- "$2" || skip "needs $3"
}

# uinput_start [vm-uinput options]: the button in the background.  Sets
# UI_IN (fd 7 writes commands), UI_OUT (its stdout), UI_DEV (/dev/input/eventN),
# UI_SYS (inputN), UI_LED_LOG, and LED_R/G/B (the LED class devices).
uinput_start() {
        UI_OUT=/tmp/uinput.out UI_LED_LOG=/tmp/uinput.leds
        rm -f /tmp/uinput.fifo "$UI_OUT" "$UI_LED_LOG"
        mkfifo /tmp/uinput.fifo
        "$H/vm-uinput" --led-log "$UI_LED_LOG" "$@" </tmp/uinput.fifo >"$UI_OUT" 2>&1 &
        UI_PID=$!
        # Read-write: never blocks, even when the helper failed to start.
        exec 7<>/tmp/uinput.fifo
        wait_for "$UI_OUT" ' ready ' || fail "vm-uinput did not start"
        UI_DEV=$(awk '/ ready /{ print $3 }' "$UI_OUT")
        UI_SYS=$(awk '/ ready /{ print $4 }' "$UI_OUT")
        LED_R=/sys/class/leds/$UI_SYS::misc
        LED_G=/sys/class/leds/$UI_SYS::mail
        LED_B=/sys/class/leds/$UI_SYS::charging
}
ui() { echo "$*" >&7; }
uinput_stop() { exec 7>&-; wait "$UI_PID" 2>/dev/null || true; }

# gpiosim_start NAME: a gpio-sim chip with one line named NAME, pulled down
# (not pressed for an active-high button).  Sets GS_CHIP (/dev/gpiochipN),
# GS_PULL (the line's pull attribute).
gpiosim_start() {
        _c=/sys/kernel/config/gpio-sim/vm
        mkdir "$_c" "$_c/bank0" "$_c/bank0/line0"
        echo 1 >"$_c/bank0/num_lines"
        echo "$1" >"$_c/bank0/line0/name"
        echo 1 >"$_c/live"
        GS_CHIP=/dev/$(cat "$_c/bank0/chip_name")
        GS_PULL=/sys/devices/platform/$(cat "$_c/dev_name")/$(cat "$_c/bank0/chip_name")/sim_gpio0/pull
        [ -c "$GS_CHIP" ] && [ -f "$GS_PULL" ] || fail "gpio-sim chip did not appear"
}
gpio_set() { echo "pull-$1" >"$GS_PULL"; }   # up | down

# powercut: tell the runner to cut the power now (a `vm-boot: cut-at
# RK-VM-CUT-NOW` boot) and wait for it.  Whatever the guest had not written
# to its virtio disk is lost, as in a real power cut.
powercut() {
        echo "RK-VM-CUT-NOW $*"
        sleep 600
        fail "the power was not cut"
}

# mount_disk DEV DIR: mount an ext4 disk (replaying its journal after a cut)
mount_disk() {
        mkdir -p "$2"
        mount -t ext4 "$1" "$2" || fail "cannot mount $1"
}
