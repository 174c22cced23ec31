# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A new cluster CA rolled out under a write load: no record lost, never two nodes down, and the
mesh connected after every restart (the rolling gate checks it).

Three hosts laid out by the role with its defaults (the cluster CA in the inventory's folder).
Then the CA's files are removed from harper_cluster_pki_dir, as an operator replacing a
compromised or expiring CA does, and site.yml runs under the load of write_load.py: it makes a new
CA and rolls it out in two passes (the new CA first, then each node's certificate of it). Each
node then serves on both ports a certificate of the new CA, which a strict client verifies, every
node record carries the new CA (what Harper trusts a peer by, reliably), and a rolling restart of
every node afterwards finds the mesh whole again. Last, a certificate renewed by the same CA (a
name added) is rolled out one node at a time too.
"""

import json
import os
import signal
import socket
import ssl

import pytest

from harper_state import wait_until
from ansible_run import REPO
from role_cluster import laid_out_cluster, mesh_problems
from write_load import WriteLoad

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

HOSTS = ("harper-1", "harper-2", "harper-3")
ROLLING_RESTART = REPO / "playbooks" / "rolling_restart.yml"
EXTRA_NAME = "harper.example"
SETTLE_WRITES = 15


def served_certificate(ip, port, ca_path):
    """What ip:port serves, as a strict TLS client trusting only ca_path sees it (None: refused)."""
    context = ssl.create_default_context(cafile=ca_path)
    context.verify_flags |= getattr(ssl, "VERIFY_X509_STRICT", 0)
    try:
        with socket.create_connection((ip, port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=ip) as tls:
                return tls.getpeercert()
    except ssl.SSLError:
        return None


def served_by(ip, port, ca_path):
    """Whether a strict TLS client trusting only ca_path accepts what ip:port serves."""
    return served_certificate(ip, port, ca_path) is not None


def test_a_new_cluster_ca_rolls_out_under_write_load_and_loses_no_record(address_allocator, tmp_path):
    with laid_out_cluster(address_allocator, HOSTS, "test_role_ca_rotation") as cluster:
        run = cluster.run()
        cluster.timings["first run"] = round(run.seconds, 1)
        run.assert_ok()
        pki = os.path.join(cluster.base_dir, "harper-pki", "harper")
        old_ca = str(tmp_path / "old-ca.pem")
        os.replace(os.path.join(pki, "ca.pem"), old_ca)
        os.remove(os.path.join(pki, "ca.key"))
        pids = dict((node.name, set(node.pids())) for node in cluster.nodes)
        load = WriteLoad(cluster.nodes)
        load.create_table()
        with load:
            wanted = SETTLE_WRITES
            wait_until(lambda: len(load.acknowledged) >= wanted, 60, "writes before the rotation")
            rotation = cluster.run()
            cluster.timings["rotation"] = round(rotation.seconds, 1)
            wanted = len(load.acknowledged) + SETTLE_WRITES
            wait_until(lambda: len(load.acknowledged) >= wanted, 60, "writes after the rotation")
        report = load.verify(timeout=120)
        figures = report.figures()
        print("\nCA rotation under load: %s; site.yml %.1f s" % (json.dumps(figures), rotation.seconds))
        rotation.assert_ok()
        assert report.problems() == [], (report.problems(), figures)
        # Two passes: the new CA, then the certificates; each node restarted once per pass.
        output = " ".join(rotation.output.split())
        assert output.count("Restarting one node at a time, in this order: harper-1, harper-2, harper-3") == 2, \
            rotation.tail()
        assert all(set(node.pids()).isdisjoint(pids[node.name]) for node in cluster.nodes)
        new_ca = os.path.join(pki, "ca.pem")
        for node in cluster.nodes:
            for port in (9925, 9933):
                assert served_by(node.ip, port, new_ca), (node.name, port)
                assert not served_by(node.ip, port, old_ca), (node.name, port)
        assert mesh_problems(cluster.nodes) == []
        with open(new_ca) as handle:
            new_ca_pem = handle.read()
        for node in cluster.nodes:
            records = node.call({"operation": "search_by_value", "database": "system", "table": "hdb_nodes",
                                 "search_attribute": "name", "search_value": "*", "get_attributes": ["name", "ca"]})
            assert sorted((record["name"], record.get("ca") == new_ca_pem) for record in records) == \
                [(name, True) for name in HOSTS], node.name
        again = cluster.run()
        again.assert_ok()
        assert again.changed() == dict.fromkeys(HOSTS, 0), again.tail()
        # Every node restarted again, now with only certificates of the new CA in the cluster.
        restart = cluster.run(playbook=ROLLING_RESTART)
        restart.assert_ok()
        assert mesh_problems(cluster.nodes) == []
        # A certificate renewed by the same CA (a name added): installed in each node's turn.
        renewal = cluster.run("-e", json.dumps({"harper_cluster_tls_extra_names": [EXTRA_NAME]}))
        renewal.assert_ok()
        output = " ".join(renewal.output.split())
        assert output.count("Restarting one node at a time, in this order: harper-1, harper-2, harper-3") == 1, \
            renewal.tail()
        for node in cluster.nodes:
            names = served_certificate(node.ip, 9933, new_ca).get("subjectAltName", ())
            assert ("DNS", EXTRA_NAME) in names, (node.name, names)
        assert mesh_problems(cluster.nodes) == []


def test_a_rotation_stopped_in_its_second_pass_is_finished_by_the_next_run(address_allocator):
    """The playbook interrupted (SIGINT, as Ctrl-C) as harper-2's turn of the second pass begins: harper-1 serves a
    certificate of the new CA, harper-3 one of the old. A plain rerun installs the rest one node at
    a time (the controller keeps trusting the old CA while a node still waits), and the run after
    it trusts the new CA alone."""
    with laid_out_cluster(address_allocator, HOSTS, "test_role_ca_rotation resumed") as cluster:
        cluster.run().assert_ok()
        pki = os.path.join(cluster.base_dir, "harper-pki", "harper")
        with open(os.path.join(pki, "ca.pem")) as handle:
            old_ca_pem = handle.read()
        os.remove(os.path.join(pki, "ca.pem"))
        os.remove(os.path.join(pki, "ca.key"))
        turns = []

        def kill_in_second_pass(line, process):
            # Each node's turn announces this task, skipped in the first pass: the fifth is
            # harper-2's turn of the second.
            if "Record the CA of the node's new certificate on every member" in line:
                turns.append(line)
                if len(turns) == 5:
                    os.kill(process.pid, signal.SIGINT)

        stopped = cluster.run(watch=kill_in_second_pass)
        assert stopped.returncode != 0 and len(turns) >= 5, stopped.tail()
        new_ca = os.path.join(pki, "ca.pem")
        old_ca = os.path.join(pki, "old-ca.pem")
        with open(old_ca, "w") as handle:
            handle.write(old_ca_pem)
        assert served_by(cluster.nodes[0].ip, 9933, new_ca)
        assert served_by(cluster.nodes[2].ip, 9933, old_ca)
        resumed = cluster.run()
        resumed.assert_ok()
        for node in cluster.nodes:
            assert served_by(node.ip, 9933, new_ca), node.name
        assert mesh_problems(cluster.nodes) == []
        again = cluster.run()
        again.assert_ok()
        assert again.changed() == dict.fromkeys(HOSTS, 0), again.tail()
        with open(os.path.join(pki, "trust.pem")) as handle:
            assert handle.read().count("BEGIN CERTIFICATE") == 1
