# resetd-multicolor — resetd's multicolor: LED sink on the kernel's own LED
# class.  rk-led-sim (tests/vm/kmod) registers "rk-sim:multi:status" through
# leds-class-multicolor (red, green, blue; max_brightness 255) and logs the
# channels the kernel computes (led_mc_calc_color_components) on every
# brightness_set; the triggers, multi_intensity, brightness and their
# interplay are the real kernel's.  Three runs of resetd on a uinput button:
#   1. the pattern trigger loaded: blinks by the kernel's ledtrig-pattern,
#   2. ledtrig-pattern removed: blinks by the timer trigger,
#   3. ledtrig-timer removed too: software steps,
# each checking the colours of SPEC §1 as the kernel computed them (reboot
# green solid, rescue amber 1 Hz, factory red 4 Hz, the failed rescue's
# three red blinks), the attributes as resetd wrote them, and the LED handed
# back to its owner exactly (trigger and its settings, brightness,
# multi_intensity).  Then an LED path that does not exist and an LED that is
# not multicolor: logged once, the button still works.
# vm-boot: pass
# vm-timeout: 150
. "$RK_VM_SRC/tests/vm/lib.sh"

L=/sys/class/leds/rk-sim:multi:status
SIM=/sys/kernel/debug/rk-led-sim/log
[ -d "$L" ] || fail "no $L: rk-led-sim is not loaded"
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
[ -r "$SIM" ] || fail "no $SIM"
[ "$(cat "$L/multi_index")" = "red green blue" ] || fail "multi_index: $(cat "$L/multi_index")"

# Wider windows than lib.sh's so that a 1 Hz blink shows on, off, on in the
# rescue window: reboot 300, rescue 800, factory 2000, cancel 2700 ms.
T_REBOOT=300 T_RESCUE=800 T_FACTORY=2000 T_CANCEL=2700
HOLD_REBOOT=650 HOLD_RESCUE=1250 HOLD_CANCEL=3100
TOL=150         # feedback after a threshold: SPEC 20 ms, emulation adds

# No configuration store: a rescue fails ("no rescue configuration").
mkdir -p "$RD_ROOT/etc/resetkit"
rm -f "$RD_MARK"

uinput_start
# 7>&-: it must not keep vm-uinput's command fifo open (uinput_stop)
"$H/vm-evwatch" "$UI_DEV" 1000 600000 >/tmp/keys.log 7>&- &
EVW=$!
wait_for /tmp/keys.log '^ready' || fail "vm-evwatch did not start"

# ---- the LED as sysfs shows it -------------------------------------------
# mc_state: trigger, its settings (a blinking trigger's brightness changes
# all the time: not compared), brightness, multi_intensity
mc_state() {
        _t=$(sed -n 's/.*\[\([^]]*\)\].*/\1/p' "$L/trigger")
        printf 'trigger=%s' "$_t"
        case $_t in
        timer) printf ' delay_on=%s delay_off=%s' "$(cat "$L/delay_on")" "$(cat "$L/delay_off")" ;;
        pattern) printf ' pattern=%s repeat=%s' "$(tr ' ' , <"$L/pattern")" "$(cat "$L/repeat")" ;;
        *) printf ' brightness=%s' "$(cat "$L/brightness")" ;;
        esac
        printf ' multi_intensity=%s\n' "$(tr ' ' , <"$L/multi_intensity")"
}
# owner ATTR=VALUE...: the LED's owner sets it up, attribute by attribute
owner() {
        echo none >"$L/trigger"
        for _a in "$@"; do
                echo "${_a#*=}" >"$L/${_a%%=*}" || fail "owner: cannot write $_a"
        done
        BEFORE=$(mc_state)
        say "owner state: $BEFORE"
}
# handed_back WHAT: the LED is as its owner left it (waits up to 4 s: the
# failure sign runs 1.2 s after an action)
handed_back() {
        _t=4000
        until [ "$(mc_state)" = "$BEFORE" ]; do
                [ "$_t" -gt 0 ] || fail "$1: LED not handed back: was '$BEFORE', now '$(mc_state)'"
                sleep 0.05; _t=$((_t - 50))
        done
        ok "$1: LED handed back ($BEFORE)"
}

