# zero-blk — zeroization on real block devices (SPEC §3 steps 6-7): the
# inactive A/B slot is a virtio disk, zeroed through BLKZEROOUT and
# verified; the free space of the appliance's ext4 root (another virtio
# disk, mounted) is zeroed, with the blocks of deleted secrets among it.
# Afterwards neither raw device holds a marker.  The root has 4 KiB blocks,
# so the fill has the device zero its blocks (fallocate, FIEMAP, BLKZEROOUT
# on the mounted root's own virtio disk) and reads them back there;
# reset-at-boot's 1 KiB-block disks take the written-zeros path.  Every
# free block of the root holds a secret, its free space is in hundreds of
# runs, and the whole disk is read raw before the reset (cached pages of
# deleted data): what found the store's new directory taking those bytes
# and the fill's own extent-tree blocks keeping them (Linux 6.1).
# vm-disk: root 48 ext4-4k
# vm-disk: slotb 16
# vm-timeout: 180
. "$RK_VM_SRC/tests/vm/lib.sh"

"$RESETCTL" --help 2>&1 | grep -q 'factory-reset' || skip "needs resetctl factory-reset"
RD_ROOT=/mnt/root
mount_disk "$RK_VM_DISK_ROOT" $RD_ROOT
rd_root
M=RKVMSECRETMARKER

printf '[slots]\na = %s\nb = %s\nactive = a\n' "$RK_VM_DISK_ROOT" "$RK_VM_DISK_SLOTB" \
        >>$RD_ROOT/etc/resetkit/resetd.conf
printf 'zero-partition inactive\nzero-free-space /\n' >$RD_ROOT/usr/lib/resetkit/factory-reset.d/zz-zero.conf
"$RESETCTL" --root $RD_ROOT factory-reset --dry-run >/tmp/plan.out 2>&1 || true
if grep -q 'zeroing is not built' /tmp/plan.out; then
        skip "needs zeroing in the factory-reset engine ($(grep -m1 'not built' /tmp/plan.out))"
fi

# Markers, 1 MiB of them copied: slot b full of them; on the root, secrets
# deleted before the reset fill every free block (ext4's reserve lowered
# for that).  The raw grep below reads the whole disk, as blkid or a backup
# would: every free block is then a cached page of the device with a
# secret in it, which ext4 (6.1: it zeroes a new directory block only when
# no uptodate copy is cached) copied into the store's new directories
# until the reset dropped those pages before each step.
yes "$M" | head -c 1048576 >/tmp/m
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do cat /tmp/m; done >"$RK_VM_DISK_SLOTB"
for i in 1 2 3 4; do cp /tmp/m $RD_ROOT/var/lib/secret/old-$i; done
# The free space in hundreds of runs between kept files: the fill file
# needs extent-tree blocks (its inode holds 4 extents), taken from that
# free space, in use while the fill zeroes it.  They kept a block of
# secrets in the free space (seen once the root was unmounted) until the
# fill had ext4 write them home before its release.
head -c 32768 /tmp/m >/tmp/m32
mkdir -p $RD_ROOT/var/keep
i=0
while [ $i -lt 200 ]; do
        echo "kept $i" >$RD_ROOT/var/keep/k-$i
        cp /tmp/m32 $RD_ROOT/var/lib/secret/old-s-$i
        i=$((i + 1))
done
sync
RES=/sys/fs/ext4/${RK_VM_DISK_ROOT#/dev/}/reserved_clusters
res0=$(cat $RES)
echo 0 >$RES
# O_DIRECT: buffered writes into a full ext4 without its reserve can stall
# writeback for good (seen here: the guest hung)
fill() {
        i=0
        while dd if=/tmp/m of=$RD_ROOT/var/lib/secret/old-fill-$1-$i bs=$1 count=$((1048576 / $1)) \
                oflag=direct 2>/dev/null; do
                i=$((i + 1))
        done
        echo $i
}
n=$(fill 1048576)
fill 4096 >/dev/null
echo "$res0" >$RES
sync
[ "$n" -ge 20 ] || fail "setup: only $n MiB of deleted secrets written"
rm -f $RD_ROOT/var/lib/secret/old-*
sync
/bin/grep -q "$M" "$RK_VM_DISK_ROOT" || fail "setup: deleted markers not on the root disk"
ok "setup: markers on slot b ($RK_VM_DISK_SLOTB) and in every free block of the root"

t0=$(now_ms)
"$RESETCTL" --root $RD_ROOT factory-reset --yes --then none >/tmp/reset.out 2>&1 ||
        { cat /tmp/reset.out; fail "the factory reset failed"; }
t1=$(now_ms)
ok "factory reset with zeroing done in $((t1 - t0)) ms (emulated)"
grep -q 'BLKZEROOUT' /tmp/reset.out || { cat /tmp/reset.out; fail "slot b was not zeroed with BLKZEROOUT"; }
grep -i 'zero' /tmp/reset.out | head -6
ok "the log names BLKZEROOUT for the slot"
grep -q "free space of /: .*method BLKZEROOUT (.*) on the fill's blocks" /tmp/reset.out ||
        { cat /tmp/reset.out; fail "the root's free space was not zeroed by the device"; }
grep -q "ext4's journal checkpointed and zeroed" /tmp/reset.out ||
        { cat /tmp/reset.out; fail "the root's journal was not zeroed (EXT4_IOC_CHECKPOINT)"; }
ok "the device zeroed the fill's blocks: $(grep -o "method BLKZEROOUT ([^)]*)" /tmp/reset.out | tail -1)"

umount $RD_ROOT
echo 3 >/proc/sys/vm/drop_caches
cmp -s -n $((16 << 20)) "$RK_VM_DISK_SLOTB" /dev/zero || fail "slot b is not all zeros"
ok "slot b reads back all zeros"
n=$(/bin/grep -c "$M" "$RK_VM_DISK_ROOT" || true)
[ "$n" = 0 ] || fail "$n markers of deleted secrets left on the root disk"
ok "no marker left on the root disk"
e2fsck -fn "$RK_VM_DISK_ROOT" >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "fsck found damage after zeroing"; }
ok "the root filesystem is clean"
