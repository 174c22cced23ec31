# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run real Harper (HarperDB) nodes on one machine for integration tests.

Each node gets its own loopback address (127.x.y.z is loopback on Linux), its
own HOME and ROOTPATH, and binds every port to that address, so several nodes
use the same port numbers side by side like real hosts.

One module per job:

- ``package``: the pinned harperdb npm package, installed once per version into a cache;
- ``processes``: probing ports and processes, reading log tails;
- ``node``: one node (``HarperNode``);
- ``bed``: a set of nodes (``Testbed``), saved to and loaded from ``DIR/testbed.json``;
- ``__main__``: the command line;
- ``errors``: the errors all of them raise.

Library use (the tests import it as ``ansible_collections.harperdb.cluster.tests.testbed``,
which ``tests/conftest.py`` makes importable)::

    with Testbed("/tmp/tb", count=3) as bed:
        bed.nodes[0].call({"operation": "cluster_status"})

Command line, from the repo root::

    python -m tests.testbed up --dir /tmp/tb --nodes 3
    python -m tests.testbed status --dir /tmp/tb
    python -m tests.testbed down --dir /tmp/tb

Only the standard library and ``requests`` are used.
"""

from .bed import DEFAULT_FIRST_IP, STATE_FILE, Testbed
from .errors import HarperAPIError, PortInUseError, TestbedError
from .node import DEFAULT_HTTP_PORT, DEFAULT_OPS_PORT, DEFAULT_REPLICATION_PORT, MODES, HarperNode
from .package import HARPER_VERSION, cache_root, ensure_package
from .processes import port_is_free

__all__ = [
    "DEFAULT_FIRST_IP", "DEFAULT_HTTP_PORT", "DEFAULT_OPS_PORT", "DEFAULT_REPLICATION_PORT",
    "HARPER_VERSION", "MODES", "STATE_FILE", "HarperAPIError", "HarperNode", "PortInUseError",
    "Testbed", "TestbedError", "cache_root", "ensure_package", "port_is_free",
]
