# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module, run in-process on random arguments (tests/lib/bad_input.py) against fake nodes.

Each run must end in exit_json or fail_json, never in another exception; a run on invalid
arguments must fail with a message and send no request at all (so no write); a run in check mode
must send no write; no credential may appear in what a module prints. The fake nodes sit under
http.client: the collection's own transport (_http) builds every request, header checks included,
and the fake answers it the way Harper does (membership spreads, a failed add_node leaves its
record, routes are read from the file): tests/lib/fake_harper.py.
"""

import collections
import os

import pytest

from ansible_collections.harperdb.cluster.plugins.modules import (
    harper_cluster,
    harper_cluster_facts,
    harper_mesh,
    harper_node,
    harper_routes,
)

hypothesis = pytest.importorskip("hypothesis")
# pylint: disable=wrong-import-position,wrong-import-order
from hypothesis import HealthCheck, given, settings  # noqa: E402

import bad_input  # noqa: E402  (tests/lib, put on sys.path by tests/conftest.py)

from fake_harper import (  # noqa: E402  (tests/lib, the fake nodes and the in-process run)
    DOWN,
    NAMES,
    PASSWORD,
    TOKEN,
    USERNAME,
    FakeWorld,
    run,
)

TARGET = bad_input.Target([(name, "http://%s:9925" % name) for name in NAMES + (DOWN,)], USERNAME, PASSWORD)
# Examples per module; HARPER_PROPERTY_EXAMPLES raises it for a longer search.
PER_MODULE = int(os.environ.get("HARPER_PROPERTY_EXAMPLES", "40"))


def check(module, case, joined, check_mode):
    world = FakeWorld(joined=joined, routes=["wss://n2:9933"] if joined else [])
    outcome, result, text = run(module, case.args, world, check_mode=check_mode)
    assert PASSWORD not in text and TOKEN not in text
    if outcome == "fail":
        assert isinstance(result.get("msg"), str) and result["msg"].strip(), result
    if case.invalid:
        assert outcome == "fail", "accepted invalid input (%s): %s" % ("; ".join(case.bad), result)
        assert world.requests == [], "sent requests for invalid input (%s): %s" % (
            "; ".join(case.bad), world.requests)
    if check_mode:
        assert world.writes == [], world.writes
    if outcome == "exit" or result.get("operations"):
        assert result.get("operations") is not None, result
        assert len(result["operations"]) == len(world.writes), (result["operations"], world.writes)
    STATS[module.__name__.rsplit(".", 1)[-1]][("invalid" if case.invalid else "valid", outcome)] += 1


STATS = dict((name, collections.Counter()) for name in bad_input.CASES)


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    """Print how many inputs each module got, by kind and outcome (shown with pytest -s)."""
    yield
    for name, counts in sorted(STATS.items()):
        print("%s: %d inputs: %s" % (name, sum(counts.values()), ", ".join(
            "%s %s %d" % (kind, outcome, number) for (kind, outcome), number in sorted(counts.items()))))


SETTINGS = settings(max_examples=PER_MODULE, deadline=None, database=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


@SETTINGS
@given(case=bad_input.node_case(TARGET), joined=hypothesis.strategies.booleans(),
       check_mode=hypothesis.strategies.booleans())
def test_harper_node_ends_cleanly(case, joined, check_mode):
    check(harper_node, case, joined, check_mode)


@SETTINGS
@given(case=bad_input.cluster_case(TARGET), joined=hypothesis.strategies.booleans(),
       check_mode=hypothesis.strategies.booleans())
def test_harper_cluster_ends_cleanly(case, joined, check_mode):
    check(harper_cluster, case, joined, check_mode)


@SETTINGS
@given(case=bad_input.mesh_case(TARGET), joined=hypothesis.strategies.booleans(),
       check_mode=hypothesis.strategies.booleans())
def test_harper_mesh_ends_cleanly(case, joined, check_mode):
    check(harper_mesh, case, joined, check_mode)


@SETTINGS
@given(case=bad_input.routes_case(TARGET), joined=hypothesis.strategies.booleans(),
       check_mode=hypothesis.strategies.booleans())
def test_harper_routes_ends_cleanly(case, joined, check_mode):
    check(harper_routes, case, joined, check_mode)


@SETTINGS
@given(case=bad_input.facts_case(TARGET), joined=hypothesis.strategies.booleans())
def test_harper_cluster_facts_ends_cleanly(case, joined):
    check(harper_cluster_facts, case, joined, False)


SUB = {"database": "data", "table": "dog", "subscribe": True, "publish": False}
LOGIN = {"username": USERNAME, "password": PASSWORD, "api_url": "http://n1:9925"}


def member(name, **fields):
    return dict({"name": name, "url": "wss://%s:9933" % name, "api_url": "http://%s:9925" % name}, **fields)


@pytest.mark.parametrize("module, args, expected", [
    (harper_node, dict(LOGIN, hostname="n2", subscriptions=[dict(SUB, publsh=True)]), ["'publsh'"]),
    (harper_node, dict(LOGIN, url="https://n2:9925", shard=-1, subscriptions=[dict(SUB, publsh=True), {}]),
     ["url 'https://n2:9925'", "shard must not be negative", "subscriptions[0]: unknown field 'publsh'",
      "subscriptions[1]: 'table' is a required field"]),
    (harper_node, dict(LOGIN, hostname="n2", authorization={"username": "someone", "pasword": "Other-pw-1"}),
     ["unknown field 'pasword'", "missing password"]),
    (harper_node, dict(LOGIN, hostname="n2", wait_timout=5, shard="x"), ["wait_timout", "shard"]),
    (harper_node, dict(LOGIN, url="wss://n2:99999"), ["the port '99999'"]),
    (harper_cluster, dict(LOGIN, connections=[{"hostname": "n2", "publsh": True, "shard": "x"}]),
     ["connections.publsh", "'shard'"]),
    (harper_cluster, dict(LOGIN, connections=[{"hostname": "n2", "subscriptions": [dict(SUB, publsh=True)]},
                                              {"url": "https://n3:9925"},
                                              {"hostname": "n3", "authorization": {"user": "someone", "password": "Other-pw-1"}}]),
     ["connections[0]: subscriptions[0]: unknown field 'publsh'", "connections[1]: url",
      "connections[2]: authorization", "unknown field 'user'"]),
    (harper_mesh, dict(members=[{"nme": "n1", "api_url": "http://n1:9925", "url": "wss://n1:9933"}]),
     ["members.nme", "name"]),
    (harper_mesh, dict(members=[member("n1", subscriptions=[dict(SUB, publsh=True)]), member("n2", shard=-1),
                                member("n3", authorization={"username": "someone", "passwd": "Other-pw-1"})]),
     ["members[0] (n1): subscriptions[0]: unknown field 'publsh'", "members[1] (n2): shard must not be negative",
      "members[2] (n3): authorization", "'passwd'"]),
    (harper_mesh, dict(members=[member("n1"), member("n1"), member("n2", url="https://n2:9925")]),
     ["members[1]: the same name as members[0]", "members[2] (n2): url 'https://n2:9925'"]),
    (harper_routes, dict(LOGIN, routes=[{"hostnme": "n2", "port": 70000}, "ws://n3:9933", {"hostname": "n2"}]),
     ["routes[0]: unknown field 'hostnme'", "hostname is required", "port 70000 is out of range",
      "routes[1]: 'ws://n3:9933'", "routes[2]: n2 has no port"]),
    (harper_routes, dict(LOGIN, routes=["wss://n2:9933"], exclusive=True, state="absent", restart_timeot=1),
     ["restart_timeot"]),
])
def test_every_error_is_named_before_any_request(module, args, expected):
    world = FakeWorld(joined=True)
    outcome, result, text = run(module, args, world)
    assert outcome == "fail"
    for fragment in expected:
        assert fragment in result["msg"]
    assert world.requests == []
    assert PASSWORD not in text and "Other-pw-1" not in text


def test_a_repeated_entry_is_named_once_with_the_entry_it_repeats():
    entry = {"hostname": "n2", "url": "wss://n2:9933"}
    outcome, result, dummy_text = run(harper_cluster, dict(LOGIN, connections=[entry, dict(entry)]), FakeWorld())
    assert outcome == "fail"
    assert result["msg"] == ("connections[1]: names the same peer as connections[0] (hostname n2); list each "
                             "peer once.")
