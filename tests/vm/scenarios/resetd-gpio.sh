# resetd-gpio — resetd on a real GPIO line (gpio-sim through the GPIO v2
# character device), active-low as reset buttons usually are (pulled up at
# rest, pressed = low), chip and line given by name, the kernel's debounce
# requested; a mono LED (an input-leds LED class device).  A hold in every
# window, contact chatter that must count as one press, the line as other
# users of the chip see it (consumer, active-low, debounce), and the LED
# handed back as it was found.
# vm-boot: pass
# vm-timeout: 120
. "$RK_VM_SRC/tests/vm/lib.sh"

rd_root
uinput_start
gpiosim_start reset-button
gpio_set up                                     # released (active-low)
chip=${GS_CHIP#/dev/}
rd_conf "gpio:$chip:reset-button" "mono:$LED_R" "active-low = true"
# rd_conf writes [actions] last: the extra line must go to [button]
sed -i '/^active-low = true$/d; s/^debounce-ms = 30$/debounce-ms = 30\nactive-low = true/' \
        "$RD_ROOT/etc/resetkit/resetd.conf"

# The LED as its owner left it: blinking under the timer trigger.
echo timer >"$LED_R/trigger"; echo 170 >"$LED_R/delay_on"; echo 230 >"$LED_R/delay_off"
before=$(led_state "$LED_R")
led_restored() {
        now=$(led_state "$LED_R")
        [ "$now" = "$before" ] || fail "$1: LED not handed back: was '$before', now '$now'"
        ok "$1: LED handed back ($now)"
}

rd_start
"$H/vm-gpiowatch" --info "$GS_CHIP" 0 >/tmp/info.out
grep -q 'consumer - ' /tmp/info.out && fail "resetd holds no request on the line: $(cat /tmp/info.out)"
grep -q 'used 1 active-low 1 edges rf debounce-us 30000' /tmp/info.out ||
        fail "line not requested active-low, both edges, 30 ms kernel debounce: $(cat /tmp/info.out)"
ok "resetd holds $chip line 0 'reset-button': $(cat /tmp/info.out)"

# press MS [CHATTER]: pull the line low for MS ms; with CHATTER, bounce
# first (5 ms edges, shorter than the 30 ms debounce)
n=0
press() {
        if [ -n "${2:-}" ]; then
                "$H/vm-pull" "$GS_PULL" down 5 up 5 down 5 up 4 down "$1" up >/tmp/pull.out
        else
                "$H/vm-pull" "$GS_PULL" down "$1" up >/tmp/pull.out
        fi
        n=$((n + 1))
        DOWN=$(awk 'NR == 1 { print $1 }' /tmp/pull.out)
        UP=$(awk 'END { print $1 }' /tmp/pull.out)
        rd_wait 'released after' "$n"
        m=$(rd_released_ms "$n")
        near "$m" $((UP - DOWN)) 60 || fail "resetd measured $m ms for a $((UP - DOWN)) ms press"
}

press $HOLD_NONE
rd_wait 'too short for an action' 1
[ "$(rd_count 'armed')" = 0 ] || fail "a $HOLD_NONE ms brush armed something"
ok "$HOLD_NONE ms: nothing; measured $m ms"

press $HOLD_REBOOT chatter
rd_wait 'action reboot (done|failed)' 1
grep -q 'action reboot done' "$RD_LOG" || fail "reboot failed: $(grep 'action reboot' "$RD_LOG")"
[ "$(grep -c reboot "$RD_MARK")" = 1 ] || fail "reboot-command did not run once"
[ "$(rd_count 'released after')" = 2 ] || fail "contact chatter counted as more than one press"
# (the timer kept blinking until the threshold: judge from 150 ms after it)
[ "$(led_value_at 8 $((UP - 1)))" = 1 ] || fail "the LED is not on in the reboot window"
[ "$(led_changes 8 $((DOWN + T_REBOOT + 150)) "$UP")" = 0 ] || fail "the LED is not solid in the reboot window"
ok "$HOLD_REBOOT ms with contact chatter first: one press, reboot ran, LED solid; measured $m ms"
led_restored reboot

press $HOLD_RESCUE
rd_wait 'action rescue (done|failed)' 1
grep -q 'action rescue done' "$RD_LOG" || fail "rescue failed: $(grep 'action rescue' "$RD_LOG")"
[ "$(rd_running)" = '{"doc": "first"}' ] || fail "rescue did not make 'first' running: $(rd_running)"
ok "$HOLD_RESCUE ms: rescue configuration running; measured $m ms"
led_restored rescue

press $HOLD_FACTORY
rd_wait 'action factory-reset (done|failed)' 1 30000
grep -q 'action factory-reset done' "$RD_LOG" || fail "factory reset failed: $(grep 'action factory-reset' "$RD_LOG")"
[ ! -e "$RD_ROOT/var/lib/secret/key" ] || fail "the factory reset left the secret"
blinks=$(led_changes 8 $((DOWN + T_FACTORY)) "$UP")
[ "$blinks" -ge 2 ] || fail "the LED did not blink at 4 Hz ($blinks changes in the factory window)"
ok "$HOLD_FACTORY ms: factory reset done, LED blinking ($blinks changes); measured $m ms"
led_restored factory-reset

press $HOLD_CANCEL
rd_wait 'cancelled, nothing done' 1
[ "$(grep -c reboot "$RD_MARK")" = 2 ] || fail "cancel ran an action"
ok "$HOLD_CANCEL ms: cancelled; measured $m ms"
led_restored cancel

rd_stop
"$H/vm-gpiowatch" --info "$GS_CHIP" 0 | grep -q 'used 0' || fail "resetd did not release the line"
ok "resetd stopped: line released"
