# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""harper_node's run() in-process against fake nodes (tests/lib/fake_harper.py): check mode,
join, rerun, update, removal, and the refusals that come before any write."""

import pytest
from ansible.module_utils import basic

from ansible_collections.harperdb.cluster.plugins.modules import harper_node

from fake_harper import PASSWORD, USERNAME, FakeWorld, run  # tests/lib

LOGIN = {"username": USERNAME, "password": PASSWORD, "api_url": "http://n1:9925"}
SUB = {"database": "data", "table": "dog", "subscribe": True, "publish": False}


def test_join_in_check_mode_then_for_real_then_a_rerun_writes_nothing():
    world = FakeWorld()
    args = dict(LOGIN, hostname="n2", shard=1, _ansible_diff=True)
    outcome, result, dummy_text = run(harper_node, args, world, check_mode=True)
    assert outcome == "exit" and result["changed"] is True and world.writes == []
    assert result["diff"]["before"] == {} and result["diff"]["after"]["shard"] == 1

    outcome, result, dummy_text = run(harper_node, args, world)
    assert outcome == "exit" and result["changed"] is True
    assert world.writes == [{"operation": "add_node", "hostname": "n2", "verify_tls": True, "shard": 1}]
    assert [o["operation"] for o in result["operations"]] == ["add_node"]
    assert world.nodes["n1"].records["n2"]["shard"] == 1

    del world.requests[:]
    outcome, result, dummy_text = run(harper_node, args, world)
    assert outcome == "exit" and result["changed"] is False
    assert world.writes == [] and result["operations"] == []


def test_an_update_carries_the_url_and_the_merged_subscriptions():
    world = FakeWorld(joined=True)
    outcome, result, dummy_text = run(harper_node, dict(LOGIN, hostname="n2", subscriptions=[SUB]), world)
    assert outcome == "exit" and result["changed"] is True
    assert world.writes == [{"operation": "update_node", "hostname": "n2", "url": "wss://n2:9933",
                             "subscriptions": [SUB], "verify_tls": True}]


def test_removal_then_a_rerun_finds_nothing_to_remove():
    world = FakeWorld(joined=True)
    args = dict(LOGIN, hostname="n2", state="absent")
    outcome, result, dummy_text = run(harper_node, args, world)
    assert outcome == "exit" and result["changed"] is True
    assert world.writes == [{"operation": "remove_node", "hostname": "n2"}]
    assert "n2" not in world.nodes["n1"].records
    del world.requests[:]
    outcome, result, dummy_text = run(harper_node, args, world)
    assert outcome == "exit" and result["changed"] is False and world.writes == []


def test_the_node_itself_is_removed_only_when_allowed():
    world = FakeWorld(joined=True)
    outcome, result, dummy_text = run(harper_node, dict(LOGIN, hostname="n1", state="absent"), world)
    assert outcome == "fail" and "allow_self_removal" in result["msg"] and world.writes == []


def test_a_failed_join_is_undone_and_says_what_a_rerun_does():
    world = FakeWorld()
    outcome, result, text = run(harper_node, dict(LOGIN, hostname="n9", url="wss://n9:9933"), world)
    assert outcome == "fail" and "ECONNREFUSED" in result["msg"]
    assert [w["operation"] for w in world.writes] == ["add_node", "remove_node"]
    assert "n9" not in world.nodes["n1"].records
    assert PASSWORD not in text


def test_a_shard_or_revoked_certificates_on_harper_4_4_are_refused_before_any_write():
    # Harper 4.4.18 answers update_node with a shard or revoked_certificates with 200 and stores neither.
    world = FakeWorld(version="4.4.18")
    outcome, result, dummy_text = run(harper_node, dict(LOGIN, hostname="n2", shard=1), world)
    assert outcome == "fail"
    assert result["msg"] == ("harper_node: Harper 4.4.18 at http://n1:9925 stores no shard (it answers 200 and drops "
                             "it). Leave shard out for this node, or upgrade it to Harper 4.7.0 or later.")
    assert world.writes == [] and result["operations"] == []
    outcome, result, dummy_text = run(harper_node, dict(LOGIN, hostname="n2", shard=1, revoked_certificates=["AB"]),
                                      world)
    assert outcome == "fail" and world.writes == []
    assert result["msg"] == ("harper_node: Harper 4.4.18 at http://n1:9925 stores no shard and no revoked_certificates "
                             "(it answers 200 and drops them). Leave shard and revoked_certificates out for this "
                             "node, or upgrade it to Harper 4.7.0 or later.")
    # Without them, 4.4 joins as 4.7 does, and the version is not asked.
    del world.requests[:]
    outcome, result, dummy_text = run(harper_node, dict(LOGIN, hostname="n2"), world)
    assert outcome == "exit" and result["changed"] is True
    assert "registration_info" not in [body["operation"] for dummy_node, body in world.requests]
    world = FakeWorld(version="4.7.19")
    outcome, result, dummy_text = run(harper_node, dict(LOGIN, hostname="n2", shard=1), world)
    assert outcome == "exit" and result["changed"] is True
    assert [body["operation"] for dummy_node, body in world.requests].count("registration_info") == 1


@pytest.fixture
def warned(monkeypatch):
    """Every warning the module gives, as called (ansible-core shows a repeated text once per
    process, so the output of a later run may not carry it)."""
    messages = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **kwargs: messages.append(warning))
    return messages


def test_a_join_that_skips_the_peer_certificate_warns_naming_the_peer_and_counts_the_plain_connection(warned):
    world = FakeWorld()
    outcome, result, dummy_text = run(harper_node, dict(LOGIN, hostname="n2", verify_tls=False), world)
    assert outcome == "exit" and world.writes[0]["verify_tls"] is False
    assert any(w.startswith("n2: verify_tls is false") for w in warned)
    # LOGIN's api_url is plain HTTP: every connection of the run is unverified.
    assert result["tls"]["connections"] >= 1 and result["tls"]["unverified"] == result["tls"]["connections"]


def test_a_verified_join_does_not_warn(warned):
    outcome, result, dummy_text = run(harper_node, dict(LOGIN, hostname="n2"), FakeWorld())
    assert outcome == "exit"
    assert not [w for w in warned if "verify_tls" in w]


def test_validate_certs_false_on_https_warns_naming_the_url(warned):
    login = dict(LOGIN, api_url="https://n1:9925", validate_certs=False)
    outcome, result, dummy_text = run(harper_node, dict(login, hostname="n2"), FakeWorld())
    assert outcome == "exit"
    assert any("the TLS certificate of https://n1:9925 is not verified" in w for w in warned)
    assert result["tls"]["unverified"] == result["tls"]["connections"] >= 1
