"""harper_cluster_facts on real nodes: alone, in a mesh, with a peer down; and the
connection error paths of the shared client against a real prod-mode node."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from ansible_run import run_module, run_playbook
from harper_state import connection_args, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.testbed(3, mode="dev")]


@pytest.fixture(scope="module")
def prod(testbed_factory):
    bed = testbed_factory(1, mode="prod")
    yield bed.nodes[0]
    bed.stop()


def facts(node, check=False, **extra):
    run = run_module("harper_cluster_facts", dict(connection_args(node), **extra), check=check)
    assert not run.failed, run.get("msg")
    assert not run.changed
    return run["ansible_facts"]["harper_cluster"]


def join(node, peer):
    node.call({"operation": "add_node", "url": peer.replication_url, "verify_tls": False,
               "authorization": {"username": peer.username, "password": peer.password}})


def connected_everywhere(nodes):
    for node in nodes:
        connections = node.call({"operation": "cluster_status"})["connections"]
        if len(connections) != len(nodes) - 1:
            return False
        for connection in connections:
            sockets = connection.get("database_sockets") or []
            if not sockets or not all(s.get("connected") for s in sockets):
                return False
    return True


def test_unclustered_node(n):
    got = facts(n[0])
    assert got["node_name"] == n[0].name
    assert got["url"] == n[0].replication_url
    assert got["is_enabled"] is True
    assert got["peer_count"] == 0
    assert got["peers"] == []
    assert got["routes"] == []
    assert got["all_connected"] is True
    assert got["disconnected"] == []


def test_joined_mesh_is_all_connected(n):
    join(n[0], n[1])
    wait_until(lambda: connected_everywhere(n[:2]), 60, "node1 and node2 to connect")
    join(n[1], n[2])
    wait_until(lambda: connected_everywhere(n), 60, "the 3-node mesh to connect")
    for node in n:
        got = facts(node)
        assert got["all_connected"] is True, got["disconnected"]
        assert got["peer_count"] == 2
        assert sorted(p["name"] for p in got["peers"]) == sorted(o.name for o in n if o is not node)
        for peer in got["peers"]:
            assert peer["databases"], peer
            assert all(db["connected"] for db in peer["databases"])
            assert {"ca", "ca_info", "authorization"}.isdisjoint(peer)
    in_check_mode = facts(n[0], check=True)
    assert in_check_mode["peer_count"] == 2
    # Nothing written: once the joins' first copies are done, the mesh is caught up
    # (tests/integration/test_replication_lag.py has the wait under load).
    idle = facts(n[0], wait=True, wait_timeout=60)["replication"]
    assert idle == {"caught_up": True, "max_lag_seconds": 0.0, "max_backpressure_percent": idle["max_backpressure_percent"],
                    "lagging": []}


def test_a_stopped_peer_is_reported_and_recovers(n):
    n[2].stop()
    wait_until(lambda: not facts(n[0])["all_connected"], 60, "node1 to notice node3 is down")
    got = facts(n[0])
    assert got["peer_count"] == 2
    assert {d["peer"] for d in got["disconnected"]} == {n[2].name}
    by_name = dict((p["name"], p) for p in got["peers"])
    assert all(db["connected"] for db in by_name[n[1].name]["databases"])
    assert got["replication"]["caught_up"] is False
    assert {e["peer"] for e in got["replication"]["lagging"]} == {n[2].name}
    assert {e["reason"] for e in got["replication"]["lagging"]} <= {"disconnected", "no database socket"}
    n[2].start()
    n[2].wait_ready()
    wait_until(lambda: facts(n[0])["all_connected"], 90, "node3 to reconnect to node1")


def test_prod_node_with_credentials(prod):
    got = facts(prod)
    assert got["node_name"] == prod.name


def test_wrong_password_is_reported_as_such(prod):
    args = dict(connection_args(prod), password="wrong-password")
    run = run_module("harper_cluster_facts", args)
    assert run.failed
    assert run["msg"] == ("cluster_status on %s failed: Harper rejected the credentials (HTTP 401: "
                          "Login failed). Check username and password (or token) for this node."
                          % prod.api_url)
    assert "wrong-password" not in run.output


def test_closed_port_is_reported_as_refused(prod):
    api_url = "https://%s:9999" % prod.ip
    run = run_module("harper_cluster_facts", dict(connection_args(prod), api_url=api_url, retries=1))
    assert run.failed
    assert run["msg"] == ("cluster_status on %s failed: connection refused. Check that Harper is running "
                          "and that api_url points at its operations API port "
                          "(operationsApi.network.port, 9925 by default)." % api_url)


def test_unknown_host_is_reported(prod):
    api_url = "https://harper-node.invalid:9925"
    run = run_module("harper_cluster_facts", dict(connection_args(prod), api_url=api_url, retries=0))
    assert run.failed
    assert run["msg"] == ("cluster_status on %s failed: the host name in api_url does not resolve. "
                          "Check api_url." % api_url)


def test_self_signed_certificate_fails_verification(prod):
    run = run_module("harper_cluster_facts", dict(connection_args(prod), validate_certs=True))
    assert run.failed
    assert run["msg"].startswith("cluster_status on %s failed: the TLS certificate could not be verified"
                                 % prod.api_url)
    assert "give ca_path the CA that signed the node's certificate" in run["msg"]
    assert "validate_certs: false" not in run["msg"]


def test_token_authentication(prod):
    tokens = prod.call({"operation": "create_authentication_tokens", "username": prod.username,
                        "password": prod.password})
    args = {"api_url": prod.api_url, "validate_certs": False, "token": tokens["operation_token"]}
    run = run_module("harper_cluster_facts", args, verbosity=3)
    assert not run.failed, run.get("msg")
    assert run["ansible_facts"]["harper_cluster"]["node_name"] == prod.name
    assert tokens["operation_token"] not in run.output
    bad = run_module("harper_cluster_facts", dict(args, token="not-a-token"))
    assert bad.failed
    assert "Harper rejected the credentials (HTTP 401" in bad["msg"]


def test_ca_path_verifies_the_self_signed_certificate(prod, tmp_path):
    authorities = [c for c in prod.call({"operation": "list_certificates"}) if c.get("is_authority")]
    assert authorities, "the node lists no certificate authority"
    ca_file = tmp_path / "harper-ca.pem"
    ca_file.write_text(authorities[0]["certificate"])
    got = facts(prod, validate_certs=True, ca_path=str(ca_file))
    assert got["node_name"] == prod.name


def test_module_defaults_group_sets_the_connection_for_a_play(prod, tmp_path):
    play = [{
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {"group/harperdb.cluster.harper": connection_args(prod)},
        "tasks": [
            {"name": "facts with no options", "harperdb.cluster.harper_cluster_facts": {}},
            {"name": "the defaults reached the module", "ansible.builtin.assert": {
                "that": ["ansible_facts.harper_cluster.node_name == %r" % prod.name]}},
        ],
    }]
    playbook = tmp_path / "module_defaults.yml"
    playbook.write_text(json.dumps(play))
    done = run_playbook(playbook)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "ok=2" in done.stdout


JSONSCHEMA = ("jsonschema", "jsonschema_specifications", "referencing", "rpds", "attrs", "attr",
              "typing_extensions.py")


def _python_with(tmp_path, libraries):
    """A Python with the standard library and, of the test venv's packages, only libraries."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    lib = tmp_path / "lib"
    lib.mkdir()
    site = Path(jsonschema.__file__).resolve().parents[1]
    for name in libraries:
        if (site / name).exists():
            (lib / name).symlink_to(site / name)
    return {"ANSIBLE_PYTHON_INTERPRETER": str(venv / "bin" / "python"), "PYTHONPATH": str(lib)}


