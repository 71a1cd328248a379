# resetd-logind — resetd's logind handle-reboot-key inhibitor over a real
# D-Bus system bus.  The guest runs no systemd: a real dbus-daemon (the
# host's, with an allow-all policy) listens where sd_bus_open_system()
# looks by default, /run/dbus/system_bus_socket (DBUS_SYSTEM_BUS_ADDRESS is
# unset), and vm-logind plays logind's Inhibit() (helpers/vm-logind.c).
# The button is a real evdev device (uinput, KEY_RESTART).  Checked:
#   - logind there: exactly one Inhibit("handle-reboot-key", "resetd",
#     "resetd handles the reset button", "block") from resetd's pid; the
#     lock fd held by resetd (and by no command it runs), libsystemd unloaded
#     again, presses still work; the lock released when resetd stops on
#     SIGTERM, and when it is SIGKILLed (the kernel closes the fd);
#   - no Inhibit call at all for a fifo or GPIO button, or without
#     /run/systemd/seats (no logind on this system);
#   - a reload (SIGHUP) that turns a fifo button into an evdev key takes the
#     lock, one that turns it back releases it;
#   - logind refusing (polkit's AccessDenied), no logind on the bus, a dead
#     bus, no bus: resetd warns naming the cause, keeps running, presses
#     still work; a reload asks a refusing logind again.
# vm-boot: pass
# vm-timeout: 120
. "$RK_VM_SRC/tests/vm/lib.sh"

[ -x "$H/vm-logind" ] || skip "vm-logind not built (no libsystemd at build time)"
command -v dbus-daemon >/dev/null || skip "needs dbus-daemon (scripts/deps --vm)"
unset DBUS_SYSTEM_BUS_ADDRESS

LG_LOG=/tmp/logind.log BUS_SOCK=/run/dbus/system_bus_socket CHILD_FDS=/tmp/child-fds
HOLDING="holding logind's handle-reboot-key inhibitor lock"
CALL="pid %s 'handle-reboot-key' 'resetd' 'resetd handles the reset button' 'block'"

# lg_conf SOURCE: resetd.conf for SOURCE; the reboot-command also records
# the file descriptors it was started with
lg_conf() {
        rd_conf "$1" none
        sed -i "s|^reboot-command = .*|reboot-command = ls -l /proc/\$\$/fd >$CHILD_FDS; echo reboot >>$RD_MARK|" \
                "$RD_ROOT/etc/resetkit/resetd.conf"
}

bus_start() {
        mkdir -p /run/dbus
        cat >/tmp/bus.conf <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$BUS_SOCK</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
        # No <servicedir>: nothing is activated, a name nobody owns is
        # ServiceUnknown at once, as on a system without logind.
        dbus-daemon --config-file=/tmp/bus.conf --nofork --nopidfile --print-address \
                >/tmp/bus.addr 2>/tmp/bus.err 7>&- &
        BUS_PID=$!
        wait_for /tmp/bus.addr "^unix:path=$BUS_SOCK" 10000 || { cat /tmp/bus.err; fail "dbus-daemon did not start"; }
}

# logind_start [--reject]: the fake logind owning org.freedesktop.login1,
# with a new LG_LOG (it numbers the calls from 1)
logind_start() {
        : >/tmp/logind.out
        : >"$LG_LOG"
        "$H/vm-logind" "$@" "$LG_LOG" >/tmp/logind.out 2>&1 7>&- &
        LG_PID=$!
        wait_for /tmp/logind.out '^ready' 5000 || fail "vm-logind did not start"
}
logind_stop() { kill "$LG_PID"; wait "$LG_PID" 2>/dev/null || true; }

