#!/bin/bash
# shellcheck disable=SC2154 # moddir, dracutsysrootdir: set by dracut
# dracut module of resetkit: the Fail-Safe Restore in the initramfs.
#
# Install: copy this directory to /usr/lib/dracut/modules.d/90resetkit/
# (`meson install` does it), then `dracut -f`.  It is included whenever
# reset-failsafe is installed; run dracut again after every change of
# /etc/resetkit/resetd.conf (the initramfs boots with the copy taken here).
# Kernel command line `resetkit.failsafe=0` skips it.  See reset-failsafe(8).

# where `meson install` may have put it (prefix /usr or /usr/local)
find_failsafe() {
        local d
        for d in /usr/sbin /sbin /usr/local/sbin; do
                if [ -x "$dracutsysrootdir$d/reset-failsafe" ]; then
                        echo "$dracutsysrootdir$d/reset-failsafe"
                        return 0
                fi
        done
        return 1
}

check() {
        find_failsafe >/dev/null || return 1
        return 0
}

depends() {
        return 0
}

installkernel() {
        # button (gpio-keys -> evdev) and LED fades (pattern/timer triggers);
        # without -c, a module that is built in or absent is skipped.
        # hostonly='': wanted even when the build host has not loaded them.
        hostonly='' instmods evdev gpio_keys leds_gpio ledtrig_pattern ledtrig_timer
}

install() {
        inst_binary "$(find_failsafe)" /usr/sbin/reset-failsafe
        if [ -e "$dracutsysrootdir/etc/resetkit/resetd.conf" ]; then
                inst_simple "$dracutsysrootdir/etc/resetkit/resetd.conf" /etc/resetkit/resetd.conf
        fi
        # pre-pivot: the root is mounted at $NEWROOT and nothing of it runs yet
        inst_hook pre-pivot 50 "$moddir/reset-failsafe-hook.sh"
}