def test_the_modules_need_nothing_beyond_the_standard_library(prod, tmp_path):
    env = _python_with(tmp_path, ())
    facts = run_module("harper_cluster_facts", connection_args(prod), env=env)
    assert not facts.failed, facts.get("msg")
    join = run_module("harper_node", dict(connection_args(prod), hostname="nobody", url="wss://127.0.0.1:9"),
                      check=True, env=env)
    assert not join.failed, join.get("msg")
    assert join.changed and join.writes() == []


def test_subscriptions_need_jsonschema_and_say_so(prod, tmp_path):
    entry = dict(connection_args(prod), hostname="nobody", url="wss://127.0.0.1:9",
                 subscriptions=[{"database": "data", "table": "dog", "subscribe": True, "publish": True}])
    run = run_module("harper_node", entry, check=True, env=_python_with(tmp_path, ()))
    assert run.failed
    assert run["msg"].startswith("Failed to import the required Python library (jsonschema)"), run["msg"]
    assert run["operations"] == []
    with_jsonschema = run_module("harper_node", entry, check=True, env=_python_with(tmp_path / "with", JSONSCHEMA))
    assert not with_jsonschema.failed, with_jsonschema.get("msg")


def test_node_without_replication_settings_is_explained(testbed_factory):
    bed = testbed_factory(1, mode="dev", replication=False)
    try:
        node = bed.nodes[0]
        run = run_module("harper_cluster_facts", connection_args(node))
        assert run.failed
        assert run["msg"] == (
            'cluster_status on %s answered without native replication ({"connections": []}). '
            "Replication is not configured on this node: set replication.hostname or replication.url "
            "in harperdb-config.yaml (REPLICATION_HOSTNAME at install) and restart it. Legacy NATS "
            "clustering is not supported by this collection." % node.api_url)
        # harper_node reads the node first and stops there, before any write.
        join = run_module("harper_node", dict(connection_args(node), url="wss://127.0.0.1:9933"))
        assert join.failed
        assert join["msg"] == run["msg"]
        assert join["operations"] == []
        # Harper's own refusal of a write in that state gets the same advice.
        with pytest.raises(Exception) as refused:
            node.call({"operation": "add_node", "url": "wss://127.0.0.1:9933"})
        assert "Clustering must be enabled" in str(refused.value)
    finally:
        bed.stop()


