# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The route normal form and the plan."""

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils._routes import (
    RouteInputError,
    parse_route,
    parse_routes,
    plan_routes,
    read_loaded_routes,
    read_routes,
    route_key,
    same_routes,
    write_routes,
)

from fake_harper import ScriptedClient  # tests/lib

A = "wss://node-a:9933"
B = "wss://node-b:9933"


@pytest.mark.parametrize("value, key", [
    ("wss://Node-A:9933", A),
    ("WSS://node-a:9933/", A),
    ({"hostname": "node-a", "port": 9933}, A),
    ({"hostname": "NODE-A", "port": "9933"}, A),
    ("wss://[FD00::1]:9933", "wss://[fd00::1]:9933"),
    ("wss://10.0.0.2:1", "wss://10.0.0.2:1"),
])
def test_normal_form(value, key):
    assert parse_route(value, "routes[0]") == key


@pytest.mark.parametrize("value, message", [
    ({"hostname": "node-a"}, "routes[0]: node-a has no port"),
    ("wss://node-a", "routes[0]: 'wss://node-a' has no port"),
    ({"hostname": "node-a", "port": 0}, "routes[0]: port 0 is out of range (1-65535)."),
    ({"hostname": "node-a", "port": 65536}, "routes[0]: port 65536 is out of range (1-65535)."),
    ({"hostname": "node-a", "port": True}, "routes[0]: port True is not a number."),
    ("ws://node-a:9933", "routes[0]: 'ws://node-a:9933' is not a wss:// url"),
    ("https://node-a:9925", "is not a wss:// url"),
    ("node-a:9933", "routes[0]: 'node-a:9933' is not a wss:// url"),
    ("wss://node-a:9933/x", "has a path"),
    ({"host": "node-a", "port": 9933}, "routes[0]: unknown field 'host'"),
    ({"port": 9933}, "routes[0]: hostname is required"),
    (9933, "routes[0]: a route is a wss://host:port string"),
])
def test_bad_routes_are_refused_with_the_entry_named(value, message):
    with pytest.raises(RouteInputError) as caught:
        parse_route(value, "routes[0]")
    assert message in str(caught.value)


def test_duplicates_in_any_form_are_refused():
    with pytest.raises(RouteInputError) as caught:
        parse_routes([A, B, {"hostname": "Node-A", "port": 9933}])
    assert str(caught.value) == ("routes[2]: wss://node-a:9933 is the same route as routes[0]; "
                                 "list each route once.")


def test_two_hosts_on_one_port_are_two_routes():
    assert parse_routes([A, {"hostname": "node-b", "port": 9933}]) == [A, B]


def test_route_key_is_lenient_with_what_the_file_holds():
    assert route_key({"hostname": "node-a", "port": 9933}) == A
    assert route_key({"host": "node-a", "port": 9933}) == A
    assert route_key({"url": "wss://node-a:9933", "subscriptions": []}) == A
    assert route_key("node-a").startswith("unparsed:")
    assert route_key({"hostname": "node-a"}) != route_key({"hostname": "node-b"})


def test_present_adds_only_what_is_missing_and_keeps_the_files_form():
    current = [{"hostname": "node-a", "port": 9933}]
    plan = plan_routes(current, [A, B])
    assert plan.after == [{"hostname": "node-a", "port": 9933}, B]
    assert plan.changed
    assert not plan_routes(plan.after, [A, B]).changed


def test_present_keeps_routes_it_cannot_parse():
    assert plan_routes(["node-c"], [A]).after == ["node-c", A]


def test_absent_removes_every_form_of_the_route():
    current = [A, {"hostname": "node-a", "port": 9933}, B]
    assert plan_routes(current, [A], state="absent").after == [B]
    assert not plan_routes([B], [A], state="absent").changed


def test_exclusive_keeps_the_wanted_drops_the_rest_and_duplicates():
    current = ["node-c", {"hostname": "node-a", "port": 9933}, A]
    plan = plan_routes(current, [A, B], exclusive=True)
    assert plan.after == [{"hostname": "node-a", "port": 9933}, B]
    assert not plan_routes(plan.after, [B, A], exclusive=True).changed
    assert plan_routes([A], [], exclusive=True).after == []


def test_same_routes_ignores_form_and_order():
    assert same_routes([A, {"hostname": "node-b", "port": 9933}], [B, A])
    assert not same_routes([A], [A, B])
    assert same_routes(None, [])


def test_routes_are_read_from_the_file_and_from_the_running_node_and_written_whole():
    client = ScriptedClient({
        "get_configuration": {"replication": {"routes": [A, {"hostname": "node-b", "port": 9933}]}},
        "cluster_get_routes": [[A]],
        "set_configuration": {"message": "Configuration successfully set."},
    })
    assert read_routes(client) == [A, {"hostname": "node-b", "port": 9933}]
    assert read_loaded_routes(client) == [A]
    write_routes(client, (A, B))
    assert client.bodies[-1] == {"operation": "set_configuration", "replication_routes": [A, B]}
    assert read_routes(ScriptedClient({"get_configuration": {"replication": {"routes": None}}})) == []
    assert read_loaded_routes(ScriptedClient({"cluster_get_routes": {"error": "x"}})) == []