# ---- what the kernel computed (rk-led-sim's log) -------------------------
# sim_colours FROM_MS TO_MS: "<ms> <colour>" for each change of the computed
# colour in [FROM, TO), first the colour at FROM; colours: off, green,
# amber, red (SPEC §1 at full level) or R,G,B
sim_colours() {
        awk -v a="$1" -v b="$2" '
        function col(r, g, b) {
                if (r == 0 && g == 0 && b == 0) return "off"
                if (r == 0 && g == 255 && b == 0) return "green"
                if (r == 255 && g == 160 && b == 0) return "amber"
                if (r == 255 && g == 0 && b == 0) return "red"
                return r "," g "," b
        }
        { c = col($4, $5, $6) }
        $2 <= a { cur = c; next }
        $2 >= b { exit }
        !started { started = 1; print a, (cur == "" ? "off" : cur); last = cur == "" ? "off" : cur }
        c != last { print $2, c; last = c }
        END { if (!started) print a, (cur == "" ? "off" : cur) }' "$SIM"
}
# at_threshold COLOUR T MIN_MS: COLOUR came within [T - 10, T + TOL] ms of
# the press, and stayed for MIN_MS at least (a flash while a trigger is set
# up is not the colour being shown)
at_threshold() {
        _e=$(now_ms)
        sim_colours $((DOWN + $2 - 10)) "$_e" | long_phases "$1" "$3" "$_e" >/tmp/first
        read -r _n _f _l </tmp/first
        [ -n "$_f" ] && [ "$_f" -le $((DOWN + $2 + TOL)) ] ||
                { sim_colours "$DOWN" "$UP" | sed 's/^/    | /' >&2; fail "$MODE: no $1 for $3 ms within $TOL ms of the $2 ms threshold (first: ${_f:-never}, press at $DOWN)"; }
        echo $((_f - DOWN - $2))
}
# blinking COLOUR FROM_MS TO_MS HALF_MS MIN_CHANGES: only COLOUR and off in
# between, at least MIN_CHANGES changes, most whole phases HALF_MS +-40% (a
# busy host stalls the emulated machine now and then)
blinking() {
        sim_colours "$2" "$3" >/tmp/phases
        _bad=$(awk -v c="$1" -v e="$3" -v h="$4" -v n="$5" '
                $2 != c && $2 != "off" { bad = "colour " $2 " at " $1; exit }
                NR > 2 { p++; if ($1 - t >= h * 0.6 && $1 - t <= h * 1.4) good++; else odd = odd " " $1 - t }
                { t = $1 }
                END {
                        if (bad) print bad
                        else if (NR - 1 < n) print NR - 1 " changes"
                        else if (good * 2 < p) print "phases of" odd " ms"
                }' /tmp/phases)
        [ -z "$_bad" ] || { sed 's/^/    | /' /tmp/phases >&2; fail "$MODE: not $1 blinking with $4 ms phases: $_bad"; }
        echo $(($(wc -l </tmp/phases) - 1))
}
# long_phases COLOUR MIN_MS END_MS <sim_colours: "N FIRST LAST", the phases
# of COLOUR lasting MIN_MS or more, when the first and the last began
long_phases() {
        awk -v c="$1" -v m="$2" -v e="$3" '
        { t[NR] = $1; k[NR] = $2 }
        END {
                t[NR + 1] = e
                for (i = 1; i <= NR; i++)
                        if (k[i] == c && t[i + 1] - t[i] >= m) { n++; if (!f) f = t[i]; l = t[i] }
                print n + 0, f, l
        }'
}
# steady COLOUR FROM_MS TO_MS: COLOUR all along
steady() {
        _s=$(sim_colours "$2" "$3" | awk '{ printf "%s ", $2 }')
        [ "$_s" = "$1 " ] || { sim_colours "$2" "$3" | sed 's/^/    | /'; fail "$MODE: not $1 solid from $2 to $3 ms: $_s"; }
}

# led_complaints: resetd's log lines about LED trouble (its start line names
# the LED too)
led_complaints() { grep -v ': button .*, LED ' "$RD_LOG" | grep -c 'LED' || true; }

# ---- the button ----------------------------------------------------------
n=0
# press MS: start a hold of MS ms; sets DOWN (the kernel's timestamp)
press() {
        ui hold "$1"
        n=$((n + 1))
        while [ "$(grep -c '^key 408 1 ' /tmp/keys.log)" -lt $n ]; do sleep 0.01; done
        DOWN=$(awk '$1 == "key" && $3 == 1 { print $4 }' /tmp/keys.log | sed -n "${n}p")
        HOLD=$1
}
# released: wait for the release; sets UP
released() {
        while [ "$(grep -c '^key 408 0 ' /tmp/keys.log)" -lt $n ]; do sleep 0.02; done
        UP=$(awk '$1 == "key" && $3 == 0 { print $4 }' /tmp/keys.log | sed -n "${n}p")
        near $((UP - DOWN)) "$HOLD" 250 || fail "emulation jitter: a $HOLD ms hold took $((UP - DOWN)) ms"
}
# sample_at MS: the LED's sysfs state MS after the press (the holds leave
# 200 ms at least after MS before the window ends)
sample_at() {
        _d=$((DOWN + $1 - $(now_ms)))
        [ "$_d" -gt 0 ] && sleep "$(awk -v d="$_d" 'BEGIN { printf "%.3f", d / 1000 }')"
        mc_state
}
# expect_state WHAT STATE REGEX: STATE matches
expect_state() {
        echo "$2" | grep -Eq -- "$3" || fail "$MODE: $1: sysfs shows '$2', expected /$3/"
}

# ---- one run: a reboot, a failing rescue, a cancel through every window ---
# run MODE TRIGGER-IN-BLINKS [reboot]: resetd on the LED, the holds (the
# reboot hold only when asked: green is solid, stepped the same way
# whatever animates the blinks, and the cancel hold shows it too)
run() {
        MODE=$1 TRIG=$2
        rd_conf "evdev:$UI_DEV" "multicolor:$L"
        rd_start
        [ "$(led_complaints)" = 0 ] || { sed 's/^/    | /' "$RD_LOG"; fail "$MODE: resetd complained about the LED"; }
        armed=5
        [ "${3:-}" = reboot ] && { run_reboot; armed=6; }
        run_rescue_fails
        run_cancel
        [ "$(rd_count 'armed')" = $((armed + 1)) ] || fail "$MODE: $(rd_count armed) windows armed, not $((armed + 1))"
        rd_stop
        handed_back "$MODE: resetd stopped"
}

# reboot: green solid from 300 ms; the action runs; handed back
run_reboot() {
        owner "multi_intensity=30 60 90" brightness=100
        [ "$(cat "$L/device/channels")" = "12 24 35" ] || fail "owner's colour: computed $(cat "$L/device/channels"), not 12 24 35"
        press $HOLD_REBOOT
        s=$(sample_at $((T_REBOOT + TOL)))
        expect_state "reboot window" "$s" "^trigger=none brightness=255 multi_intensity=0,255,0\$"
        released
        rd_wait 'action reboot (done|failed)' 1
        grep -q 'action reboot done' "$RD_LOG" || fail "$MODE: reboot failed: $(grep 'action reboot' "$RD_LOG")"
        handed_back "$MODE: reboot"
        d=$(at_threshold green $T_REBOOT 100)
        steady green $((DOWN + T_REBOOT + TOL)) "$UP"
        [ "$(cat "$L/device/channels")" = "12 24 35" ] || fail "$MODE: owner's colour not back: $(cat "$L/device/channels")"
        ok "$MODE: reboot: green solid $d ms after the threshold, the owner's colour back (12 24 35)"
}

# a failing rescue: amber blinking from 800 ms, then red blinks 3 times;
# the owner blinks with the timer trigger (when it exists)
run_rescue_fails() {
        if [ "$MODE" = software ]; then
                owner "multi_intensity=200 0 10" brightness=255
        else
                owner "multi_intensity=10 20 30" trigger=timer delay_on=170 delay_off=230
        fi
        press $HOLD_RESCUE
        s=$(sample_at $((T_RESCUE + TOL)))
        expect_state "rescue window" "$s" "^trigger=$TRIG .*multi_intensity=255,160,0\$"
        released
        rd_wait 'action rescue (done|failed)' 1
        # resetd's line names the failure and its reason
        grep -q 'action rescue failed: no rescue configuration' "$RD_LOG" ||
                { sed 's/^/    | /' "$RD_LOG"; fail "$MODE: rescue without a rescue configuration did not fail as such"; }
        handed_back "$MODE: failed rescue"
        end=$(now_ms)
        d=$(at_threshold amber $T_RESCUE 200)
        # after the release: amber (the action is quick), then red x3
        sim_colours "$UP" "$end" >/tmp/fail
        long_phases red 100 "$end" </tmp/fail >/tmp/fail.red
        read -r reds first last </tmp/fail.red
        [ "$reds" = 3 ] && [ -n "$first" ] && near $((last - first)) 800 250 ||
                { sed 's/^/    | /' /tmp/fail; fail "$MODE: the failed rescue showed $reds red blinks, not 3 at 400 ms"; }
        blinking red "$first" $((last + 200)) 200 4 >/dev/null
        ok "$MODE: failed rescue: amber $d ms after the threshold, then red x3 ($((last - first)) ms from first to last), handed back"
}

# cancel: green, amber 1 Hz, red 4 Hz, then the owner's LED again; the
# sysfs attributes sampled in the rescue and factory windows
run_cancel() {
        if [ "$MODE" = pattern ]; then
                # this owner runs a pattern of its own: a slow fade
                owner "multi_intensity=30 60 90" trigger=pattern "pattern=20 300 120 300"
        else
                owner "multi_intensity=30 60 90" brightness=40
        fi
        press $HOLD_CANCEL
        s=$(sample_at $((T_RESCUE + TOL)))
        expect_state "rescue window" "$s" "^trigger=$TRIG .*multi_intensity=255,160,0\$"
        s2=$(sample_at $((T_FACTORY + TOL)))
        expect_state "factory window" "$s2" "^trigger=$TRIG .*multi_intensity=255,0,0\$"
        released
        rd_wait 'cancelled, nothing done' 1
        handed_back "$MODE: cancel"
        dg=$(at_threshold green $T_REBOOT 100)
        steady green $((DOWN + T_REBOOT + TOL)) $((DOWN + T_RESCUE))
        da=$(at_threshold amber $T_RESCUE 200)
        na=$(blinking amber $((DOWN + T_RESCUE + TOL)) $((DOWN + T_FACTORY)) 500 2)
        dr=$(at_threshold red $T_FACTORY 60)
        nr=$(blinking red $((DOWN + T_FACTORY + TOL)) $((DOWN + T_CANCEL)) 125 3)
        after=$(sim_colours $((DOWN + T_CANCEL + TOL)) "$(now_ms)" | awk '$2 ~ /^(green|amber|red)$/')
        [ -z "$after" ] || fail "$MODE: feedback after the cancel threshold: $after"
        if [ "$MODE" != pattern ]; then
                [ "$(cat "$L/device/channels")" = "5 9 14" ] || fail "$MODE: owner's colour not back: $(cat "$L/device/channels")"
        fi
        ok "$MODE: cancel: green +$dg ms, amber +$da ms ($na changes), red +$dr ms ($nr changes), then the owner's LED"
        [ "$(grep -c reboot "$RD_MARK")" = 1 ] || fail "$MODE: reboot-command ran $(grep -c reboot "$RD_MARK") times, not once"
        # the trigger's attributes as resetd wrote them
        case $MODE in
        pattern) expect_state "rescue pattern" "$s" "pattern=255,500,255,0,0,500,0,0 repeat=-1"
                 expect_state "factory pattern" "$s2" "pattern=255,125,255,0,0,125,0,0 repeat=-1" ;;
        timer) expect_state "rescue timer" "$s" "delay_on=500 delay_off=500"
               expect_state "factory timer" "$s2" "delay_on=125 delay_off=125" ;;
        esac
}

