/* SPDX-License-Identifier: MIT */
#ifndef DEVSTATE_CLIBVIRT_SHIM_H
#define DEVSTATE_CLIBVIRT_SHIM_H
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#endif
