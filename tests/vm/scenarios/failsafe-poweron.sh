# failsafe-poweron — the Fail-Safe Restore (SPEC §4) as at a real power-on:
# the appliance's root is a virtio disk, mounted read-only as an initramfs
# does, the button (uinput) is already held when reset-failsafe --initrd
# runs, and the machine really reboots and powers off.
#   boot 1: make the appliance's root disk; held, released during the red
#           fade: no reset, a real reboot
#   boot 2: nothing was reset; held through the fade, released while white:
#           the factory reset runs on the disk, the machine powers off
#   boot 3: not held: reset-failsafe exits at once, the disk is in its
#           factory state
# vm-disk: root 64 ext4
# vm-boot: reboot
# vm-boot: poweroff
# vm-boot: pass
# vm-timeout: 90
. "$RK_VM_SRC/tests/vm/lib.sh"

[ -x "$FAILSAFE" ] && "$FAILSAFE" --help 2>&1 | grep -q -- --initrd || skip "needs reset-failsafe --initrd"
RD_ROOT=/mnt/root
mkdir -p $RD_ROOT

# The configuration the initramfs carries: the button, the LED, short
# windows (red fade 1.5 s, white window 3 s), no reboot/poweroff commands:
# --initrd makes them reboot(2) on this machine.
fs_conf() {
        cat >/tmp/fs.conf <<EOF
[button]
source = evdev:$UI_DEV
debounce-ms = 30
[led]
device = rgb:$LED_R,$LED_G,$LED_B
[failsafe]
hold-ms = 1500
release-timeout-ms = 3000
EOF
}
failsafe() {
        "$FAILSAFE" --initrd --root $RD_ROOT --config /tmp/fs.conf >>/tmp/fs.log 2>&1
}
fs_wait() { wait_for /tmp/fs.log "$1" 15000 || fail "reset-failsafe: no /$1/"; }

case $RK_VM_BOOT in
1)
        mount_disk "$RK_VM_DISK_ROOT" $RD_ROOT
        rd_root
        [ "$(rd_running)" = '{"doc": "second"}' ] || fail "setup: running is not 'second'"
        umount $RD_ROOT
        ok "appliance root disk made"
        mount -o ro "$RK_VM_DISK_ROOT" $RD_ROOT || fail "mount ro"
        uinput_start --down
        fs_conf
        failsafe &
        fs_wait 'button held at start'
        fs_wait 'red fade'
        led_wait_rgb 100 ||
                fail "the LED is not red during the red fade: $(cat "$UI_LED_LOG")"
        ok "held at power-on: armed, LED red"
        ui up
        fs_wait 'no reset'
        echo "the machine must reboot now"
        wait
        sleep 10
        fail "reset-failsafe did not reboot: $(cat /tmp/fs.log)"
        ;;
2)
        mount -o ro "$RK_VM_DISK_ROOT" $RD_ROOT || fail "mount ro"
        [ -e $RD_ROOT/var/lib/secret/key ] || fail "the early release reset something"
        [ "$(rd_running)" = '{"doc": "second"}' ] || fail "the early release changed the configuration"
        ok "after the early release and reboot: nothing reset"
        uinput_start --down
        fs_conf
        failsafe &
        fs_wait 'held through the fade'
        led_wait_rgb 111 ||
                fail "the LED is not white after the fade: $(cat "$UI_LED_LOG")"
        dmesg | grep -q 'reset-failsafe: held through the fade' || fail "the decisions are not in the kernel log"
        ok "held through the fade: LED white, the sign to release; decisions in the kernel log"
        ui up
        fs_wait 'factory reset'
        wait
        sleep 10
        fail "reset-failsafe did not power off: $(cat /tmp/fs.log)"
        ;;
3)
        mount -o ro "$RK_VM_DISK_ROOT" $RD_ROOT || fail "mount ro"
        uinput_start
        fs_conf
        t0=$(now_ms)
        failsafe || fail "reset-failsafe failed with the button not held: $(cat /tmp/fs.log)"
        t1=$(now_ms)
        ! dmesg | grep -q reset-failsafe || fail "a normal boot left lines in the kernel log: $(dmesg | grep reset-failsafe)"
        ok "not held: reset-failsafe returned in $((t1 - t0)) ms (emulated), nothing in the kernel log"
        [ ! -e $RD_ROOT/var/lib/secret/key ] || fail "the secret survived the fail-safe reset"
        [ "$(rd_running)" = '{"doc": "factory"}' ] || fail "running is not the factory configuration: $(rd_running)"
        grep -q 'factory reset complete' $RD_ROOT/var/log/resetkit/factory-reset.log ||
                fail "no completed reset in the root's log"
        "$RESETCTL" --root $RD_ROOT status 2>&1 | grep -Eq 'factory reset: (none|complete)' ||
                fail "a factory reset is still pending: $("$RESETCTL" --root $RD_ROOT status 2>&1)"
        ok "factory state after the power-off: secret gone, factory configuration running, log kept"
        ;;
esac
