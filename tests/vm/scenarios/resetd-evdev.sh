# resetd-evdev — resetd on a real input device (uinput, KEY_RESTART) with a
# real LED-class RGB LED (input-leds: inputN::misc|mail|charging as R,G,B).
# One hold in every window at millisecond thresholds (SPEC §1): the action
# each gives, the hold as resetd measured it from the kernel's timestamps,
# the LED's history as the kernel passed it to the device (EV_LED), and the
# LED handed back afterwards exactly as it was (trigger, brightness, timer
# delays).
# vm-boot: pass
# vm-timeout: 120
. "$RK_VM_SRC/tests/vm/lib.sh"

rd_root
uinput_start
rd_conf "evdev:$UI_DEV" "rgb:$LED_R,$LED_G,$LED_B"

# The LED as its owner left it: red on by hand, green off, blue blinking
# under the timer trigger with its own delays.
echo none >"$LED_R/trigger"; echo 1 >"$LED_R/brightness"
echo none >"$LED_G/trigger"; echo 0 >"$LED_G/brightness"
echo timer >"$LED_B/trigger"; echo 170 >"$LED_B/delay_on"; echo 230 >"$LED_B/delay_off"
before="$(led_state "$LED_R") / $(led_state "$LED_G") / $(led_state "$LED_B")"
led_restored() {
        now="$(led_state "$LED_R") / $(led_state "$LED_G") / $(led_state "$LED_B")"
        [ "$now" = "$before" ] || fail "$1: LED not handed back: was '$before', now '$now'"
        ok "$1: LED handed back ($now)"
}

# Another reader of the same device records the kernel's timestamps of
# every press and release: what resetd must measure.
"$H/vm-evwatch" "$UI_DEV" 1000 600000 >/tmp/keys.log &
wait_for /tmp/keys.log '^ready' || fail "vm-evwatch did not start"
rd_start
ok "resetd ready on $UI_DEV"

# hold N: press for N ms; sets DOWN and UP, the kernel's timestamps (ms)
n=0
hold() {
        ui hold "$1"
        n=$((n + 1))
        wait_for /tmp/keys.log "^key 408 0 " 10000 || fail "no release event"
        while [ "$(grep -c '^key 408 0 ' /tmp/keys.log)" -lt $n ]; do sleep 0.02; done
        DOWN=$(awk '$1 == "key" && $3 == 1 { print $4 }' /tmp/keys.log | sed -n "${n}p")
        UP=$(awk '$1 == "key" && $3 == 0 { print $4 }' /tmp/keys.log | sed -n "${n}p")
        near $((UP - DOWN)) "$1" 250 || { cat /tmp/keys.log "$UI_OUT" "$UI_LED_LOG" "$RD_LOG"; fail "emulation jitter: a $1 ms hold took $((UP - DOWN)) ms"; }
}
# measured N HOLD: resetd's N-th release measured what the kernel stamped
measured() {
        rd_wait 'released after' "$1"
        m=$(rd_released_ms "$1")
        near "$m" $((UP - DOWN)) 1 ||
                fail "resetd measured $m ms for a press the kernel stamped $((UP - DOWN)) ms"
}
# led_at CODE VALUE AT: the first change CODE->VALUE after DOWN comes
# within [AT - 10, AT + 150] ms of the press (SPEC: 20 ms; emulation adds)
led_at() {
        t=$(led_first "$1" "$2" $((DOWN + $3 - 10)))
        [ -n "$t" ] || { cat "$UI_LED_LOG"; fail "no EV_LED $1=$2 after the press at $DOWN"; }
        d=$((t - DOWN - $3))
        [ "$d" -ge -10 ] && [ "$d" -le 150 ] || fail "EV_LED $1=$2 came $d ms after the $3 ms threshold"
        echo "$d"
}
R=8 G=9 B=10    # the EV_LED codes of misc, mail, charging

# 1. a brush: nothing, LED unchanged
hold $HOLD_NONE
measured 1 $HOLD_NONE
rd_wait 'too short for an action' 1
[ "$(rd_count 'armed')" = 0 ] || fail "a $HOLD_NONE ms brush armed something"
[ "$(led_changes $G "$DOWN" "$UP")" = 0 ] || fail "the LED changed during a brush"
ok "$HOLD_NONE ms: nothing armed, LED untouched; measured $m ms, as the kernel stamped it"

