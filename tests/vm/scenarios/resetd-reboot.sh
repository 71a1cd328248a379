# resetd-reboot — the reboot action with its default command, as on a
# device without systemd: resetd syncs, then calls reboot(2), and the machine
# really restarts (the runner sees the kernel's "reboot: Restarting system").
# A file written just before the press, never synced by the test, must be on
# the disk at the next boot: resetd's sync put it there.
# resetd runs on the real root here (no --root): the guest's / is the host's
# root shared read-only, and only the reboot window is reachable (rescue and
# factory-reset start after minutes).
# vm-disk: data 16 ext4
# vm-boot: reboot
# vm-boot: pass
# vm-timeout: 60
. "$RK_VM_SRC/tests/vm/lib.sh"

case $RK_VM_BOOT in
1)
        mount_disk "$RK_VM_DISK_DATA" /mnt/data
        uinput_start
        cat >/tmp/r.conf <<EOF
[button]
source = evdev:$UI_DEV
[timing]
reboot-ms = 300
rescue-ms = 500000
factory-ms = 600000
cancel-ms = 700000
[led]
device = rgb:$LED_R,$LED_G,$LED_B
EOF
        RD_LOG=/tmp/resetd.log
        "$RESETD" --config /tmp/r.conf --foreground >$RD_LOG 2>&1 &
        RD_PID=$!
        wait_for $RD_LOG 'ready' 10000 || fail "resetd did not start: $(cat $RD_LOG)"
        grep -q 'not built yet' $RD_LOG && skip "needs resetd's button loop"
        echo "written at boot 1, never synced by the test" >/mnt/data/unsynced
        ui hold 600
        rd_wait 'action reboot started' 1
        sleep 10
        fail "resetd did not reboot the machine: $(cat $RD_LOG)"
        ;;
2)
        mount_disk "$RK_VM_DISK_DATA" /mnt/data
        [ "$(cat /mnt/data/unsynced 2>/dev/null)" = "written at boot 1, never synced by the test" ] ||
                fail "the file written before the reboot is lost: resetd did not sync"
        ok "after resetd's real reboot: the unsynced file is on the disk"
        ;;
esac
