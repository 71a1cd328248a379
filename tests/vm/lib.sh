# SPDX-License-Identifier: GPL-2.0-or-later
# Shell helpers for tests/vm/scenarios/*.sh (sourced).  Scenarios run in the
# guest under busybox sh, with busybox's applets first on PATH (fast) and the
# host's tools, read over 9p, for the rest (python3, e2fsck, GNU grep).
# A scenario exits 0 for PASS, 77 for SKIP, anything else for FAIL; the
# guest's /init turns that into the verdict.

H=$RK_VM_HELPERS
RESETD=$RK_VM_BUILD/src/resetd/resetd
RESETCTL=$RK_VM_BUILD/src/resetctl/resetctl
FAILSAFE=$RK_VM_BUILD/src/reset-failsafe/reset-failsafe

say() { echo "[$RK_VM_NAME] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
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
        UI_LEDSYS=$(awk '/ ready /{ print $5 }' "$UI_OUT")
        LED_R=/sys/class/leds/$UI_LEDSYS::misc
        LED_G=/sys/class/leds/$UI_LEDSYS::mail
        LED_B=/sys/class/leds/$UI_LEDSYS::charging
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

# ---- resetd ----------------------------------------------------------------
# Millisecond windows: reboot 300, rescue 900, factory 1500, cancel 2100;
# the holds below sit in the middle of each (+-300 ms of margin: emulation
# jitter, not resetd, is what the margin is for — resetd measures with the
# kernel's timestamps).
T_REBOOT=300 T_RESCUE=900 T_FACTORY=1500 T_CANCEL=2100
HOLD_NONE=150 HOLD_REBOOT=600 HOLD_RESCUE=1200 HOLD_FACTORY=1800 HOLD_CANCEL=2500
RD_ROOT=/tmp/root RD_LOG=/tmp/resetd.log RD_MARK=/tmp/rebooted

# rd_root: a small appliance tree for resetd's actions: a store whose
# running configuration is "second" and rescue "first", a factory
# configuration, a manifest removing a secret, and a reboot-command that only
# writes a marker.  rd_conf SOURCE LED [EXTRA LINES]: its resetd.conf.
rd_root() {
        "$RESETCTL" --help 2>&1 | grep -q 'rescue save' || skip "needs the configuration store (resetctl rescue save)"
        "$RESETCTL" --help 2>&1 | grep -q 'factory-reset' || skip "needs resetctl factory-reset"
        R=$RD_ROOT
        mkdir -p "$R/etc/resetkit" "$R/usr/lib/resetkit/factory-reset.d" "$R/var/lib/secret"
        echo '{"doc": "factory"}' >"$R/usr/lib/resetkit/factory-config.json"
        printf 'remove /var/lib/secret/*\nfactory-config -\n' >"$R/usr/lib/resetkit/factory-reset.d/vm.conf"
        echo "private key" >"$R/var/lib/secret/key"
        : >"$R/etc/resetkit/resetd.conf"
        echo '{"doc": "first"}' >/tmp/first.json
        echo '{"doc": "second"}' >/tmp/second.json
        "$RESETCTL" --root "$R" config commit /tmp/first.json >/dev/null 2>&1 || fail "store: commit first"
        "$RESETCTL" --root "$R" rescue save >/dev/null 2>&1 || fail "store: rescue save"
        "$RESETCTL" --root "$R" config commit /tmp/second.json >/dev/null 2>&1 || fail "store: commit second"
        rm -f "$RD_MARK"
}
rd_conf() {
        {
                printf '[button]\nsource = %s\ndebounce-ms = 30\n' "$1"
                printf '[timing]\nreboot-ms = %s\nrescue-ms = %s\nfactory-ms = %s\ncancel-ms = %s\n' \
                        $T_REBOOT $T_RESCUE $T_FACTORY $T_CANCEL
                printf '[led]\ndevice = %s\n' "$2"
                printf '[actions]\nreboot-command = echo reboot >>%s\n' "$RD_MARK"
                shift 2
                for l in "$@"; do echo "$l"; done
        } >"$RD_ROOT/etc/resetkit/resetd.conf"
}
rd_running() { "$RESETCTL" --root "$RD_ROOT" config show 2>/dev/null; }

# rd_start [resetd options]: resetd in the foreground on RD_ROOT, log in RD_LOG
rd_start() {
        : >"$RD_LOG"
        # 7>&-: the daemon must not hold the uinput helper's command fifo open
        "$RESETD" --root "$RD_ROOT" --foreground "$@" >>"$RD_LOG" 2>&1 7>&- &
        RD_PID=$!
        _t=10000
        until grep -q 'ready' "$RD_LOG"; do
                if ! kill -0 "$RD_PID" 2>/dev/null; then
                        grep -q 'not built yet' "$RD_LOG" && skip "needs resetd's button loop (resetd: $(cat "$RD_LOG"))"
                        sed 's/^/    | /' "$RD_LOG"; fail "resetd exited before it was ready"
                fi
                [ "$_t" -gt 0 ] || { sed 's/^/    | /' "$RD_LOG"; fail "resetd did not get ready"; }
                sleep 0.05; _t=$((_t - 50))
        done
}
rd_stop() {
        kill "$RD_PID" 2>/dev/null || true
        wait "$RD_PID" 2>/dev/null || true
}
# rd_count REGEX: how many lines of resetd's log match
rd_count() { grep -Ec -- "$1" "$RD_LOG" || true; }
# rd_wait REGEX N [TIMEOUT_MS]: until N lines match
rd_wait() {
        _t=${3:-15000}
        while [ "$(rd_count "$1")" -lt "$2" ]; do
                [ "$_t" -gt 0 ] || { sed 's/^/    | /' "$RD_LOG"; fail "resetd: no ${2}x /$1/"; }
                sleep 0.05
                _t=$((_t - 50))
        done
}
# rd_released_ms N: the hold measured by resetd for the N-th release
rd_released_ms() {
        grep -o 'released after [0-9]* ms' "$RD_LOG" | sed -n "${1}p" | awk '{ print $3 }'
}
# near A B TOL: |A - B| <= TOL
near() { [ "$1" -ge $(($2 - $3)) ] && [ "$1" -le $(($2 + $3)) ]; }

# led_state DIR: "trigger=NAME brightness=N" as sysfs shows it; a blinking
# trigger's settings instead of its ever-changing brightness
led_state() {
        _trig=$(sed -n 's/.*\[\([^]]*\)\].*/\1/p' "$1/trigger")
        printf 'trigger=%s' "$_trig"
        case $_trig in
        timer) printf ' delay_on=%s delay_off=%s' "$(cat "$1/delay_on")" "$(cat "$1/delay_off")" ;;
        pattern) printf ' pattern=%s repeat=%s' "$(cat "$1/pattern" | tr ' ' ,)" "$(cat "$1/repeat")" ;;
        *) printf ' brightness=%s' "$(cat "$1/brightness")" ;;
        esac
        echo
}
# led_first CODE VALUE FROM_MS: time of the first EV_LED CODE=VALUE at or
# after FROM_MS in the uinput LED log (empty when none)
led_first() {
        awk -v c="$1" -v v="$2" -v t="$3" '$1 >= t && $3 == c && $4 == v { print $1; exit }' "$UI_LED_LOG"
}
# led_changes CODE FROM_MS TO_MS: how many EV_LED changes of CODE in between
led_changes() {
        awk -v c="$1" -v a="$2" -v b="$3" '$1 >= a && $1 < b && $3 == c { n++ } END { print n + 0 }' "$UI_LED_LOG"
}
# led_value_at CODE T: the LED's value at T (its last EV_LED at or before T;
# 0, as a new device starts, when none)
led_value_at() {
        awk -v c="$1" -v t="$2" 'BEGIN { v = 0 } $1 <= t && $3 == c { v = $4 } END { print v }' "$UI_LED_LOG"
}
# led_wait_rgb RGB [TIMEOUT_MS]: until the R,G,B LEDs read RGB ("100": red)
led_wait_rgb() {
        _t=${2:-2000}
        until [ "$(led_value_at 8 999999999999)$(led_value_at 9 999999999999)$(led_value_at 10 999999999999)" = "$1" ]; do
                [ "$_t" -gt 0 ] || return 1
                sleep 0.02; _t=$((_t - 20))
        done
}

