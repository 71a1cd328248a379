# resetd-faults — issue 5's bad inputs on real devices: an input device
# without the configured key (refused at once, exit 1, the reason logged); a
# GPIO line another process holds (logged as busy, retried with back-off,
# taken over once it is free); the input device disappearing while resetd
# runs (logged, retried with back-off and no busy loop, picked up again when
# it comes back, presses work again).
# vm-boot: pass
# vm-timeout: 120
. "$RK_VM_SRC/tests/vm/lib.sh"

rd_root

# cpu_ticks PID: user + system clock ticks the process has used
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# 1. a keyboard-like device without KEY_RESTART: a configuration error,
#    retrying would not help
uinput_start --key 30                                   # KEY_A
rd_conf "evdev:$UI_DEV" none
: >"$RD_LOG"
rc=0
timeout 10 "$RESETD" --root "$RD_ROOT" --foreground >>"$RD_LOG" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$RD_LOG"; fail "resetd on a device without the key exited $rc, not 1"; }
expect_line "$RD_LOG" "has no key KEY_RESTART" "device without the key: refused, exit 1, named"
uinput_stop

# 2. a GPIO line that another process holds
gpiosim_start reset-button
gpio_set down                                           # released (active-high)
chip=${GS_CHIP#/dev/}
"$H/vm-gpiowatch" "$GS_CHIP" 0 1000 600000 >/tmp/holder.out 2>&1 &
HOLDER=$!
wait_for /tmp/holder.out '^ready' || fail "vm-gpiowatch did not take the line"
rd_conf "gpio:$chip:reset-button" none
rd_start
rd_wait "is busy \\(requested by 'vm-gpiowatch'\\)" 1 5000
rd_wait "retrying in" 1
ok "busy GPIO line: logged with its holder, retry scheduled"
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true
rd_wait "button .* is back" 1 20000
ok "the line taken over once free"
gpio_set up; sleep 0.6; gpio_set down                   # a 600 ms hold: reboot
rd_wait 'action reboot (done|failed)' 1
grep -q 'action reboot done' "$RD_LOG" || fail "reboot after the takeover failed"
ok "a press on the taken-over line works"
rd_stop

# 3. the input device disappears while resetd runs, then comes back (the
#    configuration names a stable link, as /dev/input/by-path does)
uinput_start
ln -sfn "$UI_DEV" /tmp/button
rd_conf "evdev:/tmp/button" none
rd_start
uinput_stop
rd_wait "retrying in" 1 5000
ok "device gone: logged, retry scheduled"
t0=$(cpu_ticks "$RD_PID"); lines0=$(wc -l <"$RD_LOG")
sleep 4
t1=$(cpu_ticks "$RD_PID"); lines1=$(wc -l <"$RD_LOG")
[ $((t1 - t0)) -le 5 ] || fail "resetd used $((t1 - t0)) ticks in 4 s without a device: a busy loop"
[ $((lines1 - lines0)) -le 4 ] || { cat "$RD_LOG"; fail "$((lines1 - lines0)) log lines in 4 s: no back-off"; }
ok "no busy loop while the device is gone ($((t1 - t0)) ticks, $((lines1 - lines0)) log lines in 4 s)"
uinput_start
ln -sfn "$UI_DEV" /tmp/button
rd_wait "button .* is back" 1 70000
ui hold 600
rd_wait 'action reboot (done|failed)' 1
[ "$(grep -c 'action reboot done' "$RD_LOG")" -ge 1 ] || fail "no reboot after the device came back"
ok "device back: picked up, a press works"
rd_stop
uinput_stop
