# reset-at-boot-powercut — the power cut off while the early-boot program
# carries out a requested factory reset (SPEC §3 "Power loss", "When it
# runs"): the next boot finishes it, and the result is the uninterrupted one.
#   boot 1: two identical appliance roots with the same request: `ref` is
#           reset by reset-failsafe without interruption (the reference);
#           on `cut`, as the initramfs runs it (read-only root, --initrd),
#           the power is cut 0.2 s into its free-space zeroing,
#           after the secrets are removed and before the fill is done.
#   boot 2: reset-failsafe --initrd again: the journal says the reset was
#           interrupted; it finishes it (attempt 2) and reboots.
#   boot 3: `cut` equals `ref` (every path, type, mode, owner, content, the
#           store), status "complete" after 2 attempts, both filesystems
#           clean.
#   host:   no byte of the removed secret's marker on the image of `cut`.
# vm-disk: ref 128 ext4
# vm-disk: cut 128 ext4
# vm-boot: cut-at RK-VM-ZEROING +0.2
# vm-boot: reboot
# vm-boot: pass
# vm-scan: cut absent RKVM-CUT-SECRET-7d42b9e1
# vm-timeout: 120
. "$RK_VM_SRC/tests/vm/lib.sh"

"$RESETCTL" --help 2>&1 | grep -q -- --at-boot || skip "needs resetctl factory-reset --at-boot"
F=/mnt/ref C=/mnt/cut
mkdir -p $F $C
MARK="RKVM-CUT-SECRET-""7d42b9e1"

appliance() {   # appliance DIR: a small appliance root and a request
        at_boot_tree "$1"
        # 2 MiB of secret: its blocks are free once removed, and the fill
        # must reach them
        awk -v m="$MARK" 'BEGIN { for (i = 0; i < 32768; i++) printf "%s %040d\n", m, i }' \
                >"$1/var/lib/secret/key"
        echo "router started" >"$1/var/log/messages"
        "$RESETCTL" --root "$1" config commit /tmp/running.json >/dev/null 2>&1 || fail "store: commit"
        "$RESETCTL" --root "$1" factory-reset --at-boot --yes --then none >/tmp/req.out 2>&1 ||
                { cat /tmp/req.out; fail "request on $1"; }
}
this_conf() {   # the configuration the initramfs carries: this boot's button and LED
        printf '[button]\nsource = evdev:%s\n[led]\ndevice = rgb:%s,%s,%s\n' \
                "$UI_DEV" "$LED_R" "$LED_G" "$LED_B" >/tmp/this.conf
}

case $RK_VM_BOOT in
1)
        mount_disk "$RK_VM_DISK_REF" $F
        mount_disk "$RK_VM_DISK_CUT" $C
        uinput_start
        this_conf
        echo '{"doc": "customer"}' >/tmp/running.json
        appliance $F
        appliance $C
        # the reference: carried out by reset-failsafe, not as in the
        # initramfs (no --initrd: it does not reboot the machine)
        "$FAILSAFE" --root $F --config /tmp/this.conf >/tmp/ref.log 2>&1 ||
                { cat /tmp/ref.log; fail "the reference reset failed"; }
        "$RESETCTL" --root $F status | grep -q 'factory reset: complete' || fail "reference: $("$RESETCTL" --root $F status)"
        umount $C
        sync
        ok "reference reset done; cut's request on its disk"
        mount -o ro "$RK_VM_DISK_CUT" $C || fail "mount ro"
        # the runner cuts the power 0.2 s after the zeroing starts
        "$FAILSAFE" --initrd --root $C --config /tmp/this.conf 2>&1 |
                awk '{ print } /zero-free-space \/$/ && !z { print "RK-VM-ZEROING"; z = 1; fflush() }' | tee /tmp/fs.log
        fail "reset-failsafe ended before the power cut: $(cat /tmp/fs.log)"
        ;;
2)
        mount -o ro "$RK_VM_DISK_CUT" $C || fail "mount ro"
        "$RESETCTL" --root $C status >/tmp/st.out 2>&1
        grep -q 'factory reset: in progress (attempt 1 of 3, .*entry 4/4: zero-free-space /' /tmp/st.out ||
                fail "after the cut (not in the zeroing): $(cat /tmp/st.out)"
        [ ! -e $C/var/lib/secret/key ] || fail "the cut came before the secret was removed: move the cut later"
        ok "after the cut: interrupted in attempt 1, the secret already removed"
        uinput_start
        this_conf
        "$FAILSAFE" --initrd --root $C --config /tmp/this.conf >/tmp/fs.log 2>&1 &
        wait_for /tmp/fs.log 'interrupted on .*: carrying it out' 20000 || fail "reset-failsafe did not take the interrupted reset"
        wait_for /tmp/fs.log 'factory reset complete' 60000 || fail "the reset did not complete: $(cat /tmp/fs.log)"
        ok "reset-failsafe finished the interrupted reset"
        wait
        sleep 20
        fail "reset-failsafe did not reboot the machine: $(cat /tmp/fs.log)"
        ;;
3)
        mount_disk "$RK_VM_DISK_REF" $F
        mount -o ro "$RK_VM_DISK_CUT" $C || fail "mount ro"
        "$RESETCTL" --root $C --json status >/tmp/st.json
        grep -q '"factory_reset": "complete"' /tmp/st.json && grep -q '"attempts": 2' /tmp/st.json ||
                fail "status: $(cat /tmp/st.json)"
        fingerprint $F >/tmp/fp.ref
        fingerprint $C >/tmp/fp.got
        if ! cmp -s /tmp/fp.ref /tmp/fp.got; then
                diff /tmp/fp.ref /tmp/fp.got | head -30
                fail "the reset cut off and finished at the next boot differs from an uninterrupted one"
        fi
        ok "finished at the next boot: equal to the uninterrupted reset ($(wc -l </tmp/fp.ref) lines compared), 2 attempts"
        umount $F $C
        for d in "$RK_VM_DISK_REF" "$RK_VM_DISK_CUT"; do
                e2fsck -fn "$d" >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "fsck of $d"; }
        done
        ok "both filesystems clean; the host scans the image next"
        ;;
esac
