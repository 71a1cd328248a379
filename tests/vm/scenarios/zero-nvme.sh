# zero-nvme — the inactive A/B slot erased by the device itself (SPEC §3
# step 6): the slots are the two namespaces of an emulated NVMe controller
# (QEMU's nvme and nvme-ns), slot a active, slot b inactive and full of
# markers.
#   1. the controller "rejects" the Format NVM (fault injection: QEMU
#      accepts every format): the reset says so and falls back to
#      BLKZEROOUT, verified
#   2. markers again; the reset formats namespace 2 with a secure erase
#      (Format NVM, SES per the controller's FNA), the log names the method
#      and the capability that chose it, the read-back passes, and the
#      active namespace keeps its data.
# Afterwards the host finds the inactive namespace's backing image all zero
# and the active one's marker still there.
# vm-disk: root 48 ext4
# vm-nvme: a 8
# vm-nvme: b 16
# vm-scan: b zero
# vm-scan: a present RKVM-NVME-ACTIVE-7e1c55d0
# vm-timeout: 180
. "$RK_VM_SRC/tests/vm/lib.sh"

"$RESETCTL" --help 2>&1 | grep -q 'factory-reset' || skip "needs resetctl factory-reset"
[ -b "$RK_VM_NVME_A" ] && [ -b "$RK_VM_NVME_B" ] || fail "no NVMe namespaces: $(ls /dev/nvme* 2>&1)"
RD_ROOT=/mnt/root
mount_disk "$RK_VM_DISK_ROOT" $RD_ROOT
M="RKVM-NVME-SLOTB-""5a03e9f4"
appliance() {   # rd_root's tree, its slots the two namespaces
        rd_root
        printf '[slots]\na = %s\nb = %s\nactive = a\n' "$RK_VM_NVME_A" "$RK_VM_NVME_B" >>$RD_ROOT/etc/resetkit/resetd.conf
        printf 'zero-partition inactive\n' >$RD_ROOT/usr/lib/resetkit/factory-reset.d/zz-zero.conf
}
printf 'RKVM-NVME-ACTIVE-''7e1c55d0\n' | dd of="$RK_VM_NVME_A" bs=4096 conv=fsync 2>/dev/null
plant() {
        yes "$M" | head -c $((16 << 20)) >"$RK_VM_NVME_B"
        sync
        echo 3 >/proc/sys/vm/drop_caches
        /bin/grep -q "$M" "$RK_VM_NVME_B" || fail "setup: no marker on slot b"
}

# 1. a rejected format: the fallback, said
appliance
plant
RESETKIT_FAIL=erase:nvme-format "$RESETCTL" --root $RD_ROOT factory-reset --now --yes --then none >/tmp/r1.out 2>&1 ||
        { cat /tmp/r1.out; fail "the reset with the rejected format failed"; }
grep -q 'rejected by the controller (status 0x4002)' /tmp/r1.out || { cat /tmp/r1.out; fail "the rejection is not said"; }
grep -q 'method BLKZEROOUT' /tmp/r1.out || { cat /tmp/r1.out; fail "no fallback to BLKZEROOUT"; }
grep -q 'all zero' /tmp/r1.out || { cat /tmp/r1.out; fail "the fallback is not verified"; }
ok "format rejected: fell back to BLKZEROOUT, verified, and said so"

# 2. the device's own erase
appliance
plant
"$RESETCTL" --root $RD_ROOT factory-reset --now --yes --then none >/tmp/r2.out 2>&1 ||
        { cat /tmp/r2.out; fail "the reset failed"; }
grep 'erased\|zeroed' /tmp/r2.out | head -3
grep -Eq 'erased .*method NVMe Format NVM \((user data|cryptographic) erase\) \(NVMe namespace 2 of QEMU NVMe Ctrl' /tmp/r2.out ||
        { cat /tmp/r2.out; fail "slot b was not erased by Format NVM"; }
grep -q 'all zero' /tmp/r2.out && grep -q 'Purge' /tmp/r2.out || { cat /tmp/r2.out; fail "the erase is not verified or not called Purge"; }
ok "slot b erased by the controller (Format NVM), verified, SP 800-88 Purge"
if "$RESETCTL" --help 2>&1 | grep -q 'certificate'; then
        "$RESETCTL" --root $RD_ROOT certificate --json >/tmp/cert.json 2>&1 || { cat /tmp/cert.json; fail "no certificate"; }
        python3 - /tmp/cert.json "$RK_VM_NVME_B" <<'PY' || fail "the certificate does not say what was done to slot b: $(cat /tmp/cert.json)"
import json, sys
c = json.load(open(sys.argv[1]))
m = [x for x in c["media"] if x["path"] == sys.argv[2]]
assert len(m) == 1, m
m = m[0]
assert m["kind"] == "nvme-namespace" and m["category"] == "purge", m
assert m["method"].startswith("NVMe Format NVM") and m["verification"]["result"] == "pass", m
PY
        ok "the certificate: slot b an nvme-namespace, purge, NVMe Format NVM, read-back pass"
fi
echo 3 >/proc/sys/vm/drop_caches
cmp -s -n $((16 << 20)) "$RK_VM_NVME_B" /dev/zero || fail "slot b does not read back all zero"
/bin/grep -q 'RKVM-NVME-ACTIVE-''7e1c55d0' "$RK_VM_NVME_A" || fail "the active namespace lost its data"
ok "slot b reads zero; the active namespace is untouched"
umount $RD_ROOT
