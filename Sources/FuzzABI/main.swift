// SPDX-License-Identifier: MIT
// libFuzzer target for the C ABI of <devstate/devstate.h> and <devstate/qemu-hooks.h>.
//
// The input bytes are decoded into a sequence of calls (new / free / begin / record /
// checkpoint / end / snapshot / info / entry / JSON / QAPI list / strerror / NULL arguments,
// and the 0.2.0 list hooks: begin / record_in / checkpoint / end / times / checkpoints of each
// DEVSTATE_QEMU_LIST_* selector and of invalid ones) on four recorder slots plus the four list
// recorders (the first is the default recorder), four snapshot slots and four JSON string
// slots, with adversarial names (empty, 255 and 256 bytes with no NUL within, invalid UTF-8,
// control bytes, embedded NUL) and clock readings (0, negative, INT64_MIN/MAX, a clock that
// steps back). Since 0.3.0 also arm / discard of recorders and lists and the counts of refused
// records (op 0x7f). Every call's status and every value read back is checked against a model of
// the documented contract; a mismatch aborts, which libFuzzer reports as a crash. The model
// shares no code with the library. Built with AddressSanitizer and libFuzzer coverage by
// scripts/hardening/run.sh.
import CShim
import FuzzDriver
#if canImport(Glibc)
@preconcurrency import Glibc  // stdout, stderr: C globals the one fuzzing thread uses
#endif

setvbuf(stdout, nil, _IOLBF, 0)
runFuzzer(fuzzOne)
