/* SPDX-License-Identifier: MIT */
/* Device names with realistic lengths, from pc and q35 machines of QEMU 10.0 plus many-vCPU,
 * many-device VMs; a run of N entries cycles through them with growing instance ids. */
#ifndef BENCH_NAMES_H
#define BENCH_NAMES_H

static const char *const bench_names[] = {
    "timer", "cpu_common", "cpu", "apic", "kvm-tpr-opt", "0000:00:00.0/I440FX", "PCIHost",
    "PCIBUS", "fw_cfg", "dma", "mc146818rtc", "0000:00:01.1/ide", "i2c_bus",
    "0000:00:01.3/piix4_pm", "0000:00:01.0/PIIX3", "i8259", "ioapic", "hpet", "i8254", "pcspk",
    "fdc", "ps2kbd", "ps2mouse", "pckbd", "vmmouse", "port92", "acpi_build", "globalstate",
    "0000:00:1f.0/ICH9LPC", "0000:00:1f.2/ich9_ahci", "0000:00:1f.3/ICH9 SMB",
    "0000:00:02.0/virtio-net", "0000:00:03.0/virtio-blk", "0000:00:04.0/e1000e",
    "0000:00:05.0/nec-usb-xhci", "0000:00:05.0/nec-usb-xhci/1/usb-ptr", "0000:00:01.0/vga",
    "0000:00:1c.0/pcie-root-port", "0000:01:00.0/virtio-scsi", "0000:00:06.0/virtio-balloon",
};
#define BENCH_NAME_COUNT (sizeof(bench_names) / sizeof(bench_names[0]))

#endif
