# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures for integration tests against real Harper nodes."""

import ipaddress
import os

import pytest

# tests/conftest.py has made the collection, tests/ included, importable by its full name.
from ansible_collections.harperdb.cluster.tests import testbed


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "integration: needs real Harper nodes (npm, loopback addresses)"
    )
    config.addinivalue_line(
        "markers",
        "reliability: fault, loop and live property runs that take longer than the test command "
        "allows; tests/run-reliability.sh runs them, tests/run-all.sh leaves them out",
    )
    config.addinivalue_line(
        "markers",
        "testbed(count, mode='dev', **kwargs): the nodes of the file's `bed` and `n` fixtures, "
        "as given to testbed_factory",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test here needs Harper nodes: mark it ``integration`` (before ``-m`` selects), so that
    a file that forgets its pytestmark is still left out of a plain ``pytest``."""
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.path).startswith(here + os.sep) and item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)


class AddressAllocator(object):
    """Hands out consecutive loopback addresses so that testbeds of one
    session never share an ip (and so never compete for a port)."""

    def __init__(self, first_ip):
        self._next = ipaddress.ip_address(first_ip)

    def take(self, count):
        first = self._next
        self._next = first + count
        return str(first)


@pytest.fixture(scope="session")
def address_allocator():
    return AddressAllocator(
        os.environ.get("HARPER_TESTBED_FIRST_IP", testbed.DEFAULT_FIRST_IP)
    )


@pytest.fixture(scope="session")
def testbed_factory(tmp_path_factory, address_allocator):
    """make(count, mode="dev", first_ip=None, **kwargs) -> started Testbed.

    Every testbed made is stopped at the end of the session, whatever the
    tests did.
    """
    started = []

    def make(count, mode="dev", first_ip=None, **kwargs):
        base_dir = tmp_path_factory.mktemp("testbed-%s" % mode)
        bed = testbed.Testbed(
            str(base_dir), count=count, mode=mode,
            first_ip=first_ip or address_allocator.take(count), **kwargs
        )
        started.append(bed)  # before start(): a partial start is stopped too
        bed.start()
        return bed

    yield make

    errors = []
    for bed in reversed(started):
        try:
            bed.stop()
        except Exception as exc:  # keep stopping the others
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture(scope="module")
def bed(request, testbed_factory):
    """The test file's own test bed, started for its first test that asks for it, stopped after its last.

    Its size and mode are the file's ``testbed`` marker, given as to testbed_factory::

        pytestmark = [pytest.mark.integration, pytest.mark.testbed(4, mode="prod")]
    """
    marker = request.node.get_closest_marker("testbed")
    if marker is None:
        pytest.fail("%s uses the bed fixture but has no testbed marker: add "
                    "pytest.mark.testbed(COUNT, mode=...) to its pytestmark" % request.node.nodeid,
                    pytrace=False)
    started = testbed_factory(*marker.args, **marker.kwargs)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def n(bed):
    """The nodes of the file's bed: n[0] is node1."""
    return bed.nodes
