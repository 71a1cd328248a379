# reset-at-boot — a factory reset requested on a running appliance and
# carried out at the next boot, before anything holds the root's files
# (SPEC §3 "When it runs"), with real reboots, real ext4 disks and the host
# reading the raw disk images at the end.
#   boot 1: two identical appliance roots, `root` and `live`, each with a
#           4 MiB log full of a marker that a running process holds open (as
#           journald holds its journal), everything synced to the disks.
#           live: `factory-reset --now` runs as a live process: the log is
#           removed, the free space zeroed, and the run names the held file
#           as not reached; its holder then exits, the file's blocks are
#           freed unwiped.  root: `factory-reset --at-boot`: status
#           "requested", nothing removed, and resetctl reboots the machine
#           (the holder dies with it).
#   boot 2: as the initramfs does: the root mounted read-only, the button
#           (uinput) not held, `reset-failsafe --initrd`: it finds the
#           request, makes the root writable, runs the reset with the LED
#           white, and reboots the machine.
#   boot 3: the root is in its factory state, status "complete", both
#           filesystems clean; the machine powers off.
#   host:   no byte of the marker on the raw image of `root`; on `live` the
#           marker is still there: the live reset's claim ("not reached")
#           was true, and the scan can see what it looks for.
# vm-disk: root 48 ext4
# vm-disk: live 48 ext4
# vm-boot: reboot
# vm-boot: reboot
# vm-boot: pass
# vm-scan: root absent RKVM-HELD-LOG-5c1e0a93
# vm-scan: live present RKVM-HELD-LOG-5c1e0a93
# vm-timeout: 120
. "$RK_VM_SRC/tests/vm/lib.sh"

"$RESETCTL" --help 2>&1 | grep -q -- --at-boot || skip "needs resetctl factory-reset --at-boot"
R=/mnt/root L=/mnt/live
mkdir -p $R $L
# the marker is written from two halves, so the scenario's own text (read
# over 9p, never on these disks) is the only place it appears whole
MARK="RKVM-HELD-LOG-""5c1e0a93"

appliance() {   # appliance DIR: a small appliance root with the held log
        at_boot_tree "$1"
        echo "private key" >"$1/var/lib/secret/key"
        # 4 MiB of marker lines, in a file a process keeps open
        awk -v m="$MARK" 'BEGIN { for (i = 0; i < 65536; i++) printf "%s %058d\n", m, i }' \
                >"$1/var/log/journal.log"
        "$RESETCTL" --root "$1" config commit /tmp/running.json >/dev/null 2>&1 || fail "store: commit"
}
hold() {        # hold FILE: a process keeps FILE open ("journald")
        sh -c 'exec 3<"$1"; exec sleep 100000' holder "$1" >/dev/null 2>&1 &
        echo $!
}
unhold() {      # unhold PID: the holder ends, its files closed (a zombie
                # that nobody reaps has closed them too)
        kill "$1"
        while [ -n "$(ls /proc/$1/fd 2>/dev/null)" ]; do sleep 0.05; done
}
# This machine's own configuration (trusted: resetctl --config), the copy
# an initramfs carries: this boot's button and LED, and its reboot.
this_conf() {
        printf '[button]\nsource = evdev:%s\n[led]\ndevice = rgb:%s,%s,%s\n' \
                "$UI_DEV" "$LED_R" "$LED_G" "$LED_B" >/tmp/this.conf
        printf '[actions]\nreboot-command = /run/vm/bin/reboot -f\n' >>/tmp/this.conf
}

