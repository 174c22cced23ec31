# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operator-supplied certificates for the hosts of rolling_load.py, and their rotation to a new CA.

The old CA signs one certificate per host (CN and DNS SAN the replication hostname, which the role
sets to the inventory name; IP SAN the host's address), installed through
`harper_cluster_tls_certificate`, `_private_key` and `_certificate_authority` per host. The
rotation is three runs of site.yml, each after a change of every host's vars (the role restarts
the changed nodes one at a time through its gate); the mesh is read after each:

1. the CA file becomes a bundle of the old and the new CA;
2. the node certificate and key become ones the new CA signed;
3. the CA file becomes the new CA alone.

So at every moment each node trusts the CA of every certificate a peer presents.
"""

import datetime
import ipaddress
import os
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harper_state import wait_until
from role_cluster import mesh_problems

MESH_TIMEOUT = 180


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(common_name):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def issue(ca, hostname, address):
    """(certificate PEM, key PEM) of a node certificate for hostname and address."""
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname),
                                                        x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


class Rotation(object):
    """The certificate files of a Cluster (role_cluster) and their rotation."""

    def __init__(self, base_dir, cluster):
        self.dir = os.path.join(base_dir, "tls")
        self.cluster = cluster
        self.old_ca = make_ca("rotation test CA old")
        self.new_ca = make_ca("rotation test CA new")
        os.makedirs(self.dir, mode=0o700)
        self.old_ca_file = self._write("ca-old.pem", self.old_ca[1].public_bytes(serialization.Encoding.PEM))
        self.new_ca_file = self._write("ca-new.pem", self.new_ca[1].public_bytes(serialization.Encoding.PEM))
        self.bundle_file = self._write("ca-old-and-new.pem", self.old_ca[1].public_bytes(serialization.Encoding.PEM)
                                       + self.new_ca[1].public_bytes(serialization.Encoding.PEM))
        self.steps = []

    def _write(self, name, data):
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path

    def _node_files(self, ca, generation, node):
        cert, key = issue(ca, node.name, node.ip)
        return (self._write("%s-%s.pem" % (node.name, generation), cert),
                self._write("%s-%s.key" % (node.name, generation), key))

    def _set(self, node, **values):
        host = self.cluster.host_vars.setdefault(node.name, {})
        for key, value in values.items():
            host["harper_cluster_tls_" + key] = value

    def lay_out_old(self):
        """Host vars of every host: certificates of the old CA."""
        for node in self.cluster.all_nodes:
            cert, key = self._node_files(self.old_ca, "old", node)
            self._set(node, certificate=cert, private_key=key, certificate_authority=self.old_ca_file)

    def _pass(self, label, log):
        """One site.yml run over every host after their vars changed; the role restarts the changed
        nodes one at a time through its gate. None, or what failed."""
        started = time.monotonic()
        run = self.cluster.run()
        seconds = time.monotonic() - started
        if run.returncode != 0:
            return "%s: site.yml failed (rc %s): %s" % (label, run.returncode, run.tail(2500))
        problems = mesh_problems(self.cluster.nodes)
        restarted = run.output.count("TASK [harperdb.cluster.harper_cluster : Start Harper again]")
        self.steps.append({"pass": label, "site.yml s": round(seconds, 1), "mesh right after": problems or "whole",
                           "restart tasks": restarted})
        log("%s: site.yml %.1f s, mesh right after: %s" % (label, seconds, problems or "whole"))
        if problems:
            try:
                wait_until(lambda: mesh_problems(self.cluster.nodes) == [], MESH_TIMEOUT, "every socket connected")
            except AssertionError as exc:
                return "%s: %s; %s" % (label, exc, mesh_problems(self.cluster.nodes))
        return None

    def rotate(self, log):
        """The three passes, each one site.yml run; "ok" or what failed."""
        passes = (
            ("CA bundle old+new", lambda node: self._set(node, certificate_authority=self.bundle_file)),
            ("certificates of the new CA", lambda node: self._set(node, **dict(zip(
                ("certificate", "private_key"), self._node_files(self.new_ca, "new", node))))),
            ("old CA dropped", lambda node: self._set(node, certificate_authority=self.new_ca_file)),
        )
        for label, change in passes:
            for node in self.cluster.nodes:
                change(node)
            problem = self._pass(label, log)
            if problem:
                return problem
        return "ok"
