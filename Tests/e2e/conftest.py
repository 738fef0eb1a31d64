import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import qemu_harness as h  # noqa: E402

# Every scenario runs on each QEMU release scripts/qemu/e2e.sh built.
RELEASES = os.environ.get("DEVSTATE_QEMU_RELEASES", "10.0 10.2").split()


@pytest.fixture(scope="session", params=RELEASES)
def release(request):
    return request.param


@pytest.fixture(scope="session")
def patched_bin(release):
    return h.build_binary("patched", release)


@pytest.fixture(scope="session")
def reference_bin(release):
    return h.build_binary("reference", release)


@pytest.fixture(scope="session")
def nolib_bin(release):
    return h.build_binary("nolib", release)


@pytest.fixture(scope="session")
def qemu_src(release):
    return h.need_dir(f"DEVSTATE_QEMU_SRC_{release.replace('.', '_')}")


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
    for line in h.SUMMARY:
        terminalreporter.write_line(line)
