# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""harper_mesh's reading of a wait: which members a restart of worker threads can mend, and what
the timeout message tells the user to do, on recorded member views; and its run() in-process
against fake nodes (tests/lib/fake_harper.py)."""

from ansible_collections.harperdb.cluster.plugins.module_utils._harper_mesh import _wait_hint, mesh_problems
from ansible_collections.harperdb.cluster.plugins.module_utils._state import ClusterState
from ansible_collections.harperdb.cluster.plugins.modules import harper_mesh

from fake_harper import PASSWORD, USERNAME, FakeWorld, run  # tests/lib

NAMES = ["node-a", "node-b", "node-c"]
REFUSED = "cluster_status on https://node-c:9925 failed: connection refused. Check that Harper is running."


def view(name, down=()):
    """name lists every other member of NAMES; its sockets to the members in down are not connected."""
    connections = [{"name": peer, "database_sockets": [{"database": "data", "connected": peer not in down}]}
                   for peer in NAMES if peer != name]
    return ClusterState({"type": "cluster-status", "node_name": name, "connections": connections},
                        [{"name": name}])


def test_a_socket_down_between_members_that_answer_is_a_stall_to_restart():
    states = {"node-a": view("node-a", down=["node-b"]), "node-b": view("node-b"), "node-c": view("node-c")}
    problems, stalled = mesh_problems(states, NAMES)
    assert problems == ["node-a: sockets not connected (peer/database): node-b/data"]
    assert stalled == ["node-a"]


def test_sockets_to_a_member_that_is_down_are_no_stall_of_the_others():
    # node-c was killed in the middle of its join: the others' sockets to it are down, and
    # restarting their worker threads would only interrupt them.
    states = {"node-a": view("node-a", down=["node-c"]), "node-b": view("node-b", down=["node-c"]),
              "node-c": REFUSED}
    problems, stalled = mesh_problems(states, NAMES)
    assert stalled == []
    assert problems == [
        "node-a: sockets not connected (peer/database): node-c/data",
        "node-b: sockets not connected (peer/database): node-c/data",
        "node-c: not answering (%s)" % REFUSED.rstrip("."),
    ]


def test_a_member_with_sockets_down_to_a_dead_member_and_a_live_one_is_restarted():
    states = {"node-a": view("node-a", down=["node-b", "node-c"]), "node-b": view("node-b"), "node-c": REFUSED}
    dummy_problems, stalled = mesh_problems(states, NAMES)
    assert stalled == ["node-a"]


def test_the_timeout_message_says_to_start_the_members_that_stopped_answering():
    hint = _wait_hint(True, False, ["node-c"])
    assert "node-c stopped answering during the run: start it" in hint
    assert "then rerun" in hint
    assert "restarted" not in hint
    assert "start them" in _wait_hint(True, True, ["node-b", "node-c"])


def test_the_timeout_message_of_a_stall_is_unchanged():
    assert "to no avail" in _wait_hint(True, True)
    assert "restart_stalled: true" in _wait_hint(False, False, [])
    assert _wait_hint(True, False) == ""


def member(name, **fields):
    return dict({"name": name, "url": "wss://%s:9933" % name, "api_url": "http://%s:9925" % name}, **fields)


def test_run_joins_each_member_on_the_seed_once_and_a_rerun_writes_nothing():
    world = FakeWorld()
    args = dict(username=USERNAME, password=PASSWORD, members=[member("n1"), member("n2"), member("n3")])
    outcome, result, text = run(harper_mesh, args, world)
    assert outcome == "exit" and result["changed"] is True
    assert (result["plan"]["seed"], result["plan"]["join"]) == ("n1", ["n2", "n3"])
    assert [(w["operation"], w["hostname"]) for w in world.writes] == [("add_node", "n2"), ("add_node", "n3")]
    assert [(o["node"], o["operation"]) for o in result["operations"]] == [("n1", "add_node"), ("n1", "add_node")]
    assert all(m["all_connected"] and len(m["peers"]) == 2 for m in result["members"].values())
    assert PASSWORD not in text
    del world.requests[:]
    outcome, result, dummy_text = run(harper_mesh, args, world)
    assert outcome == "exit" and result["changed"] is False and world.writes == []


def test_run_removes_an_absent_member():
    world = FakeWorld(joined=True)
    args = dict(username=USERNAME, password=PASSWORD, members=[member("n1"), member("n2", state="absent")])
    outcome, result, dummy_text = run(harper_mesh, args, world)
    assert outcome == "exit" and result["changed"] is True
    assert world.writes == [{"operation": "remove_node", "hostname": "n2"}]
    assert "n2" not in world.nodes["n1"].records


def test_run_with_a_wrong_password_names_the_credentials_not_a_member_that_is_down():
    # The members answer (HTTP 401): the fix is the password, not "start them".
    world = FakeWorld()
    args = dict(username=USERNAME, password="wrong-password", members=[member("n1"), member("n2")])
    outcome, result, text = run(harper_mesh, args, world)
    assert outcome == "fail"
    assert result["msg"] == ("cluster_status on http://n1:9925 failed: Harper rejected the credentials "
                             "(HTTP 401: Login failed). Check username and password (or token) for this node.")
    assert "do not answer" not in result["msg"]
    assert result["operations"] == [] and world.writes == []
    assert "wrong-password" not in text


def test_run_refuses_a_shard_when_a_member_runs_harper_4_4_before_any_write():
    world = FakeWorld(version="4.4.18")
    args = dict(username=USERNAME, password=PASSWORD, members=[member("n1", shard=1), member("n2")])
    outcome, result, dummy_text = run(harper_mesh, args, world, check_mode=True)
    assert outcome == "fail"
    assert result["msg"] == ("harper_mesh: shard of n1 (member n1): Harper 4.4.18 at http://n1:9925 stores no "
                             "shard (it answers 200 and drops it). Leave shard out for this node, or upgrade it to "
                             "Harper 4.7.0 or later.")
    assert world.writes == [] and result["operations"] == []
    # The same members without a shard are joined.
    args["members"] = [member("n1"), member("n2")]
    outcome, result, dummy_text = run(harper_mesh, args, world)
    assert outcome == "exit" and result["changed"] is True
