/* SPDX-License-Identifier: MIT */
/*
 * The non-iterable SaveStateEntries of a QEMU 10.0 `-machine pc` (i440fx) guest in the order
 * its stop-and-copy saves them, with made-up but typical save spans in microseconds (0 for the
 * entries that finish within the clock's resolution). Shared by the demo and the C tests.
 */
#ifndef DEVSTATE_EXAMPLE_PC_DEVICES_H
#define DEVSTATE_EXAMPLE_PC_DEVICES_H

#include <stdint.h>

typedef struct pc_device {
    const char *idstr;
    uint32_t instance_id;
    int64_t span_us;
} pc_device;

static const pc_device pc_devices[] = {
    {"timer", 0, 2},
    {"cpu_common", 0, 0},
    {"cpu", 0, 41},
    {"kvm-tpr-opt", 0, 0},
    {"apic", 0, 6},
    {"0000:00:00.0/I440FX", 0, 9},
    {"PCIHost", 0, 1},
    {"PCIBUS", 0, 3},
    {"fw_cfg", 0, 2},
    {"dma", 0, 1},
    {"dma", 1, 1},
    {"mc146818rtc", 0, 4},
    {"0000:00:01.1/ide", 0, 11},
    {"i2c_bus", 0, 0},
    {"0000:00:01.3/piix4_pm", 0, 17},
    {"0000:00:01.0/PIIX3", 0, 5},
    {"i8259", 0, 2},
    {"i8259", 1, 1},
    {"ioapic", 0, 3},
    {"hpet", 0, 4},
    {"i8254", 0, 2},
    {"pcspk", 0, 0},
    {"fdc", 0, 7},
    {"ps2kbd", 0, 2},
    {"ps2mouse", 0, 1},
    {"pckbd", 0, 1},
    {"vmmouse", 0, 0},
    {"port92", 0, 1},
    {"acpi_build", 0, 1},
    {"globalstate", 0, 2},
};

#define PC_DEVICE_COUNT (sizeof(pc_devices) / sizeof(pc_devices[0]))

#endif
