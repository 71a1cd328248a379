# store-powercut — power cuts during `resetctl config commit` on a real ext4
# disk (SPEC §2: "a power cut at any instant leaves the old or the new
# running configuration, never a mix and never none", and a commit that
# returned is durable).  Each boot checks what the previous cut left, then
# commits again and has the power cut at one point of that commit:
#   boot 1: after the new object is written, before the index  -> old
#   boot 2: index renamed, directory not yet fsync'd            -> old or new
#   boot 3: index written and fsync'd, commit not yet reported  -> new
#   boot 4: commits in a loop, power cut 1.5 s into it          -> the last
#           reported commit or a later one
#   boot 5: final check, one more commit cleans up, fsck clean.
# The process is killed at the point (RESETKIT_FAULT) and the machine's
# power cut right after, so the guest's unwritten page cache is lost.
# vm-disk: data 64 ext4
# vm-boot: cut-at RK-VM-CUT-NOW
# vm-boot: cut-at RK-VM-CUT-NOW
# vm-boot: cut-at RK-VM-CUT-NOW
# vm-boot: cut-at RK-VM-LOOP-RUNNING +1.5
# vm-boot: pass
# vm-timeout: 90
. "$RK_VM_SRC/tests/vm/lib.sh"

"$RESETCTL" --help 2>&1 | grep -q "config commit" || skip "needs resetctl config commit (the store)"
D=/mnt/data
R=$D/root
S=$D/state
mount_disk "$RK_VM_DISK_DATA" "$D"

doc() {         # doc N: a configuration document of a few KiB
        awk -v n="$1" 'BEGIN { printf "{\"n\": %d, \"pad\": \"", n;
                for (i = 0; i < 4000; i++) printf "%c", 97 + (i * n) % 26; print "\"}" }'
}
sha() { sha256sum | cut -d' ' -f1; }
commit() {      # commit N [FAULT]: commit document N, killed at FAULT
        doc "$1" >/tmp/c$1.json
        if [ -n "${2:-}" ]; then
                if RESETKIT_FAULT=$2 "$RESETCTL" --root "$R" config commit /tmp/c$1.json \
                        >/tmp/commit.out 2>&1; then
                        fail "commit $1 was not killed at $2"
                fi
        else
                "$RESETCTL" --root "$R" config commit /tmp/c$1.json >/tmp/commit.out 2>&1 ||
                        { cat /tmp/commit.out; fail "commit $1 failed"; }
        fi
}
allow() {       # allow N...: the documents the next boot may find running
        : >$S/allowed
        for n in "$@"; do echo "$n $(doc "$n" | sha)" >>$S/allowed; done
        sync
}
check() {       # the store is intact and runs an allowed document
        "$RESETCTL" --root "$R" config show >/tmp/show.out 2>/tmp/show.err ||
                { cat /tmp/show.err; fail "no running configuration after the power cut"; }
        got=$(sha </tmp/show.out)
        n=$(awk -v s="$got" '$2 == s { print $1 }' $S/allowed)
        [ -n "$n" ] || { cat $S/allowed; fail "running is none of the allowed documents (sha $got)"; }
        "$RESETCTL" --root "$R" config list >/tmp/list.out 2>&1 || { cat /tmp/list.out; fail "config list failed"; }
        bad=$(awk 'NR > 1 && $1 != "factory" && $5 != "ok"' /tmp/list.out)
        [ -z "$bad" ] || { cat /tmp/list.out; fail "a stored configuration is damaged"; }
        ok "boot $RK_VM_BOOT: running is document $n, every stored configuration verifies"
}

case $RK_VM_BOOT in
1)
        mkdir -p "$R/etc/resetkit" "$S"
        printf '[store]\nbackups = 3\n' >"$R/etc/resetkit/resetd.conf"
        commit 1
        allow 1
        commit 2 store:object-written
        powercut "object written, index not"
        ;;
2)
        check
        [ "$n" = 1 ] || fail "expected the old document"
        allow 1 3
        commit 3 atomic:renamed:2
        powercut "index renamed, directory not synced"
        ;;
3)
        check
        allow 4
        commit 4 store:index-written
        powercut "index written and synced"
        ;;
4)
        check
        # Each commit that returned is recorded on the disk itself, synced,
        # before the next starts: the next boot must find that one or later.
        allow 4
        k=5
        echo "RK-VM-LOOP-RUNNING"
        while :; do
                echo "$k $(doc $k | sha)" >>$S/allowed && sync
                commit $k
                echo $k >$S/last.tmp && mv $S/last.tmp $S/last && sync
                k=$((k + 1))
        done
        ;;
5)
        check
        last=$(cat $S/last 2>/dev/null || echo 4)
        [ "$n" -ge "$last" ] || fail "running is $n but commit $last had returned before the cut"
        ok "running document $n >= $last, the last commit reported before the cut"
        commit 100
        left=$(find "$R/var/lib/resetkit/config" -name '.#*' -o -name '*.tmp*' | head -5)
        [ -z "$left" ] || fail "temporary files left after a commit: $left"
        ok "the next commit leaves no temporary file behind"
        umount "$D"
        e2fsck -fn "$RK_VM_DISK_DATA" >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "fsck found damage"; }
        ok "ext4 clean after 4 power cuts"
        ;;
esac