# 2. reboot: green solid from 300 ms, reboot-command runs
hold $HOLD_REBOOT
measured 2 $HOLD_REBOOT
rd_wait 'action reboot (done|failed)' 1
grep -q 'action reboot done' "$RD_LOG" || fail "reboot failed: $(grep 'action reboot' "$RD_LOG")"
[ "$(rd_count 'armed reboot')" = 1 ] || fail "reboot not armed once"
[ "$(grep -c reboot "$RD_MARK" 2>/dev/null)" = 1 ] || fail "reboot-command did not run once"
dg=$(led_at $G 1 $T_REBOOT); dr=$(led_at $R 0 $T_REBOOT)
[ "$(led_changes $R $((DOWN + T_REBOOT + 151)) "$UP")" = 0 ] || fail "green is not solid"
ok "$HOLD_REBOOT ms: reboot ran; green on $dg ms, red off $dr ms after the threshold; measured $m ms"
led_restored reboot

# 3. rescue: amber (red + green) blinking 1 Hz from 900 ms; rescue loaded
hold $HOLD_RESCUE
measured 3 $HOLD_RESCUE
rd_wait 'action rescue (done|failed)' 1
grep -q 'action rescue done' "$RD_LOG" || fail "rescue failed: $(grep 'action rescue' "$RD_LOG")"
[ "$(rd_running)" = '{"doc": "first"}' ] || fail "rescue did not make 'first' running: $(rd_running)"
dr=$(led_at $R 1 $T_RESCUE)
ok "$HOLD_RESCUE ms: rescue configuration running; amber (red on) $dr ms after the threshold"
led_restored rescue

# 4. factory reset: red blinking 4 Hz from 1500 ms; the reset runs
hold $HOLD_FACTORY
measured 4 $HOLD_FACTORY
rd_wait 'action factory-reset (done|failed)' 1 30000
grep -q 'action factory-reset done' "$RD_LOG" || fail "factory reset failed: $(grep 'action factory-reset' "$RD_LOG")"
blinks=$(led_changes $R $((DOWN + T_FACTORY)) "$UP")
[ "$blinks" -ge 2 ] || { cat "$UI_LED_LOG"; fail "red did not blink at 4 Hz ($blinks changes in 300 ms)"; }
[ -z "$(awk -v a=$((DOWN + T_FACTORY + 150)) -v b="$UP" '$1 >= a && $1 < b && $3 == 9 && $4 == 1' "$UI_LED_LOG")" ] ||
        fail "green on while red should blink"
[ ! -e "$RD_ROOT/var/lib/secret/key" ] || fail "the factory reset left the secret"
[ "$(rd_running)" = '{"doc": "factory"}' ] || fail "factory configuration not running: $(rd_running)"
[ "$(grep -c reboot "$RD_MARK")" = 2 ] || fail "no reboot after the factory reset"
ok "$HOLD_FACTORY ms: factory reset done, then reboot; red blinking ($blinks changes in $((UP - DOWN - T_FACTORY)) ms), green off"
led_restored factory-reset

# 5. cancel: LED given back from 2100 ms, nothing runs
hold $HOLD_CANCEL
measured 5 $HOLD_CANCEL
rd_wait 'cancelled, nothing done' 1
[ "$(grep -c reboot "$RD_MARK")" = 2 ] || fail "cancel ran an action"
blinks=$(led_changes $R $((DOWN + T_FACTORY + 150)) $((DOWN + T_CANCEL)))
[ "$blinks" -ge 2 ] || fail "red did not blink in the factory-reset window ($blinks changes)"
still=$(($(led_changes $R $((DOWN + T_CANCEL + 150)) "$UP") + $(led_changes $G $((DOWN + T_CANCEL + 150)) "$UP")))
[ "$still" = 0 ] || { cat "$UI_LED_LOG"; fail "the LED still changed $still times after the cancel threshold"; }
ok "$HOLD_CANCEL ms: cancelled; the blinking stopped at the cancel threshold"
led_restored cancel

rd_stop
led_restored "resetd stopped"
# Each longer hold passes through the shorter windows: armed reboot 4
# times (holds 2-5), rescue 3, factory-reset 2, cancel once.
armed=$(grep -o 'armed [a-z-]*' "$RD_LOG" | awk '{ printf "%s ", $2 }')
[ "$armed" = "reboot reboot rescue reboot rescue factory-reset reboot rescue factory-reset cancel " ] ||
        fail "armed windows out of order: $armed"
ok "every window armed in order, once per hold that reached it"