# What Harper 4.7.29 names when it refuses an operation to a user whose role is not a super_user.
RESTRICTED = "Operation '%s' is restricted to 'super_user' roles"
REFUSED_TO = ("%s on %s failed: Harper refused it to %s (HTTP 403: This operation is not authorized due to "
              "role restrictions and/or invalid database items: %s). %s needs a super_user: connect as a user "
              "whose role has super_user: true (such as the admin created at install), or with a token of one, "
              "or give that user a role with super_user: true (alter_user).")


def test_an_account_that_is_no_super_user(prod, tmp_path):
    """Every module with a user whose role is not a super_user, in one play: the facts say what it
    may read, every module that writes fails before any write, naming the account and the fix."""
    role = {"operation": "add_role", "role": "monitoring",
            "permission": {"super_user": False}}
    prod.call(role)
    prod.call({"operation": "add_user", "role": "monitoring", "username": "monitor", "password": "m0nitor-Pw",
               "active": True})
    token = prod.call({"operation": "create_authentication_tokens", "username": "monitor",
                       "password": "m0nitor-Pw"})["operation_token"]
    account = {"api_url": prod.api_url, "username": "monitor", "password": "m0nitor-Pw", "validate_certs": False}
    peer = {"hostname": "nobody", "url": "wss://127.0.0.1:9"}
    member = {"name": prod.name, "url": prod.replication_url, "api_url": prod.api_url}
    tasks = [
        ("facts", "harper_cluster_facts", account),
        ("facts_token", "harper_cluster_facts", {"api_url": prod.api_url, "token": token, "validate_certs": False}),
        ("node_add", "harper_node", dict(account, **peer)),
        ("node_remove", "harper_node", dict(account, hostname="nobody", state="absent")),
        ("cluster", "harper_cluster", dict(account, connections=[peer])),
        ("mesh", "harper_mesh", {"username": "monitor", "password": "m0nitor-Pw", "validate_certs": False,
                                 "members": [member]}),
        ("routes", "harper_routes", dict(account, routes=["wss://127.0.0.1:9"], restart=True)),
    ]
    result_file = tmp_path / "results.json"
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": name, "harperdb.cluster." + module: args, "register": name, "ignore_errors": True}
        for name, module, args in tasks] + [
        {"name": "save", "ansible.builtin.copy": {
            "dest": str(result_file),
            "content": "{{ {%s} | to_json }}" % ", ".join("'%s': %s" % (t[0], t[0]) for t in tasks)}}]}]
    playbook = tmp_path / "no_super_user.yml"
    playbook.write_text(json.dumps(play))
    done = run_playbook(playbook)
    assert result_file.exists(), done.stdout[-3000:]
    results = json.loads(result_file.read_text())
    assert "m0nitor-Pw" not in done.stdout + done.stderr and token not in done.stdout + done.stderr

    facts = results["facts"]
    assert not facts.get("failed"), facts.get("msg")
    got = facts["ansible_facts"]["harper_cluster"]
    assert got["access"] == {
        "account": "monitor", "role": "monitoring", "super_user": False,
        "can_read": {"cluster_status": False, "hdb_nodes": False, "configuration": False},
        "denied": ["cluster_status: " + RESTRICTED % "clusterStatus",
                   "hdb_nodes: read of system.hdb_nodes",
                   "configuration: " + RESTRICTED % "getConfiguration"]}
    assert got["all_connected"] is None and got["node_name"] is None and got["peers"] == []
    # One warning per refused read, and the one for validate_certs: false (the test bed's
    # certificates are Harper's own).
    unverified = [w for w in facts["warnings"] if "is not verified (validate_certs: false)" in w]
    assert len(unverified) == 1 and unverified[0].startswith("the TLS certificate of %s" % prod.api_url)
    facts["warnings"] = [w for w in facts["warnings"] if w not in unverified]
    assert len(facts["warnings"]) == 3
    assert facts["warnings"][0] == REFUSED_TO % ("cluster_status", prod.api_url, "user 'monitor'",
                                                 RESTRICTED % "clusterStatus", "cluster_status")
    # With a token the client knows no name; Harper's user_info gives it.
    by_token = results["facts_token"]["ansible_facts"]["harper_cluster"]["access"]
    assert by_token["account"] == "monitor" and by_token["super_user"] is False
    assert [w for w in results["facts_token"]["warnings"] if "refused it to the token's user" in w]

    # Every module that writes reads first, and is refused there, before any write.
    first_read = {"node_add": ("cluster_status", "clusterStatus"), "node_remove": ("cluster_status", "clusterStatus"),
                  "cluster": ("cluster_status", "clusterStatus"), "mesh": ("cluster_status", "clusterStatus"),
                  "routes": ("get_configuration", "getConfiguration")}
    for name, (operation, harper_name) in first_read.items():
        result = results[name]
        assert result.get("failed"), (name, result)
        assert result["msg"] == REFUSED_TO % (operation, prod.api_url, "user 'monitor'",
                                              RESTRICTED % harper_name, operation), (name, result["msg"])
        assert result["operations"] == [], name
    # The node still has no peer and its routes as they were.
    assert prod.call({"operation": "cluster_status"})["connections"] == []
