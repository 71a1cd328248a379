# resetd-rules — SPEC §1's rules on a real input device:
#   - a button already held when resetd starts is not a press (the release
#     that follows does nothing);
#   - SYN_DROPPED: a flood of events overflows resetd's evdev buffer while a
#     press is in progress; resetd re-reads the key state and drops the press
#     whose release was lost (never acted on);
#   - presses while an action runs are ignored and logged;
#   - idle, resetd sleeps in the kernel: no wake-up at all.
# vm-boot: pass
# vm-timeout: 120
. "$RK_VM_SRC/tests/vm/lib.sh"

rd_root
uinput_start --down                     # held since "power-on"
rd_conf "evdev:$UI_DEV" "rgb:$LED_R,$LED_G,$LED_B"
# a reboot that takes 2 s, to press during it
sed -i "s|^reboot-command = .*|reboot-command = sleep 2; echo reboot >>$RD_MARK|" \
        "$RD_ROOT/etc/resetkit/resetd.conf"
rd_start

# 1. held at start
rd_wait 'is held: waiting for its release' 1
ui sleep $HOLD_REBOOT
ui up
ui echo released-initial
wait_for "$UI_OUT" 'released-initial' 10000 || fail "vm-uinput"
sleep 0.5
[ "$(rd_count 'armed|action [a-z-]+ started')" = 0 ] || { cat "$RD_LOG"; fail "a press held since before resetd started was acted on"; }
[ ! -e "$RD_MARK" ] || fail "reboot ran for a press that began before resetd"
ok "held at start: waited for the release, did nothing"

# 2. SYN_DROPPED during a press: the press is dropped
ui down
ui sleep $HOLD_REBOOT
ui flood 3000 up
ui echo flooded
wait_for "$UI_OUT" 'flooded' 15000 || fail "vm-uinput flood"
rd_wait 'dropped by the kernel; state re-read' 1
rd_wait 'events were lost: the press is dropped' 1
sleep 0.5
[ "$(rd_count 'action [a-z-]+ started')" = 0 ] || { cat "$RD_LOG"; fail "a press whose release was lost was acted on"; }
ok "SYN_DROPPED: state re-read, the press dropped, no action"

# 3. a press while an action runs is ignored
ui hold $HOLD_REBOOT
rd_wait 'action reboot started' 1
ui hold $HOLD_REBOOT
rd_wait 'press ignored: action reboot is running' 1
rd_wait 'action reboot done' 1
sleep 0.3
[ "$(grep -c reboot "$RD_MARK")" = 1 ] || fail "the press during the action ran another reboot"
ok "a press during the action: ignored and logged"

# and the next press after it works again
ui hold $HOLD_REBOOT
rd_wait 'action reboot done' 2
[ "$(grep -c reboot "$RD_MARK")" = 2 ] || fail "the press after the action did nothing"
ok "the next press after the action works"

# 4. idle: no wake-ups (voluntary or not) over 2 s, blocked in epoll
switches() { awk '/ctxt_switches/ { n += $2 } END { print n }' "/proc/$RD_PID/status"; }
sleep 0.5
a=$(switches); sleep 2; b=$(switches)
[ "$a" = "$b" ] || fail "resetd woke up $((b - a)) times in 2 s of idle"
wchan=$(cat "/proc/$RD_PID/wchan")
ok "idle: 0 wake-ups in 2 s, sleeping in $wchan"
rd_stop
