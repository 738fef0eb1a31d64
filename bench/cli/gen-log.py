#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a large QEMU-style trace log for the devstate benchmark.

  gen-log.py SIZE_MB OUT

Repeats the real pc source run (Tests/Fixtures/qemu-10.0/pc-source.log, first run) with
unrelated trace lines of other QEMU events in between, as a log with many migrations and
other tracing switched on would look: about half of the bytes are downtime lines.
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
fixture = os.path.join(here, "..", "..", "Tests", "Fixtures", "qemu-10.0", "pc-source.log")
size = int(float(sys.argv[1]) * 1024 * 1024)
out = sys.argv[2]

lines = open(fixture).read().splitlines(keepends=True)
# The first run: up to and including the first src-downtime-end.
end = next(i for i, l in enumerate(lines) if "src-downtime-end" in l)
run = "".join(lines[: end + 1])
noise_events = [
    "migrate_set_state new state active",
    "migration_bitmap_sync_start ",
    "migration_bitmap_sync_end dirty_pages 1024",
    "ram_save_iterate big wait: 0 milliseconds, 12 iterations",
    "savevm_section_start ram, section_id 2",
    "savevm_section_end ram, section_id 2 -> 0",
    "qemu_file_fclose ",
    "migrate_pending_exact exact pending size 1048576 (pre = 0 post=1048576)",
    "migration_thread_after_loop ",
    "vmstate_save_state_top 0000:00:03.0/e1000",
]
noise = "".join("6096@1795769733.%06d:%s\n" % (100000 + i, noise_events[i % len(noise_events)])
                for i in range(60))
block = (noise + run).encode()
with open(out, "wb") as f:
    written = 0
    reps = max(1, size // len(block))
    chunk = block * 64
    while written + len(chunk) <= reps * len(block):
        f.write(chunk)
        written += len(chunk)
    while written < reps * len(block):
        f.write(block)
        written += len(block)
print("gen-log: wrote %s: %d bytes, %d runs" % (out, written, written // len(block)))