# ---- factory reset -----------------------------------------------------------
# appliance_tree DIR: an SSR-like appliance root (on top of rd_root's store):
# running configs and init files, rotated factory defaults, logs, InfluxDB
# data, users with homes and SSH keys, shadow files, and a manifest covering
# them.  Only shell builtins in the loops: a process costs ~20 ms emulated.
appliance_tree() {
        RD_ROOT=$1 rd_root
        A=$1
        mkdir -p $A/var/lib/128technology $A/etc/128technology/salt/pki $A/var/log/128technology \
                $A/var/lib/influxdb/data $A/home/alice/.ssh $A/home/bob $A/var/spool/mail \
                $A/etc/resetkit/factory-reset.d
        echo '{"running": 1}' >$A/var/lib/128technology/t128-running.json
        echo '{"user": 1}' >$A/var/lib/128technology/user-running.json
        echo 'init' >$A/etc/128technology/global.init
        echo 'init' >$A/etc/128technology/local.init
        echo 'KEY' >$A/etc/128technology/salt/pki/minion.pem
        for i in 1 2 3; do
                echo "<xml $i/>" >$A/var/lib/128technology/factory-default-$i.xml
                touch -d "2024-01-0$i 00:00:00" $A/var/lib/128technology/factory-default-$i.xml
        done
        i=0
        while [ $i -lt 60 ]; do
                echo "log line $i" >$A/var/log/128technology/highway-$i.log
                echo "point $i" >$A/var/lib/influxdb/data/shard-$i
                i=$((i + 1))
        done
        echo 'PRIVATE KEY' >$A/home/alice/.ssh/id_ed25519
        echo 'history' >$A/home/bob/.bash_history
        echo 'mail' >$A/var/spool/mail/alice
        cat >$A/etc/passwd <<PW
root:x:0:0:root:/root:/bin/bash
admin:x:999:999:admin:/home/admin:/bin/bash
alice:x:1000:1000:Alice:/home/alice:/bin/bash
bob:x:1001:1001:Bob:/home/bob:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PW
        cat >$A/etc/shadow <<PW
root:\$6\$old\$rootoldhash:19000:0:99999:7:::
admin:\$6\$old\$adminoldhash:19000:0:99999:7:::
alice:\$6\$old\$alicehash:19000:0:99999:7:::
bob:\$6\$old\$bobhash:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
PW
        cat >$A/etc/group <<PW
root:x:0:
admin:x:999:
alice:x:1000:
bob:x:1001:
users:x:100:alice,bob
nogroup:x:65534:
PW
        printf 'root:*::\nadmin:*::\nalice:!::\nbob:!::\nusers:*::alice,bob\nnogroup:*::\n' >$A/etc/gshadow
        cp $A/etc/shadow $A/etc/shadow-
        chmod 640 $A/etc/shadow $A/etc/shadow- $A/etc/gshadow
        cat >$A/usr/lib/resetkit/factory-reset.d/ssr.conf <<MF
remove /var/lib/128technology/t128-running.json
remove /var/lib/128technology/user-running.json
remove /etc/128technology/*.init
remove /etc/128technology/salt/pki
keep-newest /var/lib/128technology/factory-default-*.xml 1
empty /var/log/128technology
remove /var/lib/influxdb/data
delete-users - 1000
reset-password root \$6\$factory\$rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr
reset-password admin \$6\$factory\$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
factory-config -
MF
}

# fingerprint DIR: what a factory reset's result is made of, without times:
# every path with its type, mode and owner, every file's SHA-256 (but the
# store's index and the reset's status record, whose entries carry times,
# and the reset's log),
# the store's entries by name and SHA-256, the running configuration.
fingerprint() {
        (cd "$1" && find . -xdev \( -path ./lost+found -o -path ./var/log/resetkit -o -path ./tmp \
                -o -path ./.rk-vm \) -prune -o -print | sort >/tmp/fp.paths
         while read -r p; do
                [ "$p" = . ] && continue
                echo "$p $(stat -c '%F %a %u %g' "$p")"
         done </tmp/fp.paths
         grep -v -e '/index.json$' -e '\.log$' -e '\.lock$' -e '/factory-reset.status$' /tmp/fp.paths | while read -r p; do
                [ -f "$p" ] && [ ! -L "$p" ] && echo "$p"
         done | xargs -r sha256sum)
        "$RESETCTL" --root "$1" config list 2>&1 | awk 'NR > 1 { print $1, $4, $5 }'
        "$RESETCTL" --root "$1" config show 2>&1
}

# at_boot_tree DIR: a small appliance root whose early-boot program is
# installed (its initramfs-tools hook), an empty resetd.conf, a factory
# configuration and a manifest: the secrets in /var/lib/secret and the logs
# go, the factory configuration comes back, the free space is zeroed
at_boot_tree() {
        mkdir -p "$1/etc/resetkit" "$1/usr/lib/resetkit/factory-reset.d" "$1/var/lib/secret" "$1/var/log" \
                "$1/usr/share/initramfs-tools/hooks"
        echo '{"doc": "factory"}' >"$1/usr/lib/resetkit/factory-config.json"
        : >"$1/etc/resetkit/resetd.conf"
        printf 'remove /var/lib/secret/*\nempty /var/log\nfactory-config -\nzero-free-space /\n' \
                >"$1/usr/lib/resetkit/factory-reset.d/vm.conf"
        cp "$RK_VM_SRC/data/initramfs-tools/hooks/resetkit" "$1/usr/share/initramfs-tools/hooks/"
}
