import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import qemu_harness as h  # noqa: E402


@pytest.fixture(scope="session")
def patched_bin():
    return h.need_binary("DEVSTATE_QEMU_PATCHED")


@pytest.fixture(scope="session")
def reference_bin():
    return h.need_binary("DEVSTATE_QEMU_REFERENCE")


@pytest.fixture(scope="session")
def qemu_img():
    return h.need_tool("qemu-img")


@pytest.fixture(scope="session")
def results():
    """Scenario results shared between tests (e.g. for the comparison)."""
    return {}


def pytest_terminal_summary(terminalreporter):
    """The worst checkpoint deviation from the trace over the session."""
    devs = h.CHECKPOINT_DEVIATIONS
    if devs:
        worst, label = max(devs)
        terminalreporter.write_line(
            f"downtime-checkpoints vs trace: worst difference {worst} us ({label}) "
            f"over {len(devs)} checked lists; tolerance {h.CHECKPOINT_TOLERANCE_US} us")
