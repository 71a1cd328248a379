# crypt-erase — Purge by key destruction on a real dm-crypt volume (SPEC §3
# crypto-erase; resetkit-factory-reset.d(5)): a LUKS2 data volume on its own
# virtio disk, opened with dm-crypt in the guest, a filesystem on it holding
# a secret, the key in a key file on the appliance's root.
#   boot 1: a live factory reset with `crypto-erase DATA keyfile=...
#           mkfs=ext4` while the volume is open (its mapping active): every
#           keyslot gone at once, the old key opens nothing, but the header
#           (its key digest) cannot be replaced while a mapping holds the
#           device: the entry fails, saying so; the mapping closed, the
#           retry (what the next boot runs) finishes it; the certificate
#           calls it purge, verified; the machine reboots for real.
#   boot 2: what resetkit-cryptvol.service runs at first boot
#           (`resetctl recreate-volumes`): a fresh LUKS2 header, a new key in
#           the key file, an empty ext4 inside; the new key opens it, the
#           old secret is nowhere in it; a second run changes nothing.
# vm-disk: root 48 ext4
# vm-disk: data 48
# vm-boot: reboot
# vm-boot: pass
# vm-timeout: 180
. "$RK_VM_SRC/tests/vm/lib.sh"

"$RESETCTL" --help 2>&1 | grep -q 'recreate-volumes' || skip "needs resetctl recreate-volumes (crypto-erase)"
command -v cryptsetup >/dev/null || skip "needs cryptsetup on the host (scripts/deps)"
[ -c /dev/mapper/control ] || skip "no device-mapper in the guest (dm_mod)"
# no udev in the guest: libdevmapper makes the nodes itself
export DM_DISABLE_UDEV=1
R=/mnt/root
mkdir -p $R /mnt/data
DATA=$RK_VM_DISK_DATA
SECRET="RKVM-LUKS-SECRET-""3b7f0c21"
KEY=$R/etc/keys/data.key

case $RK_VM_BOOT in
1)
        mount_disk "$RK_VM_DISK_ROOT" $R
        at_boot_tree $R
        mkdir -p $R/etc/keys
        head -c 64 /dev/urandom >$KEY
        chmod 600 $KEY
        printf 'crypto-erase %s keyfile=/etc/keys/data.key mkfs=ext4\n' "$DATA" \
                >$R/usr/lib/resetkit/factory-reset.d/vm-crypt.conf
        cryptsetup luksFormat --type luks2 --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
                --key-file $KEY "$DATA" >/tmp/fmt.out 2>&1 || { cat /tmp/fmt.out; fail "luksFormat"; }
        cryptsetup open --key-file $KEY "$DATA" data >/tmp/open.out 2>&1 || { cat /tmp/open.out; fail "open"; }
        mkfs.ext4 -q /dev/mapper/data || fail "mkfs inside the volume"
        mount /dev/mapper/data /mnt/data || fail "mount the volume"
        echo "$SECRET" >/mnt/data/secret
        umount /mnt/data
        cp $KEY /tmp/old.key
        sync
        ok "a LUKS2 volume open as /dev/mapper/data, a secret inside, its key in $KEY"

        # a live reset: the open mapping holds the device, so the header
        # (its key digest) cannot be replaced now; the keyslots go at once
        if "$RESETCTL" --root $R factory-reset --now --yes --then none >/tmp/reset.out 2>&1; then
                cat /tmp/reset.out; fail "the reset claims the open volume's header replaced"
        fi
        grep -q 'the volume is open (a mapping holds it): its keyslots are destroyed' /tmp/reset.out ||
                { cat /tmp/reset.out; fail "the failed entry does not say why"; }
        grep -q 'the volume was open (dm-0 (data))' /tmp/reset.out ||
                { cat /tmp/reset.out; fail "the open mapping is not named"; }
        ! cryptsetup open --test-passphrase --key-file /tmp/old.key "$DATA" 2>/dev/null ||
                fail "the old key still opens the volume"
        cryptsetup luksDump "$DATA" >/tmp/dump.out 2>&1
        ! grep -Eq '^  [0-9]+: luks2' /tmp/dump.out || { cat /tmp/dump.out; fail "a keyslot is left"; }
        ok "--now on the open volume: keyslots gone, the old key opens nothing; the header's digest left for the retry, said"
        cryptsetup close data || fail "close the mapping"
        # what the next boot does first (reset-failsafe --initrd resumes it)
        "$RESETCTL" --root $R factory-reset --resume >/tmp/resume.out 2>&1 ||
                { cat /tmp/resume.out; fail "the retry with the volume closed failed"; }
        "$RESETCTL" --root $R status | grep -q 'factory reset: complete' || fail "not complete after the retry"
        "$RESETCTL" --root $R certificate --json >/tmp/cert.json 2>&1 || { cat /tmp/cert.json; fail "no certificate"; }
        python3 - /tmp/cert.json "$DATA" <<'PY' || fail "the certificate does not say it: $(cat /tmp/cert.json)"
import json, sys
c = json.load(open(sys.argv[1]))
m = [x for x in c["media"] if x["path"] == sys.argv[2]]
assert m, c["media"]
m = m[-1]
assert m["kind"] == "luks" and m["category"] == "purge", m
assert m["verification"]["result"] == "pass", m
assert c["result"] == "complete", c["result"]
PY
        ok "the retry with the volume closed: header replaced, complete; the certificate: purge, verified"
        echo "the machine reboots now"
        /run/vm/bin/reboot -f
        sleep 20
        fail "no reboot"
        ;;
2)
        mount_disk "$RK_VM_DISK_ROOT" $R
        cp $KEY /tmp/key.before 2>/dev/null || : >/tmp/key.before
        "$RESETCTL" --root $R recreate-volumes >/tmp/re.out 2>&1 || { cat /tmp/re.out; fail "recreate-volumes failed"; }
        cat /tmp/re.out
        ! cmp -s $KEY /tmp/key.before || fail "the key file was not renewed"
        cryptsetup open --key-file $KEY "$DATA" data >/tmp/open.out 2>&1 || { cat /tmp/open.out; fail "the new key opens nothing"; }
        mount /dev/mapper/data /mnt/data || fail "no filesystem in the re-created volume"
        [ -z "$(ls /mnt/data | grep -v lost+found)" ] || fail "the re-created volume is not empty: $(ls /mnt/data)"
        umount /mnt/data
        ! /bin/grep -q "$SECRET" /dev/mapper/data || fail "the old secret is readable in the new volume"
        cryptsetup close data
        ok "re-created: a new key, an empty ext4 that opens and mounts"
        "$RESETCTL" --root $R recreate-volumes >/tmp/re2.out 2>&1 || { cat /tmp/re2.out; fail "a second run failed"; }
        cryptsetup open --test-passphrase --key-file $KEY "$DATA" || fail "a second run changed the volume"
        ok "a second run (every later boot) leaves the working volume alone"
        ;;
esac