run pattern pattern reboot
ok "pattern trigger: every window as SPEC §1 says"

rmmod ledtrig_pattern || fail "rmmod ledtrig_pattern"
grep -qw pattern "$L/trigger" && fail "the pattern trigger is still offered"
run timer timer
ok "timer trigger: the same colours"

rmmod ledtrig_timer || fail "rmmod ledtrig_timer"
run software none
ok "software steps: the same colours"

# An LED that does not exist, one that is not multicolor: resetd logs it
# once, says the feedback is off, and the button works.
# (a reboot hold shows green; two of them show that the trouble is logged
# once, not at every press)
for led in /sys/class/leds/rk-sim:nope "$LED_R"; do
        rd_conf "evdev:$UI_DEV" "multicolor:$led"
        rd_start
        seq0=$(tail -n 1 "$SIM" | awk '{ print $1 }')
        for i in 1 2; do
                press $HOLD_REBOOT; released
                rd_wait 'action reboot (done|failed)' "$i"
        done
        rd_stop
        [ "$(rd_count 'action reboot done')" = 2 ] || fail "multicolor:$led: the reboots did not run"
        [ "$(led_complaints)" = 1 ] && [ "$(rd_count 'LED feedback disabled')" = 1 ] ||
                { sed 's/^/    | /' "$RD_LOG"; fail "multicolor:$led: LED trouble not logged once"; }
        [ "$(tail -n 1 "$SIM" | awk '{ print $1 }')" = "$seq0" ] || fail "multicolor:$led: the simulated LED changed"
        ok "multicolor:$led: logged once ('$(grep 'feedback disabled' "$RD_LOG" | sed 's/^resetd: //')'), two reboots worked"
done
kill "$EVW" 2>/dev/null || true
uinput_stop
