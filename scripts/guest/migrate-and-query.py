#!/usr/bin/env python3
"""Migrates the real guest once with a patched QEMU and prints `devstate query`
on both sides: which devices, run-state handlers and steps made its downtime.

usage: scripts/guest/migrate-and-query.py QEMU DEVSTATE [devstate query options...]

QEMU is a qemu-system-x86_64 built with our series (scripts/qemu/build.sh
patched 10.0 prints its path); DEVSTATE is the CLI. The guest comes from
scripts/guest/build-guest.sh (cached). TCG, UNIX sockets in a temporary
directory, both QEMUs killed at the end; every wait is bounded (guest.py).
Exit status: devstate query's, or 2 when the guest or a QEMU would not run.
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "e2e"))

import guest  # noqa: E402


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    qemu, devstate, options = argv[1], argv[2], argv[3:]
    try:
        kernel, initrd = guest.build_guest(skip=False)
    except guest.GuestUnavailable as e:
        print(f"migrate-and-query: no guest: {e}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="devstate-guest-") as workdir:
        try:
            src, dst, _, dest_reply = guest.migrate_guest(qemu, workdir, kernel, initrd)
        except Exception as e:  # the guest or a QEMU did not come up, or did not migrate
            print(f"migrate-and-query: {type(e).__name__}: {e}", file=sys.stderr)
            return 2
        try:
            if dest_reply.get("status") != "completed":
                print(f"migrate-and-query: destination status {dest_reply.get('status')}",
                      file=sys.stderr)
                return 2
            # The harness's own monitors are idle now; devstate connects to them in turn.
            src.qmp.close()
            dst.qmp.close()
            return subprocess.run([devstate, "query", *options, src.qmp_path, dst.qmp_path],
                                  timeout=60).returncode
        finally:
            for vm in (src, dst):  # back on the monitor, so that kill() can ask QEMU to quit
                try:
                    vm.qmp = guest.h.QMP(vm.qmp_path)
                except Exception:
                    vm.qmp = None
            src.kill()
            dst.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
