#!/bin/sh
# dracut pre-pivot hook of resetkit: the Fail-Safe Restore on $NEWROOT.
# Sourced by dracut: no `exit` here.  See reset-failsafe(8).

# shellcheck disable=SC1091 # dracut's own
type getargbool >/dev/null 2>&1 || . /lib/dracut-lib.sh

if [ -x /usr/sbin/reset-failsafe ] && getargbool 1 resetkit.failsafe; then
        if [ -e /etc/resetkit/resetd.conf ]; then
                /usr/sbin/reset-failsafe --initrd --root "$NEWROOT" --config /etc/resetkit/resetd.conf
        else
                /usr/sbin/reset-failsafe --initrd --root "$NEWROOT"
        fi
        _rk_rc=$?
        # reset-failsafe.service in the booted system: this boot is done
        mkdir -p /run/resetkit && : >/run/resetkit/failsafe-ran
        # never stop the boot over it
        [ "$_rk_rc" -eq 0 ] || warn "reset-failsafe exited with status $_rk_rc (see dmesg); booting on"
        unset _rk_rc
fi
