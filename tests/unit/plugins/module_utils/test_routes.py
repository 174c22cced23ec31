# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The route normal form, the plan, and the restart wait, on recorded answers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils import _routes
from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperError
from ansible_collections.harperdb.cluster.plugins.module_utils._routes import (
    RestartFailed,
    RouteInputError,
    parse_route,
    parse_routes,
    plan_routes,
    restart_and_wait,
    route_key,
    same_routes,
)

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


class FakeClient:
    """Answers operations from a script: a list per operation, last answer repeated."""

    def __init__(self, answers):
        self.answers = answers
        self.api_url = "https://node-a:9925"
        self.retries = 3
        self.calls = []

    def call(self, operation, **fields):
        self.calls.append(operation)
        script = self.answers[operation]
        answer = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr(_routes.time, "sleep", lambda seconds: None)


def test_restart_waits_for_the_job_and_an_answer_through_refusals(no_sleep):
    refused = HarperError("cluster_status failed: connection refused.")
    client = FakeClient({
        "restart_service": [{"message": "Restarting http", "job_id": "j1"}],
        "get_job": [refused, [{"status": "IN_PROGRESS"}], [{"status": "COMPLETE"}]],
        "cluster_status": [refused, {"type": "cluster-status"}],
    })
    restart_and_wait(client, timeout=30)
    assert client.calls == ["restart_service", "get_job", "get_job", "get_job",
                            "cluster_status", "cluster_status"]
    assert client.retries == 3  # restored after polling without retries


def test_a_failed_restart_job_fails_at_once(no_sleep):
    client = FakeClient({
        "restart_service": [{"job_id": "j1"}],
        "get_job": [[{"status": "ERROR", "message": "boom"}]],
    })
    with pytest.raises(RestartFailed) as caught:
        restart_and_wait(client, timeout=30)
    assert "boom" in caught.value.message


def test_restart_wait_times_out_with_the_last_error(monkeypatch):
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(_routes.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(_routes.time, "sleep", lambda seconds: None)
    client = FakeClient({
        "restart_service": [{"job_id": "j1"}],
        "get_job": [HarperError("get_job failed: connection refused.")],
    })
    with pytest.raises(HarperError) as caught:
        restart_and_wait(client, timeout=30)
    assert "Timed out after 30 s waiting for the restart job j1 of https://node-a:9925 to complete" in caught.value.message
    assert "connection refused" in caught.value.message
