#!/bin/sh
# bench-rmtree.sh DRIVER [FILES] — time rk_rm_entry() (through DRIVER, the
# bench-rm-driver binary) against `rm -rf` on identical trees of FILES
# regular files (default 200000) and print the ratio (goal: <= 1.0).
#
# The trees live on a bounded filesystem made for the run and removed after
# it: a tmpfs (BENCH_FS=tmpfs, default) or a loop-mounted ext4 image
# (BENCH_FS=ext4, BENCH_IMAGE_MB, default 3072).  Mounting needs root;
# without it the trees go in a temporary directory (BENCH_FS=dir).
# Nothing outside the temporary directory is touched.
set -eu
driver=$(readlink -f "$1")
files=${2:-200000}
runs=${BENCH_RUNS:-3}
fs=${BENCH_FS:-tmpfs}
[ "$(id -u)" = 0 ] || fs=dir

work=$(mktemp -d "${TMPDIR:-/tmp}/rk-bench-rm.XXXXXX")
mnt=$work/mnt
mkdir "$mnt"
loopimg=""
cleanup() {
        if mountpoint -q "$mnt"; then umount "$mnt"; fi
        rm -rf --one-file-system "$work"
}
trap cleanup EXIT INT TERM

case "$fs" in
tmpfs) mount -t tmpfs -o size=2g,nr_inodes=2m rk-bench "$mnt" ;;
ext4)
        loopimg=$work/ext4.img
        truncate -s "${BENCH_IMAGE_MB:-3072}M" "$loopimg"
        mkfs.ext4 -q -F -N $((files * 2 + 10000)) "$loopimg"
        mount -o loop "$loopimg" "$mnt" ;;
dir) ;;
*) echo "BENCH_FS must be tmpfs, ext4 or dir" >&2; exit 2 ;;
esac

# 200 directories of files/200 files each, 16 bytes a file, a few nested
# levels and dot-files: a log or database directory, not a toy list.
make_tree() {
        python3 - "$1" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per = max(1, n // 200)
made = 0
d = 0
while made < n:
    sub = os.path.join(root, "d%03d" % d, "sub%d" % (d % 4))
    os.makedirs(sub)
    for i in range(min(per, n - made)):
        name = (".f%d" if i % 10 == 0 else "f%d.log") % i
        fd = os.open(os.path.join(sub, name), os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"0123456789abcdef")
        os.close(fd)
    made += per
    d += 1
PY
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

echo "bench-rmtree: $files files on $fs, $runs runs each"
rk_total=0
rm_total=0
i=0
while [ "$i" -lt "$runs" ]; do
        make_tree "$mnt/a"
        make_tree "$mnt/b"
        sync
        # alternate who goes first so neither always gets a warmer cache
        if [ $((i % 2)) = 0 ]; then
                t0=$(now); rm -rf "$mnt/a"; t1=$(now)
                out=$("$driver" "$mnt" /b); t2=$(now)
                rm_t=$(elapsed "$t0" "$t1"); rk_t=$(elapsed "$t1" "$t2")
        else
                t0=$(now); out=$("$driver" "$mnt" /a); t1=$(now)
                rm -rf "$mnt/b"; t2=$(now)
                rk_t=$(elapsed "$t0" "$t1"); rm_t=$(elapsed "$t1" "$t2")
        fi
        if [ -e "$mnt/a" ] || [ -e "$mnt/b" ]; then
                echo "bench-rmtree: a tree was not removed" >&2
                exit 1
        fi
        echo "run $i: rm -rf ${rm_t}s   rk_rm_entry ${rk_t}s   ($out)"
        rk_total=$(awk -v a="$rk_total" -v b="$rk_t" 'BEGIN { printf "%.3f", a + b }')
        rm_total=$(awk -v a="$rm_total" -v b="$rm_t" 'BEGIN { printf "%.3f", a + b }')
        i=$((i + 1))
done
ratio=$(awk -v a="$rk_total" -v b="$rm_total" 'BEGIN { printf "%.3f", a / b }')
echo "total: rm -rf ${rm_total}s, rk_rm_entry ${rk_total}s, ratio rk/rm = $ratio (goal <= 1.0)"
