"""harper_routes against real Harper nodes in prod mode.

The tests run in file order as one story on one 3-node test bed. node1's
routes are changed and read back both from get_configuration and from the
harperdb-config.yaml file itself; node2 and node3 are the route targets
(they never trust node1, so its route sockets fail, which is harmless).
The last test joins node2 to node1 and checks that a route set with a
restart brings node2 back to node1 after node1 restarts.
"""

import pytest
import yaml

from ansible_run import run_module
from harper_state import connection_args, peer_args, replicate_and_read_back, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.testbed(3, mode="prod")]


def routes_task(node, routes, **extra):
    return dict(connection_args(node), routes=routes, **extra)


def file_routes(node):
    """replication.routes read from the node's harperdb-config.yaml."""
    with open(node.config_path) as handle:
        return (yaml.safe_load(handle).get("replication") or {}).get("routes") or []


def config_routes(node):
    """replication.routes as get_configuration answers."""
    return node.call({"operation": "get_configuration"}).get("replication", {}).get("routes") or []


def assert_routes(node, expected):
    assert file_routes(node) == expected
    assert config_routes(node) == expected


def run_ok(routes_args, **flags):
    run = run_module("harper_routes", routes_args, **flags)
    assert not run.failed, run.get("msg")
    return run


def assert_rerun_is_quiet(node, routes, **extra):
    run = run_ok(routes_task(node, routes, **extra))
    assert not run.changed
    assert run.writes() == []


def test_check_mode_writes_nothing(n):
    wanted = [n[1].replication_url]
    run = run_ok(routes_task(n[0], wanted), check=True, diff=True)
    assert run.changed
    assert run["routes"] == wanted
    assert run["diff"] == {"before": {"routes": []}, "after": {"routes": wanted}}
    assert run.writes() == []
    assert_routes(n[0], [])


def test_add_one_route(n):
    run = run_ok(routes_task(n[0], [n[1].replication_url]), diff=True)
    assert run.changed
    assert [op["operation"] for op in run.writes()] == ["set_configuration"]
    assert run["routes"] == [n[1].replication_url]
    assert run["restart_required"] is True
    assert run["restarted"] is False
    assert_routes(n[0], [n[1].replication_url])
    assert_rerun_is_quiet(n[0], [n[1].replication_url])


def test_second_route_in_a_later_task_keeps_the_first_without_a_restart(n):
    # cluster_set_routes would lose the first route here: Harper rewrites the
    # file from the list it loaded at start.
    second = {"hostname": n[2].ip, "port": n[2].replication_port}
    run = run_ok(routes_task(n[0], [second]))
    assert run.changed
    expected = [n[1].replication_url, n[2].replication_url]
    assert run["routes"] == expected
    assert_routes(n[0], expected)
    assert_rerun_is_quiet(n[0], [second])


def test_dict_and_string_forms_of_a_route_are_the_same_route(n):
    same = [{"hostname": n[1].ip, "port": n[1].replication_port}, n[2].replication_url]
    assert_rerun_is_quiet(n[0], same)
    assert_rerun_is_quiet(n[0], same, exclusive=True)


def test_two_hosts_on_the_same_port_are_two_routes(n):
    # Both targets listen on 9933; Harper's cluster_delete_routes would take them for one.
    assert n[1].replication_port == n[2].replication_port
    run = run_ok(routes_task(n[0], [{"hostname": n[2].ip, "port": n[2].replication_port}],
                             state="absent"))
    assert run.changed
    assert_routes(n[0], [n[1].replication_url])
    run = run_ok(routes_task(n[0], [{"hostname": n[2].ip, "port": n[2].replication_port}]))
    assert_routes(n[0], [n[1].replication_url, n[2].replication_url])


def test_remove_a_route(n):
    run = run_ok(routes_task(n[0], [n[1].replication_url], state="absent"), diff=True)
    assert run.changed
    assert run["diff"]["after"] == {"routes": [n[2].replication_url]}
    assert_routes(n[0], [n[2].replication_url])
    assert_rerun_is_quiet(n[0], [n[1].replication_url], state="absent")