case $RK_VM_BOOT in
1)
        mount_disk "$RK_VM_DISK_ROOT" $R
        mount_disk "$RK_VM_DISK_LIVE" $L
        uinput_start
        this_conf
        echo '{"doc": "customer"}' >/tmp/running.json
        appliance $R
        appliance $L
        sync
        ok "two appliance roots with a 4 MiB held log of markers"

        hl=$(hold $L/var/log/journal.log)
        "$RESETCTL" --root $L factory-reset --now --yes --then none >/tmp/now.out 2>&1 ||
                { cat /tmp/now.out; fail "the --now reset failed"; }
        grep -q "not reached: $L/var/log/journal.log (.*), deleted but held open by pid $hl (sleep)" /tmp/now.out ||
                { cat /tmp/now.out; fail "the --now reset did not name the held log"; }
        grep -q "NOT covered: 1 deleted file still held open" /tmp/now.out ||
                { cat /tmp/now.out; fail "the zeroing line claims what it did not reach"; }
        "$RESETCTL" --root $L --json status | grep -q "\"pid\": $hl" ||
                fail "status does not name the held log: $("$RESETCTL" --root $L --json status)"
        unhold $hl
        umount $L
        ok "--now: the held log named, in the run and in status; its holder ended"

        hr=$(hold $R/var/log/journal.log)
        "$RESETCTL" --root $R status | grep -q 'factory reset: none' || fail "a reset is pending already"
        "$RESETCTL" --root $R --config /tmp/this.conf factory-reset --at-boot --yes >/tmp/req.out 2>&1 &
        wait_for /tmp/req.out 'factory reset requested on' 20000 || fail "no request recorded"
        "$RESETCTL" --root $R status | grep -q 'factory reset: requested' ||
                fail "status: $("$RESETCTL" --root $R status)"
        [ -e $R/var/lib/secret/key ] && [ -e $R/var/log/journal.log ] || fail "the request changed the root"
        kill -0 "$hr" || fail "the holder is gone before the reboot"
        ok "--at-boot: requested, nothing removed; resetctl reboots the machine"
        wait
        sleep 20
        fail "resetctl did not reboot the machine: $(cat /tmp/req.out)"
        ;;
2)
        mount -o ro "$RK_VM_DISK_ROOT" $R || fail "mount ro"
        grep -q "$MARK" $R/var/log/journal.log || fail "the log did not survive the reboot"
        "$RESETCTL" --root $R status | grep -q 'factory reset: requested' ||
                fail "the request did not survive the reboot: $("$RESETCTL" --root $R status)"
        uinput_start
        this_conf
        ok "boot 2: the request is there; the root is read-only, as the initramfs mounts it"
        t0=$(now_ms)
        "$FAILSAFE" --initrd --root $R --config /tmp/this.conf >/tmp/fs.log 2>&1 &
        wait_for /tmp/fs.log 'carrying (it|out)' 20000 || fail "reset-failsafe did not take the request"
        wait_for /tmp/fs.log 'factory reset complete' 60000 || fail "the reset did not complete: $(cat /tmp/fs.log)"
        [ -n "$(led_first 8 1 "$t0")" ] && [ -n "$(led_first 9 1 "$t0")" ] && [ -n "$(led_first 10 1 "$t0")" ] ||
                fail "the LED was never white during the reset: $(cat "$UI_LED_LOG")"
        ok "reset-failsafe carried the request out, the LED white"
        wait
        sleep 20
        fail "reset-failsafe did not reboot the machine: $(cat /tmp/fs.log)"
        ;;
3)
        mount -o ro "$RK_VM_DISK_ROOT" $R || fail "mount ro"
        [ ! -e $R/var/lib/secret/key ] || fail "the secret survived"
        [ ! -e $R/var/log/journal.log ] || fail "the log survived"
        "$RESETCTL" --root $R config show | grep -q '"factory"' || fail "running is not the factory configuration"
        "$RESETCTL" --root $R --json status >/tmp/st.json
        grep -q '"factory_reset": "complete"' /tmp/st.json || fail "status: $(cat /tmp/st.json)"
        ! grep -q '"pid"' /tmp/st.json || fail "the reset at boot found held files: $(cat /tmp/st.json)"
        ok "factory state: secret and log gone, factory configuration, status complete, nothing held"
        umount $R
        for d in "$RK_VM_DISK_ROOT" "$RK_VM_DISK_LIVE"; do
                e2fsck -fn "$d" >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "fsck of $d"; }
        done
        ok "both filesystems clean; the host scans the images next"
        ;;
esac
