# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""The one way the resetkit.appliance modules talk to resetctl.

Every call is `resetctl [--root R] [--config F] --json ARGS...`: only the
JSON on standard output is read, never the human text; standard error is
passed on as the message when resetctl fails, with its exit code.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import posixpath

# the options every module takes (doc fragment resetkit.appliance.resetctl)
COMMON_ARGS = dict(
    root=dict(type='path'),
    config_file=dict(type='path'),
    resetctl=dict(type='path', default='resetctl'),
)

# resetctl's exit codes (lib/base/exitcode.h) the modules look at
RC_FAILURE, RC_INTEGRITY, RC_APPLY = 1, 3, 5

# where a reset writes its certificate when status does not say
DEFAULT_CERTIFICATE = '/var/log/resetkit/sanitization.json'


def argument_spec(**module_args):
    spec = dict(COMMON_ARGS)
    spec.update(module_args)
    return spec


def pretty(doc):
    """A document as diff mode shows it; '' for none."""
    return '' if doc is None else json.dumps(doc, indent=2, sort_keys=True) + '\n'


def header(name, sha):
    """A diff header naming the configuration and its SHA-256."""
    return '%s (sha256 %s)' % (name, sha) if sha else '%s (none)' % name


def same_document(a, b):
    """Equal JSON values: compared in a canonical form, so true != 1."""
    canon = lambda d: json.dumps(d, sort_keys=True, separators=(',', ':'))  # noqa: E731
    return canon(a) == canon(b)


class Resetctl:
    def __init__(self, module):
        self.module = module
        p = module.params
        prog = p['resetctl']
        if '/' not in prog:
            prog = module.get_bin_path(prog, required=True, opt_dirs=['/usr/sbin', '/usr/bin'])
        self.argv = [prog]
        if p.get('root'):
            self.argv += ['--root', p['root']]
        if p.get('config_file'):
            self.argv += ['--config', p['config_file']]
        self.argv.append('--json')
        self.root = p.get('root')

    def run(self, *args, ok=(0,), changed_rcs=(RC_APPLY,)):
        """Run resetctl ARGS; fail the task unless its exit code is in ok.
        changed_rcs: the failures that still changed the appliance (5:
        committed, but apply-command failed)."""
        cmd = self.argv + list(args)
        rc, out, err = self.module.run_command(cmd)
        if rc not in ok:
            self.fail(cmd, rc, out, err, changed=rc in changed_rcs)
        return rc, out, err

    def fail(self, cmd, rc, out, err, changed=False):
        lines = [line for line in (err or '').strip().splitlines() if line.strip()]
        msg = '\n'.join(lines[-3:]) or '%s exited with status %d' % (cmd[0], rc)
        self.module.fail_json(msg=msg, rc=rc, cmd=cmd, stdout=out, stderr=err, changed=changed)

    def json(self, *args, ok=(0,)):
        rc, out, err = self.run(*args, ok=ok)
        try:
            return json.loads(out)
        except ValueError as e:
            if rc != 0:
                # an accepted exit status without its JSON: a refusal, in
                # resetctl's words (config list's exit 3 is also "corrupt")
                self.fail(self.argv + list(args), rc, out, err)
            self.module.fail_json(msg='%s: not JSON on standard output: %s' % (' '.join(args), e),
                                  rc=rc, cmd=self.argv + list(args), stdout=out, stderr=err)

    # --- what the modules read ------------------------------------------

    def configurations(self):
        """`config list --json`: the list, also when one is corrupt (exit
        3 after listing everything; the entry's status says which)."""
        return self.json('config', 'list', ok=(0, RC_INTEGRITY))

    @staticmethod
    def sha256(configurations):
        return dict((c['name'], c['sha256']) for c in configurations if c.get('sha256'))

    def document(self, which):
        """The running ('config') or rescue document, None when there is none."""
        return self.json(which, 'show')['config']

    def read_document(self, entry):
        """The document of a `config list` entry (a backup) read from its
        stored file, for diff mode only; None when it cannot be read."""
        try:
            with open(self.in_root(entry['path']) if entry['name'] == 'factory' else entry['path']) as f:
                return json.load(f)
        except (OSError, ValueError, KeyError):
            return None

    def status(self):
        return self.json('status')

    def in_root(self, path):
        return posixpath.join(self.root, path.lstrip('/')) if self.root else path

    def certificate(self, status):
        """(the certificate dict, base64 of its signature) of the last reset;
        (None, None) when there is none."""
        rc, out, err = self.run('certificate', ok=(0, RC_FAILURE))
        if rc != 0:
            return None, None
        try:
            cert = json.loads(out)
        except ValueError:
            return None, None
        sig = None
        signature = cert.get('signature') or {}
        if signature.get('state') == 'signed' and signature.get('file'):
            path = (status.get('certificate') or {}).get('path') or DEFAULT_CERTIFICATE
            sigpath = self.in_root(posixpath.join(posixpath.dirname(path), signature['file']))
            try:
                with open(sigpath, 'rb') as f:
                    sig = base64.b64encode(f.read()).decode('ascii')
            except OSError as e:
                self.module.warn('the certificate says it is signed, but %s cannot be read: %s' % (sigpath, e))
        return cert, sig

    def write_temp(self, text):
        """TEXT in a new file of mode 0600 in the module's temporary directory."""
        import tempfile
        fd, path = tempfile.mkstemp(prefix='resetkit-', suffix='.json', dir=self.module.tmpdir)
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        return path