def test_exclusive_replaces_the_list(n):
    wanted = [n[1].replication_url, "wss://%s:9934" % n[2].ip]
    check = run_ok(routes_task(n[0], wanted, exclusive=True), check=True)
    assert check.changed and check.writes() == []
    assert_routes(n[0], [n[2].replication_url])
    run = run_ok(routes_task(n[0], wanted, exclusive=True))
    assert run.changed
    assert_routes(n[0], wanted)
    assert_rerun_is_quiet(n[0], wanted, exclusive=True)


def test_restart_makes_the_running_routes_agree_with_the_file(n):
    wanted = [n[1].replication_url, "wss://%s:9934" % n[2].ip]
    loaded = n[0].call({"operation": "cluster_get_routes"})
    assert loaded == []  # routes are read only at start
    check = run_ok(routes_task(n[0], wanted, restart=True), check=True)
    assert check.changed and check["restarted"] and check.writes() == []
    # The file already holds the list: only the restart is left to do.
    run = run_ok(routes_task(n[0], wanted, restart=True))
    assert run.changed
    assert [op["operation"] for op in run.writes()] == ["restart_service"]
    assert run["restarted"] is True
    assert run["restart_required"] is False
    assert n[0].call({"operation": "cluster_get_routes"}) == wanted
    assert_routes(n[0], wanted)
    assert_rerun_is_quiet(n[0], wanted, restart=True)


def test_exclusive_empty_list_with_restart_clears_every_route(n):
    run = run_ok(routes_task(n[0], [], exclusive=True, restart=True))
    assert [op["operation"] for op in run.writes()] == ["set_configuration", "restart_service"]
    assert_routes(n[0], [])
    assert n[0].call({"operation": "cluster_get_routes"}) == []


@pytest.mark.parametrize("routes, extra, message", [
    ([{"hostname": "127.0.4.9"}], {}, "routes[0]: 127.0.4.9 has no port"),
    (["wss://127.0.4.9"], {}, "routes[0]: 'wss://127.0.4.9' has no port"),
    (["wss://127.0.4.9:9933", {"hostname": "127.0.4.9", "port": 70000}], {},
     "routes[1]: port 70000 is out of range (1-65535)."),
    (["ws://127.0.4.9:9933"], {}, "routes[0]: 'ws://127.0.4.9:9933' is not a wss:// url"),
    (["127.0.4.9:9933"], {}, "routes[0]: '127.0.4.9:9933' is not a wss:// url"),
    (["wss://127.0.4.9:9933", {"hostname": "127.0.4.9", "port": 9933}], {},
     "routes[1]: wss://127.0.4.9:9933 is the same route as routes[0]"),
    ([{"host": "127.0.4.9", "port": 9933}], {}, "routes[0]: unknown field 'host'"),
    (["wss://127.0.4.9:9933"], {"state": "absent", "exclusive": True}, "cannot be combined with state: absent"),
])
def test_bad_input_fails_before_any_request(n, routes, extra, message):
    before = file_routes(n[0])
    # A wrong password proves that no request was sent: one would fail with HTTP 401.
    args = dict(routes_task(n[0], routes, **extra), password="not-the-password")
    run = run_module("harper_routes", args)
    assert run.failed
    assert message in run["msg"]
    assert run.get("operations", []) == []
    assert file_routes(n[0]) == before


def test_route_brings_a_joined_node_back_after_its_peer_restarts(n):
    hub, fresh = n[0], n[1]
    # Joined with credentials: the two nodes now trust each other's certificates.
    join = run_module("harper_node", dict(connection_args(hub), **peer_args(fresh)))
    assert not join.failed, join.get("msg")
    run = run_ok(routes_task(fresh, [hub.replication_url], restart=True))
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
