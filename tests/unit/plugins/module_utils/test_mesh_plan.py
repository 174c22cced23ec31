# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The membership plan of a whole cluster, on recorded member views."""

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils._mesh_plan import (
    MeshInputError,
    parse_members,
    peers_before_and_after,
    plan_mesh,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._state import ClusterState

JOIN_OPTIONS = {"verify_tls": False}


def member(name, state="present", **extra):
    entry = {"name": name, "api_url": "https://%s:9925" % name, "url": "wss://%s:9933" % name,
             "state": state, "username": "admin", "password": "secret-" + name}
    entry.update(extra)
    return entry


def view(name, peers=(), down=(), records=None):
    """name's reading: it lists peers (stored and in cluster_status), sockets to those in down unconnected."""
    connections = [{"name": peer, "url": "wss://%s:9933" % peer,
                    "database_sockets": [{"database": "data", "connected": peer not in down}]}
                   for peer in peers]
    stored = [{"name": name, "url": "wss://%s:9933" % name}]
    stored += records if records is not None else [{"name": p, "url": "wss://%s:9933" % p} for p in peers]
    return ClusterState({"type": "cluster-status", "node_name": name, "connections": connections}, stored)


def mesh_views(names, others=()):
    """A full mesh of names, plus members in others that list nobody."""
    views = dict((n, view(n, [p for p in names if p != n])) for n in names)
    views.update((n, view(n)) for n in others)
    return views


def plan(entries, views):
    return plan_mesh(parse_members(entries), views, JOIN_OPTIONS)


def test_a_new_cluster_is_seeded_by_the_first_member_and_takes_n_minus_1_joins():
    entries = [member("a"), member("b"), member("c"), member("d")]
    result = plan(entries, mesh_views([], others="abcd"))
    assert result.seed == "a"
    assert result.mesh == ["a"]
    assert [c.name for c in result.joins] == ["b", "c", "d"]
    assert result.write_count == 3
    join = result.joins[0]
    assert join.operation == "add_node"
    assert join.body == {"hostname": "b", "url": "wss://b:9933", "verify_tls": False,
                         "authorization": {"username": "admin", "password": "secret-b"}}


def test_a_converged_cluster_plans_nothing():
    entries = [member("a"), member("b"), member("c")]
    result = plan(entries, mesh_views("abc"))
    assert result.write_count == 0
    assert result.as_dict()["join"] == [] and result.as_dict()["remove"] == []


def test_scale_out_joins_only_the_new_member_to_the_existing_mesh():
    entries = [member("new"), member("a"), member("b")]
    result = plan(entries, mesh_views("ab", others=["new"]))
    assert result.seed == "a", "the largest mesh seeds, not the first host of the inventory"
    assert [c.name for c in result.joins] == ["new"]
    assert result.write_count == 1


def test_scale_in_removes_the_absent_member_from_every_member_that_lists_it():
    entries = [member("a"), member("b"), member("c", state="absent")]
    views = mesh_views("abc")
    result = plan(entries, views)
    assert result.joins == []
    assert result.removals == [{"name": "c", "on": ["a", "b"]}]
    assert result.write_count == 1
    before, after = peers_before_and_after(parse_members(entries), views, result)
    assert before == {"a": ["b", "c"], "b": ["a", "c"]}
    assert after == {"a": ["b"], "b": ["a"]}


def test_an_absent_member_that_does_not_answer_is_removed_all_the_same():
    entries = [member("a"), member("b"), member("c", state="absent")]
    views = mesh_views("ab")
    views["a"] = view("a", ["b", "c"], down=["c"])
    views["c"] = "connection refused"
    result = plan(entries, views)
    assert result.removals == [{"name": "c", "on": ["a"]}]
    assert result.absent_unreachable == ["c"]


def test_a_returning_host_with_stale_records_is_joined_again():
    # r was removed from the mesh (a and b no longer list it) but kept its own records of them.
    entries = [member("r"), member("a"), member("b")]
    views = mesh_views("ab")
    views["r"] = view("r", ["a", "b"], down=["a", "b"])
    result = plan(entries, views)
    assert result.seed == "a"
    assert [c.name for c in result.joins] == ["r"]


def test_a_reinstalled_host_that_the_mesh_still_lists_is_joined_again():
    # a and b still hold r's record, but r was reinstalled and lists nobody.
    entries = [member("a"), member("b"), member("r")]
    views = dict((n, view(n, [p for p in "abr" if p != n], down=["r"])) for n in "ab")
    views["r"] = view("r")
    result = plan(entries, views)
    assert result.mesh == ["a", "b"]
    assert [c.name for c in result.joins] == ["r"]
    assert result.joins[0].action == "add", "a stale record is handshaken again, not updated"
    assert result.joins[0].before["name"] == "r"


def test_two_separate_meshes_are_joined_into_the_larger_one():
    entries = [member("x1"), member("x2"), member("a"), member("b"), member("c")]
    views = mesh_views("abc")
    views.update((n, view(n, [p for p in ("x1", "x2") if p != n])) for n in ("x1", "x2"))
    result = plan(entries, views)
    assert result.seed == "a"
    assert result.mesh == ["a", "b", "c"]
    assert [c.name for c in result.joins] == ["x1", "x2"]


def test_of_two_meshes_of_one_size_the_one_listed_first_seeds():
    entries = [member("x1"), member("x2"), member("a"), member("b")]
    views = mesh_views("ab")
    views.update((n, view(n, [p for p in ("x1", "x2") if p != n])) for n in ("x1", "x2"))
    result = plan(entries, views)
    assert result.seed == "x1"
    assert [c.name for c in result.joins] == ["a", "b"]


def test_a_present_member_that_does_not_answer_is_refused_before_any_write():
    entries = [member("a"), member("b"), member("c")]
    views = mesh_views("ab")
    views["c"] = "connect_status on https://c:9925 failed: connection refused."
    with pytest.raises(MeshInputError, match=r"c \(https://c:9925\): .*connection refused\. Start them, or mark them absent"):
        plan(entries, views)


def test_a_member_answering_under_another_name_is_refused():
    entries = [member("a"), member("b")]
    views = mesh_views("ab")
    views["b"] = view("other")
    with pytest.raises(MeshInputError, match="calls itself 'other', not 'b'. Set name to its replication.hostname"):
        plan(entries, views)


def test_peers_outside_the_inventory_are_reported_and_left_alone():
    entries = [member("a"), member("b")]
    views = {"a": view("a", ["b", "stranger"]), "b": view("b", ["a", "stranger"])}
    result = plan(entries, views)
    assert result.write_count == 0
    assert result.unmanaged == {"a": ["stranger"], "b": ["stranger"]}


def test_an_absent_host_that_only_some_members_still_list():
    entries = [member("a"), member("b"), member("c"), member("gone", state="absent")]
    views = mesh_views("abc")
    views["b"] = view("b", ["a", "c", "gone"], down=["gone"])
    views["gone"] = "connection refused"
    result = plan(entries, views)
    assert result.removals == [{"name": "gone", "on": ["b"]}]
    assert result.joins == []


def test_an_absent_host_that_nobody_lists_needs_nothing():
    entries = [member("a"), member("b"), member("gone", state="absent")]
    result = plan(entries, dict(mesh_views("ab"), gone="connection refused"))
    assert result.write_count == 0


def test_shard_and_subscriptions_go_with_the_join_and_are_kept_up_to_date_on_the_seed():
    dog = {"database": "data", "table": "dog", "subscribe": True, "publish": True}
    entries = [member("a"), member("b", shard=1), member("c", subscriptions=[dog])]
    views = mesh_views("ab", others=["c"])
    result = plan(entries, views)
    assert [c.name for c in result.updates] == ["b"]
    update = result.updates[0]
    assert update.operation == "update_node"
    assert update.body == {"hostname": "b", "url": "wss://b:9933", "shard": 1}
    assert result.joins[0].body["subscriptions"] == [dog]
    views["a"] = view("a", ["b"], records=[{"name": "b", "url": "wss://b:9933", "shard": 1}])
    assert plan(entries, views).updates == []


@pytest.mark.parametrize("entries, message", [
    ([], "members is empty"),
    ([member("a"), member("a")], r"members\[1\]: the same name as members\[0\]"),
    ([member("a"), dict(member("b"), url="wss://A:9933")], r"members\[1\]: the same url as members\[0\]"),
    ([member("a"), dict(member("b"), api_url="https://a:9925/")], r"the same api_url"),
    ([dict(member("a"), url=None)], r"members\[0\] \(a\): url .* is required for a present member"),
    ([dict(member("a"), url="https://a:9925")], "is not a replication url"),
    ([member("a"), dict(member("b"), subscriptions=[{"database": "d", "table": "t", "subscribe": True,
                                                     "publsh": True}])], "unknown field 'publsh'"),
    ([dict(member("a"), name="")], r"members\[0\]: name is required"),
])
def test_bad_input_is_refused_with_the_member_and_the_fix(entries, message):
    with pytest.raises(MeshInputError, match=message):
        plan(entries, mesh_views([], others=[e["name"] for e in entries if e.get("name")]))


def test_a_member_without_credentials_joins_with_the_authorization_given():
    entries = [member("a"), dict(member("b"), password=None, authorization="Basic abc")]
    result = plan(entries, mesh_views([], others="ab"))
    assert result.joins[0].body["authorization"] == "Basic abc"


def test_a_member_whose_own_record_has_another_shard_gets_its_own_record_updated():
    entries = [member("a", shard=1), member("b", shard=2), member("c")]
    views = mesh_views("abc")
    views["a"].records["a"]["shard"] = 1   # as given: nothing to do
    views["b"].records["b"]["shard"] = 1   # moved to 2, its own copy kept 1
    result = plan(entries, views)
    assert result.own_shards == [{"name": "b", "before": 1, "after": 2}]
    assert result.as_dict()["own_shard"] == [{"name": "b", "before": 1, "after": 2}]
    assert result.write_count == 1 + len(result.updates)


def test_a_member_without_a_record_of_itself_is_left_to_harper():
    entries = [member("a", shard=1), member("b", shard=2)]
    views = {"a": view("a"), "b": ClusterState({"type": "cluster-status", "node_name": "b", "connections": []}, [])}
    result = plan(entries, views)
    assert [change["name"] for change in result.own_shards] == ["a"]