lg_count() { grep -Ec -- "$1" "$LG_LOG" || true; }
# holds_pipe PID INODE: one of PID's file descriptors is pipe:[INODE]
holds_pipe() {
        for _fd in /proc/"$1"/fd/*; do
                [ "$(readlink "$_fd")" = "pipe:[$2]" ] && return 0
        done
        return 1
}

# press: a 600 ms hold, the reboot action must run (its marker written)
press() {
        before=$(grep -c reboot "$RD_MARK" 2>/dev/null || true)
        ui hold $HOLD_REBOOT
        rd_wait 'action reboot (done|failed)' 1
        grep -q 'action reboot done' "$RD_LOG" || fail "$1: reboot failed: $(grep 'action reboot' "$RD_LOG")"
        [ "$(grep -c reboot "$RD_MARK")" = $((before + 1)) ] || fail "$1: the reboot-command did not run"
}

# expect_no_inhibit WHAT: resetd started and stopped without asking logind
# for anything (no call beyond the $calls so far) or logging about it
expect_no_inhibit() {
        rd_start
        rd_stop
        [ "$(lg_count '^call')" = "$calls" ] || { cat "$LG_LOG"; fail "$1: Inhibit called"; }
        [ "$(rd_count 'logind')" = 0 ] || fail "$1: resetd logged about logind"
        ok "$1: no Inhibit call, nothing logged about logind"
}

# expect_warning TEXT WHAT: resetd warned, naming TEXT, took no lock, runs on
expect_warning() {
        grep -F "logind: " "$RD_LOG" | grep -Fq -- "$1" || { sed 's/^/    | /' "$RD_LOG"; fail "$2: no warning naming '$1'"; }
        grep -Fq "; relying on HandleRebootKey=ignore" "$RD_LOG" || fail "$2: the warning does not say what resetd relies on"
        [ "$(rd_count "$HOLDING")" = 0 ] || fail "$2: resetd claims to hold a lock"
        kill -0 "$RD_PID" 2>/dev/null || fail "$2: resetd exited"
        ok "$2: warned ($(grep -o 'logind: .*' "$RD_LOG"))"
}

rd_root
uinput_start
mkdir -p /run/systemd/seats
bus_start
logind_start

# 1. logind there: the lock taken, held, released on SIGTERM
lg_conf "evdev:$UI_DEV"
rd_start
grep -Fq "$HOLDING" "$RD_LOG" || { sed 's/^/    | /' "$RD_LOG" "$LG_LOG"; fail "resetd did not take the inhibitor"; }
# shellcheck disable=SC2059
want=$(printf "call 1 $CALL" "$RD_PID")
[ "$(grep -c '^call' "$LG_LOG")" = 1 ] && grep -Fxq "$want" "$LG_LOG" ||
        { sed 's/^/    | /' "$LG_LOG"; fail "not the one Inhibit call expected: $want"; }
ok "Inhibit called once, by resetd's pid, with ('handle-reboot-key', 'resetd', 'resetd handles the reset button', 'block')"
ino=$(awk '$1 == "granted" && $2 == 1 { print $4 }' "$LG_LOG")
[ -n "$ino" ] || fail "vm-logind granted no lock"
holds_pipe "$RD_PID" "$ino" || { ls -l "/proc/$RD_PID/fd"; fail "resetd does not hold the lock fd pipe:[$ino]"; }
! grep -q libsystemd "/proc/$RD_PID/maps" || fail "libsystemd still mapped in resetd after the call"
ok "resetd holds the lock fd (pipe:[$ino]); libsystemd unloaded again"
press "lock held"
! grep -Fq "pipe:[$ino]" "$CHILD_FDS" || { cat "$CHILD_FDS"; fail "the reboot-command inherited the lock fd"; }
[ -s "$CHILD_FDS" ] || fail "the reboot-command recorded no fds"
sleep 0.5
[ "$(lg_count '^released')" = 0 ] || { cat "$LG_LOG"; fail "the lock was released while resetd runs"; }
ok "a press works with the lock held; the action did not inherit it; no release while resetd runs"
kill -HUP "$RD_PID"
rd_wait 'configuration reloaded' 1
[ "$(grep -c '^call' "$LG_LOG")" = 1 ] && [ "$(rd_count "$HOLDING")" = 1 ] ||
        { cat "$LG_LOG"; fail "a reload with the lock held asked for another"; }
holds_pipe "$RD_PID" "$ino" || fail "resetd let go of the lock fd on a reload"
ok "a reload keeps the lock it holds and asks for no other"
rd_stop
wait_for "$LG_LOG" '^released 1$' 5000 || fail "the lock was not released when resetd stopped on SIGTERM"
ok "released when resetd stopped (SIGTERM)"

# 2. ... and when resetd is SIGKILLed: the kernel closes the fd
rd_start
grep -Fq "$HOLDING" "$RD_LOG" || fail "resetd did not take the inhibitor the second time"
# shellcheck disable=SC2059
grep -Fxq "$(printf "call 2 $CALL" "$RD_PID")" "$LG_LOG" || { cat "$LG_LOG"; fail "second call not as expected"; }
[ "$(lg_count '^released 2$')" = 0 ] || fail "the second lock was released at once"
kill -KILL "$RD_PID"; wait "$RD_PID" 2>/dev/null || true
wait_for "$LG_LOG" '^released 2$' 5000 || fail "the lock was not released when resetd was SIGKILLed"
ok "released when resetd was SIGKILLed"

# 3. no Inhibit call for a button logind never sees, nor without seats
calls=$(lg_count '^call')
mkfifo /tmp/button.fifo
lg_conf "fifo:/tmp/button.fifo"
rd_start
[ "$(lg_count '^call')" = "$calls" ] || { cat "$LG_LOG"; fail "Inhibit called for a fifo button"; }
[ "$(rd_count 'logind')" = 0 ] || fail "resetd logged about logind for a fifo button"
ok "fifo button: no Inhibit call, nothing logged about logind"

# 4. a reload that makes the button an evdev key takes the lock; one that
#    makes it a fifo again gives it back
lg_conf "evdev:$UI_DEV"
kill -HUP "$RD_PID"
rd_wait 'configuration reloaded' 1
calls=$((calls + 1))
# shellcheck disable=SC2059
grep -Fxq "$(printf "call $calls $CALL" "$RD_PID")" "$LG_LOG" || { cat "$LG_LOG"; fail "no Inhibit call after a reload to an evdev button"; }
[ "$(rd_count "$HOLDING")" = 1 ] || fail "resetd does not say it holds the lock after the reload"
ok "reload fifo -> evdev: the lock taken"
lg_conf "fifo:/tmp/button.fifo"
kill -HUP "$RD_PID"
rd_wait 'configuration reloaded' 2
wait_for "$LG_LOG" "^released $calls\$" 5000 || fail "the lock was kept after a reload to a fifo button"
[ "$(rd_count "released logind's handle-reboot-key inhibitor lock")" = 1 ] || fail "resetd did not log giving the lock back"
kill -HUP "$RD_PID"
rd_wait 'configuration reloaded' 3
rd_stop
[ "$(lg_count '^call')" = "$calls" ] || { cat "$LG_LOG"; fail "Inhibit called again on a reload with a fifo button"; }
ok "reload evdev -> fifo: the lock given back; another reload asks for none"
gpiosim_start reset-button
gpio_set down
lg_conf "gpio:${GS_CHIP#/dev/}:reset-button"
expect_no_inhibit "GPIO button"
rmdir /run/systemd/seats
lg_conf "evdev:$UI_DEV"
expect_no_inhibit "no /run/systemd/seats"
mkdir /run/systemd/seats

# 5. logind refuses (as for a caller polkit denies)
logind_stop
logind_start --reject
rd_start
# shellcheck disable=SC2059
want=$(printf "call 1 $CALL" "$RD_PID")
[ "$(grep -c '^call' "$LG_LOG")" = 1 ] && grep -Fxq "$want" "$LG_LOG" ||
        { sed 's/^/    | /' "$LG_LOG"; fail "not the one Inhibit call expected: $want"; }
grep -q '^rejected 1 org.freedesktop.DBus.Error.AccessDenied: ' "$LG_LOG" || { cat "$LG_LOG"; fail "vm-logind did not refuse"; }
expect_warning "Permission denied (org.freedesktop.DBus.Error.AccessDenied)" "logind refuses"
press "logind refused"
ok "logind refused: a press works"
# logind lets resetd have it now: a reload asks again
logind_stop
logind_start
kill -HUP "$RD_PID"
rd_wait 'configuration reloaded' 1
# shellcheck disable=SC2059
grep -Fxq "$(printf "call 1 $CALL" "$RD_PID")" "$LG_LOG" && grep -q '^granted 1 ' "$LG_LOG" ||
        { cat "$LG_LOG"; fail "a reload after the refusal did not ask again"; }
[ "$(rd_count "$HOLDING")" = 1 ] || fail "resetd does not say it holds the lock after the reload"
rd_stop
wait_for "$LG_LOG" '^released 1$' 5000 || fail "the lock taken on reload was not released when resetd stopped"
ok "refused at start, taken on a reload, released at stop"

# 5b. logind owns its name but never answers: resetd gives up after its
# own timeout (5 s), not sd-bus's 25 s, and serves the button
logind_stop
logind_start --hang
t0=$(date +%s)
rd_start
t1=$(date +%s)
grep -q '^hung 1$' "$LG_LOG" || { cat "$LG_LOG"; fail "vm-logind did not leave the call hanging"; }
[ $((t1 - t0)) -le 12 ] || fail "resetd took $((t1 - t0)) s to start with a hanging logind"
expect_warning "Connection timed out" "logind hangs"
press "logind hangs"
rd_stop
ok "logind hangs: ready after $((t1 - t0)) s, a press works"

# 6. the bus up, org.freedesktop.login1 not owned
logind_stop
rd_start
expect_warning "(org.freedesktop.DBus.Error.ServiceUnknown)" "no logind on the bus"
press "no logind"
rd_stop
ok "no logind: a press works"

# 7. the bus dead (its socket left behind), then no bus at all
kill -KILL "$BUS_PID"; wait "$BUS_PID" 2>/dev/null || true
[ -S "$BUS_SOCK" ] || fail "the dead bus left no socket"
rd_start
expect_warning "cannot connect to the system bus: Connection refused" "dead bus"
rd_stop
rm -f "$BUS_SOCK"
rd_start
expect_warning "cannot connect to the system bus: No such file or directory" "no bus"
press "no bus"
rd_stop
ok "no bus: a press works"

uinput_stop
