# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verified TLS through playbooks/site.yml (docs/security.md).

- Operator certificates that a client could not verify (another CA, a missing name, expired)
  stop the run before anything is installed, each failure naming the host and the fix.
- The default run (the cluster CA) verifies every hop, and a TLS man in the middle on loopback
  (tls_proxy.py: a certificate for the right names from another CA) in front of a node's
  operations API, or of a joining node's replication port, is refused by the role with no byte
  of a request reaching the proxy. The second part lays out real nodes: `reliability`.
"""

import datetime
import json
import os
import socket
import ssl

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils import _pki
from role_cluster import laid_out_cluster, mesh_problems
from tls_proxy import TlsProxy

pytestmark = pytest.mark.integration

REPLICATION_PORT = 9933


def write(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w") as handle:
        handle.write(text)
    return path


def test_operator_certificates_that_would_not_verify_stop_the_run_before_any_install(address_allocator, tmp_path):
    hosts = ("wrong-ca", "wrong-name", "expired")
    folder = str(tmp_path)
    ca, ca_key = _pki.make_ca("operator CA")
    other, other_key = _pki.make_ca("another CA")
    ca_path = write(folder, "ca.pem", ca)
    with laid_out_cluster(address_allocator, hosts, "test_role_tls operator") as bed:
        week_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
        made = {
            "wrong-ca": _pki.issue(other, other_key, "wrong-ca", ["wrong-ca", bed.by_name["wrong-ca"].ip]),
            "wrong-name": _pki.issue(ca, ca_key, "wrong-name", ["wrong-name"]),
            "expired": _pki.issue(ca, ca_key, "expired", ["expired", bed.by_name["expired"].ip], days=2, now=week_ago),
        }
        for name, (certificate, key) in made.items():
            bed.host_vars[name] = {
                "harper_cluster_tls_certificate": write(folder, name + ".pem", certificate),
                "harper_cluster_tls_private_key": write(folder, name + ".key", key),
                "harper_cluster_tls_certificate_authority": ca_path,
            }
        run = bed.run()
        assert run.returncode != 0
        expected = {
            "wrong-ca": "it is not signed by the CA given",
            "wrong-name": "it does not name %s" % bed.by_name["wrong-name"].ip,
            "expired": "it expired on",
        }
        for name, words in expected.items():
            assert "%s: its certificate (harper_cluster_tls_certificate) cannot be verified" % name in run.output, run.tail()
            assert words in run.output.split("%s: its certificate" % name, 1)[1].split("\n", 1)[0], run.tail()
            assert run.recap[name]["failed"] == 1, run.recap
            # Stopped before the install: no npm install, no Harper configuration.
            assert not os.path.exists(bed.by_name[name].install_dir)
        assert "and rerun" in run.output
        for _name, (_certificate, key) in made.items():
            assert key.strip() not in run.output


def strict_handshake(ip, port, ca_path):
    """The peer certificate of a TLS handshake that Python 3.13's default checks (strict X.509)
    accept, by address, against ca_path."""
    context = ssl.create_default_context(cafile=ca_path)
    context.verify_flags |= getattr(ssl, "VERIFY_X509_STRICT", 0)
    with socket.create_connection((ip, port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=ip) as tls:
            return tls.version()


@pytest.fixture(scope="module")
def cluster(address_allocator):
    with laid_out_cluster(address_allocator, ("harper-1", "harper-2", "harper-3"), "test_role_tls") as bed:
        bed.left_out.add("harper-3")
        yield bed


@pytest.mark.reliability
def test_a_default_run_verifies_every_hop_with_the_cluster_ca(cluster):
    run = cluster.run()
    run.assert_ok()
    assert not mesh_problems(cluster.nodes), mesh_problems(cluster.nodes)
    report = run.report
    assert report["tls"]["connections"] > 0 and report["tls"]["unverified"] == 0, report["tls"]
    assert all(entry["verified"] for entry in report["api"].values()), report["api"]
    joins = [op for op in report["operations"] if op["operation"] == "add_node"]
    assert len(joins) == 1 and all(op["verify_tls"] is True for op in joins), joins
    ca_path = os.path.join(cluster.base_dir, "harper-pki", "harper", "ca.pem")
    for node in cluster.nodes:
        # Both ports serve a certificate of the cluster CA that a strict client verifies by address.
        assert strict_handshake(node.ip, 9925, ca_path)
        assert strict_handshake(node.ip, REPLICATION_PORT, ca_path)
    print("default run: %s" % json.dumps({"tls": report["tls"], "add_node": len(joins)}))


@pytest.mark.reliability
def test_a_proxy_in_front_of_an_operations_api_is_refused_and_gets_nothing(cluster, address_allocator):
    node = cluster.by_name["harper-1"]
    proxy_ip = address_allocator.take(1)
    proxy = TlsProxy((proxy_ip, 9925), (node.ip, 9925), [node.name, proxy_ip])
    try:
        # The role issues harper-1 a certificate for this address too (the host of its api_url):
        # only the proxy's certificate, from another CA, stands in the way.
        cluster.host_vars["harper-1"] = {"harper_cluster_api_url": "https://%s:9925" % proxy_ip}
        run = cluster.run()
    finally:
        proxy.close()
        cluster.host_vars.pop("harper-1", None)
    assert run.returncode != 0
    assert "harper-1: the operations API at https://%s:9925 did not answer" % proxy_ip in run.output, run.tail()
    assert "CERTIFICATE_VERIFY_FAILED" in run.output, run.tail()
    assert proxy.refused >= 1 and proxy.accepted == 0, proxy.handshake_errors
    assert bytes(proxy.received) == b""
    print("operations API proxy: %d handshakes refused, %d bytes received" % (proxy.refused, len(proxy.received)))


@pytest.mark.reliability
def test_a_proxy_in_front_of_a_joining_nodes_replication_port_is_refused_and_gets_nothing(cluster, address_allocator):
    cluster.run().assert_ok()
    joining = cluster.by_name["harper-3"]
    proxy_ip = address_allocator.take(1)
    proxy = TlsProxy((proxy_ip, REPLICATION_PORT), (joining.ip, REPLICATION_PORT), [joining.name, proxy_ip])
    cluster.left_out.discard("harper-3")
    try:
        cluster.host_vars["harper-3"] = {"harper_cluster_replication_url": "wss://%s:%d" % (proxy_ip, REPLICATION_PORT)}
        run = cluster.run()
    finally:
        proxy.close()
    assert run.returncode != 0
    assert "harper-3" in run.output.split("Join new hosts, remove absent ones and verify the mesh", 1)[1], run.tail()
    assert "self-signed certificate in certificate chain" in run.output, run.tail()
    assert proxy.refused >= 1 and proxy.accepted == 0, proxy.handshake_errors
    assert bytes(proxy.received) == b""
    print("replication proxy: %d handshakes refused, %d bytes received" % (proxy.refused, len(proxy.received)))
    # The members joined before are untouched and still one mesh.
    assert not mesh_problems([cluster.by_name["harper-1"], cluster.by_name["harper-2"]])
