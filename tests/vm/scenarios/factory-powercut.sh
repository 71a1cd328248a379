# factory-powercut — power cuts during a factory reset (SPEC §3 "Power
# loss"): four identical appliance roots on four virtio disks; one is reset
# without interruption (the reference), the others are cut off:
#   boot 1: reference reset; reset of r1 killed half-way through zeroing
#           the free space (through the removals while the engine has no
#           zeroing), counted on the fault points of the reference run, power
#           cut
#   boot 2: `resetctl status` says in progress, `factory-reset --resume` (what
#           resetkit-resume.service runs) finishes r1: equal to the reference;
#           reset of r2 killed half-way through the accounts step (the
#           rewrite of passwd, shadow, group ...), power cut
#   boot 3: r2 resumed and compared; reset of r3 running, power cut 0.6 s
#           into it, wherever it is
#   boot 4: r3 finished (resumed when its journal says so; started again when
#           the cut came before the journal) and compared; fsck of all.
# Compared: every path, type, mode, owner and file content (not times), the
# store's entries and the running configuration.
# vm-disk: ref 32 ext4
# vm-disk: r1 32 ext4
# vm-disk: r2 32 ext4
# vm-disk: r3 32 ext4
# vm-boot: cut-at RK-VM-CUT-NOW
# vm-boot: cut-at RK-VM-CUT-NOW
# vm-boot: cut-at RK-VM-RESET-RUNNING +0.6
# vm-boot: pass
# vm-timeout: 120
. "$RK_VM_SRC/tests/vm/lib.sh"

"$RESETCTL" --help 2>&1 | grep -q 'factory-reset' || skip "needs resetctl factory-reset"
for d in ref r1 r2 r3; do
        eval dev=\$RK_VM_DISK_$(echo $d | tr a-z A-Z)
        mount_disk "$dev" /mnt/$d
done

reset() {       # reset ROOT [FAULT]
        if [ -n "${2:-}" ]; then
                if RESETKIT_FAULT=$2 "$RESETCTL" --root "$1" factory-reset --yes --then none \
                        >/tmp/reset.out 2>&1; then
                        fail "the reset of $1 was not killed at $2"
                fi
        else
                "$RESETCTL" --root "$1" factory-reset --yes --then none >/tmp/reset.out 2>&1 ||
                        { cat /tmp/reset.out; fail "the factory reset of $1 failed"; }
        fi
}
resume() {      # resume ROOT: what the boot does after a cut
        "$RESETCTL" --root "$1" status >/tmp/status.out 2>&1
        if grep -q 'in progress' /tmp/status.out; then
                "$RESETCTL" --root "$1" factory-reset --resume >/tmp/resume.out 2>&1 ||
                        { cat /tmp/resume.out; fail "the resume of $1 failed"; }
                how=resumed
        elif [ -e "$1/var/lib/secret/key" ]; then
                how="started again (cut before the journal)"
                reset "$1"
        else
                how="already complete before the cut"
        fi
        "$RESETCTL" --root "$1" status | grep -q 'factory reset: complete' || fail "$1: not complete after the resume: $("$RESETCTL" --root "$1" status 2>&1)"
}
compare() {     # compare ROOT: equal to the uninterrupted reset
        fingerprint /mnt/ref >/tmp/fp.ref
        fingerprint "$1" >/tmp/fp.got
        if ! cmp -s /tmp/fp.ref /tmp/fp.got; then
                diff /tmp/fp.ref /tmp/fp.got | head -30
                fail "$1 after the power cut and the resume differs from an uninterrupted reset"
        fi
        ok "$1 $how: equal to the uninterrupted reset ($(wc -l </tmp/fp.ref) lines compared)"
}
# point PERCENT [PREFIX]: the fault point that far into the reference run
# (into its points named PREFIX*, when given), as NAME:N
point() {
        awk -v p="$1" -v pre="${2:-}" '{ n[$1]++ }
                pre == "" || index($1, pre) == 1 { k++; name[k] = $1; occ[k] = n[$1] }
                END { i = int(k * p / 100); if (i < 1) i = 1; print name[i] ":" occ[i] }' /mnt/ref/.rk-vm/trace
}

case $RK_VM_BOOT in
1)
        appliance_tree /tmp/app
        # Free-space zeroing when the engine has it: cuts may land in it too.
        echo 'zero-free-space /' >/tmp/app/usr/lib/resetkit/factory-reset.d/zz-zero.conf
        "$RESETCTL" --root /tmp/app factory-reset --dry-run >/tmp/plan.out 2>&1 || true
        if grep -q 'not built' /tmp/plan.out; then
                rm /tmp/app/usr/lib/resetkit/factory-reset.d/zz-zero.conf
                say "zeroing is not built yet: the resets run without zero-free-space"
        fi
        for d in ref r1 r2 r3; do cp -a /tmp/app/. /mnt/$d/; done
        sync
        RESETKIT_FAULT_TRACE=/tmp/trace reset /mnt/ref
        # kept for the next boots, outside what fingerprint compares
        mkdir /mnt/ref/.rk-vm && cp /tmp/trace /mnt/ref/.rk-vm/trace && sync
        ok "reference reset done ($(wc -l </tmp/trace) fault points passed)"
        if grep -q '^zero:' /tmp/trace; then
                p=$(point 50 zero:)     # mid-way through zeroing the free space
        else
                p=$(point 50 rm:)       # mid-way through the removals
        fi
        reset /mnt/r1 "$p"
        # no sync: the cut loses whatever the reset had not made durable
        powercut "r1 killed at $p"
        ;;
2)
        resume /mnt/r1
        compare /mnt/r1
        p=$(point 50 accounts:)         # mid-way through rewriting passwd, shadow, ...
        reset /mnt/r2 "$p"
        powercut "r2 killed at $p"
        ;;
3)
        resume /mnt/r2
        compare /mnt/r2
        echo "RK-VM-RESET-RUNNING"
        reset /mnt/r3
        sleep 600
        ;;
4)
        resume /mnt/r3
        compare /mnt/r3
        for d in ref r1 r2 r3; do umount /mnt/$d; done
        for d in REF R1 R2 R3; do
                eval dev=\$RK_VM_DISK_$d
                e2fsck -fn "$dev" >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "fsck of $dev"; }
        done
        ok "all four filesystems clean"
        ;;
esac
