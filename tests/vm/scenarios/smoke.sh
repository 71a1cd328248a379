# smoke — the harness and the guest's kernel interfaces, before any resetkit
# feature: uinput button + input-leds LEDs, the pattern trigger, gpio-sim
# edges through the GPIO v2 uAPI, the resetkit binaries running from the
# host's build over 9p.
# vm-boot: pass
# vm-timeout: 60
. "$RK_VM_SRC/tests/vm/lib.sh"

"$RESETCTL" --version | grep -q resetctl || fail "resetctl does not run in the guest"
ok "resetctl $($RESETCTL --version) runs from the build dir"

# --- uinput: KEY_RESTART in, EV_LED out -----------------------------------
uinput_start
[ -c "$UI_DEV" ] || fail "$UI_DEV is not a character device"
grep -q "resetkit-vm-button" "/sys/class/input/$UI_SYS/name" || fail "wrong device name"
for l in "$LED_R" "$LED_G" "$LED_B"; do
        [ -f "$l/brightness" ] || fail "input-leds gave no $l"
done
ok "uinput $UI_DEV ($UI_SYS) with LEDs ${LED_R##*/} ${LED_G##*/} ${LED_B##*/}"

"$H/vm-evwatch" "$UI_DEV" 2 5000 >/tmp/ev.out &
ev=$!
wait_for /tmp/ev.out '^ready' || fail "vm-evwatch did not start"
ui hold 300
wait "$ev" || { cat /tmp/ev.out; fail "the key events did not arrive"; }
expect_line /tmp/ev.out '^key 408 1 ' "KEY_RESTART press seen"
expect_line /tmp/ev.out '^key 408 0 ' "KEY_RESTART release seen"
held=$(awk '/^key 408 1/{ d = $4 } /^key 408 0/{ u = $4 } END { print u - d }' /tmp/ev.out)
[ "$held" -ge 295 ] && [ "$held" -le 400 ] || fail "a 300 ms hold measured $held ms by kernel timestamps"
ok "a 300 ms hold is $held ms by the kernel's timestamps"

# LED class -> EV_LED to the device owner (what an LED sink does).
echo 1 >"$LED_R/brightness"
wait_for "$UI_LED_LOG" ' led 8 1$' || fail "brightness write gave no EV_LED"
echo 0 >"$LED_R/brightness"
wait_for "$UI_LED_LOG" ' led 8 0$' || fail "brightness 0 gave no EV_LED"
ok "writing brightness reaches the device as EV_LED"

grep -q pattern "$LED_G/trigger" || fail "no pattern trigger on $LED_G: $(cat "$LED_G/trigger")"
echo pattern >"$LED_G/trigger"
echo "1 50 1 0 0 50 0 0" >"$LED_G/pattern"
sleep 0.6
echo none >"$LED_G/trigger"
n=$(grep -c ' led 9 ' "$UI_LED_LOG")
[ "$n" -ge 4 ] || fail "the pattern trigger toggled the LED $n times in 600 ms"
ok "the pattern trigger blinks the LED ($n EV_LED events in 600 ms)"
uinput_stop

# --- gpio-sim: pull changes are edges on /dev/gpiochipN -------------------
gpiosim_start reset-button
"$H/vm-gpiowatch" "$GS_CHIP" 0 2 5000 >/tmp/gpio.out &
gw=$!
wait_for /tmp/gpio.out '^ready' || fail "vm-gpiowatch did not start"
gpio_set up
sleep 0.2
gpio_set down
wait "$gw" || { cat /tmp/gpio.out; fail "the GPIO edges did not arrive"; }
expect_line /tmp/gpio.out '^rising [0-9]+ seq 1$' "gpio-sim rising edge"
expect_line /tmp/gpio.out '^falling [0-9]+ seq 2$' "gpio-sim falling edge"
ok "gpio-sim chip $GS_CHIP line 0 gives edges with timestamps"
