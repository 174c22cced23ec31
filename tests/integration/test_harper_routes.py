"""harper_routes against real Harper nodes in prod mode.

The module's contract (check mode, add, rerun unchanged, both forms of a route, diff, removal,
exclusive lists, the restart, wrong input) lives in the ansible-test target
tests/integration/targets/harper_routes, on one node. Here is what YAML does not express well: two
joined nodes, a route set with a restart, one node stopped and started, and records replicated
once both reconnect.
"""

import pytest

from ansible_run import run_module
from harper_state import connection_args, peer_args, replicate_and_read_back, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.testbed(2, mode="prod")]


def test_route_brings_a_joined_node_back_after_its_peer_restarts(n):
    hub, fresh = n[0], n[1]
    # Joined with credentials: the two nodes now trust each other's certificates.
    join = run_module("harper_node", dict(connection_args(hub), **peer_args(fresh)))
    assert not join.failed, join.get("msg")
    run = run_module("harper_routes", dict(connection_args(fresh), routes=[hub.replication_url], restart=True))
    assert not run.failed, run.get("msg")
    assert run["restarted"] is True
    assert fresh.call({"operation": "cluster_get_routes"}) == [hub.replication_url]
    wait_until(lambda: _connected(fresh, hub.name), 60, "node2 to connect to node1 after its restart")

    hub.stop()
    hub.start()
    hub.wait_ready()
    wait_until(lambda: _connected(fresh, hub.name) and _connected(hub, fresh.name), 60,
               "node2 and node1 to reconnect after node1 restarted")
    replicate_and_read_back(hub, [fresh], table="route_check")


def _connected(node, peer_name):
    status = node.call({"operation": "cluster_status"})
    for connection in status.get("connections", []):
        if connection.get("name") == peer_name:
            sockets = connection.get("database_sockets") or []
            return bool(sockets) and all(s.get("connected") for s in sockets)
    return False
