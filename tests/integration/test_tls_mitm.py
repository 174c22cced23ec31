"""A TLS man in the middle on loopback, in front of a node's operations API and in front of a
peer's replication port (tls_proxy.py: a certificate for the right names from another CA, a
relay to the node, a log of every byte a client sent it).

Verifying, the modules refuse both proxies and no byte of a request reaches them. Not verifying
(validate_certs: false, verify_tls: false, today's defaults of the role), the same runs pass
through the proxy and hand it the admin credentials: the controls that show the proxy works.
The controller verifies with node1's own CA, read through its operations API's Unix socket, the
channel docs/security.md proposes for the first contact.
"""

import base64
import http.client
import json
import os
import socket

import pytest

from ansible_run import run_module
from harper_state import connection_args, read_records
from tls_proxy import TlsProxy

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.testbed(2, mode="prod")]


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self._path)


def own_ca(node, folder):
    """node's own CA, read through the Unix socket of its operations API (no TLS, no password)."""
    connection = _UnixConnection(os.path.join(node.rootpath, "operations-server"))
    connection.request("POST", "/", json.dumps({"operation": "list_certificates"}),
                       {"Content-Type": "application/json"})
    certificates = json.loads(connection.getresponse().read())
    connection.close()
    authority = [c for c in certificates if c["is_authority"] and c["name"].endswith("-" + node.name)]
    assert len(authority) == 1, [c["name"] for c in certificates]
    path = os.path.join(str(folder), node.name + "-ca.pem")
    with open(path, "w") as handle:
        handle.write(authority[0]["certificate"])
    return path


def credentials_in(received, node):
    """Whether bytes a proxy received carry node's admin credentials, in the clear or as Basic."""
    token = base64.b64encode(("%s:%s" % (node.username, node.password)).encode())
    return node.password.encode() in received or token in received


@pytest.fixture(scope="module")
def proxies(n, address_allocator):
    api_ip, replication_ip = address_allocator.take(1), address_allocator.take(1)
    api = TlsProxy((api_ip, n[0].ops_port), (n[0].ip, n[0].ops_port), [n[0].name, api_ip])
    replication = TlsProxy((replication_ip, n[1].replication_port), (n[1].ip, n[1].replication_port),
                           [n[1].name, replication_ip])
    yield {"api": api, "api_url": "https://%s:%d" % (api_ip, n[0].ops_port),
           "replication": replication, "replication_url": "wss://%s:%d" % (replication_ip, n[1].replication_port)}
    api.close()
    replication.close()


def test_the_operations_api_proxy_is_refused_and_gets_nothing(n, proxies, tmp_path):
    ca_path = own_ca(n[0], tmp_path)
    verified = dict(connection_args(n[0]), validate_certs=True, ca_path=ca_path)
    direct = run_module("harper_cluster_facts", verified)
    assert not direct.failed, direct.get("msg")  # the CA read through the socket verifies node1

    proxy = proxies["api"]
    proxy.clear()
    refused = run_module("harper_cluster_facts", dict(verified, api_url=proxies["api_url"]))
    assert refused.failed
    assert "the TLS certificate could not be verified" in refused["msg"], refused["msg"]
    print("operations API proxy: %s; the proxy saw %s" % (refused["msg"], proxy.handshake_errors))
    assert proxy.refused >= 1 and proxy.accepted == 0
    assert bytes(proxy.received) == b""
    assert n[0].password not in refused.output

    proxy.clear()
    through = run_module("harper_cluster_facts", dict(connection_args(n[0]), api_url=proxies["api_url"]))
    assert not through.failed, through.get("msg")
    assert through["ansible_facts"]["harper_cluster"]["node_name"] == n[0].name
    assert proxy.accepted >= 1
    assert credentials_in(bytes(proxy.received), n[0])


def join_args(node, peer, url, verify_tls):
    return dict(connection_args(node), hostname=peer.name, url=url, verify_tls=verify_tls, wait=False,
                authorization={"username": peer.username, "password": peer.password})


def test_the_replication_proxy_is_refused_and_gets_nothing(n, proxies):
    proxy = proxies["replication"]
    proxy.clear()
    refused = run_module("harper_node", join_args(n[0], n[1], proxies["replication_url"], True))
    assert refused.failed
    assert "self-signed certificate in certificate chain" in refused["msg"], refused["msg"]
    assert "The node does not trust the peer's certificate" in refused["msg"], refused["msg"]
    assert "refused to sign" not in refused["msg"]
    print("replication proxy: %s; the proxy saw %s" % (refused["msg"], proxy.handshake_errors))
    assert proxy.refused >= 1 and proxy.accepted == 0
    assert bytes(proxy.received) == b""
    # nothing left behind: no record of node2 (or of the proxy's address) on either node
    assert set(read_records(n[0])) <= {n[0].name}
    assert set(read_records(n[1])) <= {n[1].name}

    proxy.clear()
    through = run_module("harper_node", join_args(n[0], n[1], proxies["replication_url"], False))
    assert not through.failed, (through.get("msg"), proxy.accepted, proxy.refused, proxy.handshake_errors,
                                bytes(proxy.received[:300]))
    assert proxy.accepted >= 1
    assert credentials_in(bytes(proxy.received), n[1])
