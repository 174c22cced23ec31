# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test bed itself: real Harper nodes start, join, replicate, and refuse
to share a port."""

import secrets
import socket
import subprocess
import time

import pytest
import requests

from ansible_collections.harperdb.cluster.tests import testbed

pytestmark = [pytest.mark.integration, pytest.mark.testbed(3, mode="dev")]

JOIN_TIMEOUT = 60
REPLICATION_TIMEOUT = 30
# Linux hands out ephemeral ports from 32768 up (net.ipv4.ip_local_port_range).
EPHEMERAL_PORT_MIN = 32768


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %s s waiting for %s" % (timeout, what))
        time.sleep(0.2)


def sockets_connected(nodes):
    """True when every node has every other node as a peer whose database
    sockets all show connected."""
    for node in nodes:
        peers = {
            peer["name"]: peer
            for peer in node.call({"operation": "cluster_status"})["connections"]
        }
        for other in nodes:
            if other is node:
                continue
            sockets = peers.get(other.name, {}).get("database_sockets") or []
            if not sockets or not all(s.get("connected") for s in sockets):
                return False
    return True


def listeners_of(pid):
    """(ip, port) of every TCP socket process pid listens on, from `ss`."""
    output = subprocess.run(
        ["ss", "-ltnpH"], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout
    found = []
    for line in output.splitlines():
        if "pid=%d," % pid not in line:
            continue
        address, dummy_sep, port = line.split()[3].rpartition(":")
        found.append((address.strip("[]"), int(port)))
    return found


@pytest.fixture(scope="module")
def prod_node(testbed_factory):
    # A leading "-" is what an argv parser would take for a flag; the node
    # must still accept exactly this password.
    password = "-" + secrets.token_urlsafe(16)
    return testbed_factory(1, mode="prod", password=password).nodes[0]


def test_dev_nodes_answer_cluster_status(bed):
    for node in bed.nodes:
        status = node.call({"operation": "cluster_status"})
        assert status["is_enabled"] is True
        assert status["node_name"] == node.name
        assert node.api_url == "http://%s:9925" % node.ip
        assert node.replication_url == "wss://%s:9933" % node.ip


def test_nodes_keep_their_fixed_ports_on_their_own_ip(bed):
    for node in bed.nodes:
        listeners = listeners_of(node.pid)
        fixed = sorted(port for ip, port in listeners if ip == node.ip)
        assert fixed == sorted(node.ports), listeners
        # Harper's authentication middleware adds one listener on a random
        # ephemeral port on all addresses; nothing else may leave the node's ip
        # (no MQTT 1883/8883, no inspector 9229).
        others = [(ip, port) for ip, port in listeners if ip != node.ip]
        assert len(others) <= 1, listeners
        assert all(port >= EPHEMERAL_PORT_MIN for dummy_address, port in others), listeners


def test_join_serially_and_replicate_a_record(bed):
    nodes = bed.nodes
    credentials = {"username": bed.username, "password": bed.password}
    for joined in range(1, len(nodes)):
        answer = nodes[joined - 1].call({
            "operation": "add_node",
            "url": nodes[joined].replication_url,
            "verify_tls": False,
            "authorization": credentials,
        })
        assert "error" not in answer["message"], answer
        wait_until(lambda: sockets_connected(nodes[: joined + 1]), JOIN_TIMEOUT,
                   "sockets of %s to connect" % [n.name for n in nodes[: joined + 1]])

    nodes[0].call({"operation": "create_table", "database": "data",
                   "table": "dog", "primary_key": "id"})
    nodes[0].call({"operation": "insert", "database": "data", "table": "dog",
                   "records": [{"id": 1, "name": "Harper", "breed": "Mutt"}]})

    def record_on_last_node():
        try:
            return nodes[-1].call({"operation": "search_by_id", "database": "data",
                                   "table": "dog", "ids": [1],
                                   "get_attributes": ["*"]})
        except testbed.HarperAPIError:
            return None  # the table itself has not replicated yet

    records = wait_until(record_on_last_node, REPLICATION_TIMEOUT,
                         "the record to reach %s" % nodes[-1].name)
    assert records[0]["name"] == "Harper"


def test_prod_node_requires_https_and_credentials(prod_node):
    assert prod_node.api_url == "https://%s:9925" % prod_node.ip
    operation = {"operation": "cluster_status"}
    with pytest.raises(requests.ConnectionError):
        requests.post("http://%s:9925" % prod_node.ip, json=operation, timeout=5)
    with pytest.raises(testbed.HarperAPIError) as refused:
        prod_node.call(operation, auth=False)
    assert refused.value.status_code == 401
    assert prod_node.call(operation)["node_name"] == prod_node.name


def test_start_refused_on_a_port_held_by_a_running_node(bed, tmp_path):
    taken = bed.nodes[0]
    intruder = testbed.Testbed(str(tmp_path), count=1, first_ip=taken.ip)
    with pytest.raises(testbed.PortInUseError) as refused:
        intruder.start()
    assert "%s:%d is already in use" % (taken.ip, taken.ops_port) in str(refused.value)
    assert taken.call({"operation": "cluster_status"})["node_name"] == taken.name


def test_start_refused_on_a_port_held_by_another_program(tmp_path, address_allocator):
    ip = address_allocator.take(1)
    with socket.socket() as holder:
        holder.bind((ip, testbed.DEFAULT_REPLICATION_PORT))
        holder.listen(1)
        bed = testbed.Testbed(str(tmp_path), count=1, first_ip=ip)
        with pytest.raises(testbed.PortInUseError,
                           match="%s:9933 is already in use" % ip.replace(".", r"\.")):
            bed.start()
    assert not bed.nodes[0].is_running()
