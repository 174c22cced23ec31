# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster CA and its node certificates: what they contain, and that a strict TLS client
verifies them (a handshake in memory, Python's ssl with VERIFY_X509_STRICT, no network)."""

import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.harperdb.cluster.plugins.module_utils._pki import (
    PKIError,
    certificate_names,
    certificate_problems,
    issue,
    load_ca,
    load_certificates,
    make_ca,
    needs_issue,
    parse_name,
    validity,
)

NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
NAMES = ["harper-1", "10.0.0.2", "Harper-1.Example.COM."]


@pytest.fixture(scope="module")
def ca():
    return make_ca("test cluster CA", now=NOW)


@pytest.fixture(scope="module")
def other_ca():
    return make_ca("another CA", now=NOW)


@pytest.fixture(scope="module")
def live_ca():
    """A CA valid now: a handshake checks validity against the real clock."""
    return make_ca("live CA")


@pytest.fixture(scope="module")
def node(ca):
    return issue(ca[0], ca[1], "harper-1", NAMES, now=NOW)


def _ext(certificate, kind):
    return certificate.extensions.get_extension_for_class(kind)


def test_the_ca_is_a_ca_for_strict_verifiers(ca):
    certificate = load_certificates(ca[0])[0]
    constraints = _ext(certificate, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = _ext(certificate, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    identifier = _ext(certificate, x509.SubjectKeyIdentifier).value.digest
    assert _ext(certificate, x509.AuthorityKeyIdentifier).value.key_identifier == identifier
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    before, after = validity(certificate)
    assert before < NOW and after - NOW == datetime.timedelta(days=3650)
    assert certificate.issuer == certificate.subject
    assert "ENCRYPTED" not in ca[1] and "PRIVATE KEY" in ca[1]


def test_a_node_certificate_names_every_address_once(node, ca):
    chain = load_certificates(node[0])
    assert len(chain) == 1  # Harper appends tls.certificateAuthority itself
    leaf = chain[0]
    assert certificate_names(leaf) == [("dns", "harper-1"), ("dns", "harper-1.example.com"),
                                       ("ip", ipaddress.ip_address("10.0.0.2"))]
    again = issue(ca[0], ca[1], "harper-1", ["harper-1", "HARPER-1", "10.0.0.2"], now=NOW)[0]
    assert certificate_names(load_certificates(again)[0]) == [
        ("dns", "harper-1"), ("ip", ipaddress.ip_address("10.0.0.2"))]


def test_a_node_certificate_is_a_server_and_client_certificate(node, ca):
    leaf = load_certificates(node[0])[0]
    constraints = _ext(leaf, x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = _ext(leaf, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert list(_ext(leaf, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    ca_identifier = _ext(load_certificates(ca[0])[0], x509.SubjectKeyIdentifier).value.digest
    assert _ext(leaf, x509.AuthorityKeyIdentifier).value.key_identifier == ca_identifier
    assert _ext(leaf, x509.SubjectKeyIdentifier).value.digest != ca_identifier
    before, after = validity(leaf)
    assert before < NOW and after - NOW == datetime.timedelta(days=397)
    assert leaf.subject.rfc4514_string() == "CN=harper-1"


def test_a_node_certificate_ends_with_its_ca():
    short = make_ca(days=10, now=NOW)
    leaf = load_certificates(issue(short[0], short[1], "n", ["n"], now=NOW)[0])[0]
    assert validity(leaf)[1] == validity(load_certificates(short[0])[0])[1]
    with pytest.raises(PKIError, match="The cluster CA .* expired on 2030-01-11"):
        issue(short[0], short[1], "n", ["n"], now=NOW + datetime.timedelta(days=11))


def _handshake(server_context, client_context, server_hostname):
    """A TLS handshake between two contexts through memory buffers; the client's view of the
    server's certificate, or the first side's SSLError."""
    client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _bio in range(4))
    client = client_context.wrap_bio(client_in, client_out, server_hostname=server_hostname)
    server = server_context.wrap_bio(server_in, server_out, server_side=True)
    finished = {}
    for _round in range(20):
        for name, side, out, peer in (("client", client, client_out, server_in),
                                      ("server", server, server_out, client_in)):
            if name not in finished:
                try:
                    side.do_handshake()
                    finished[name] = True
                except ssl.SSLWantReadError:
                    pass
            data = out.read()
            if data:
                peer.write(data)
        if len(finished) == 2:
            return client.getpeercert()
    raise AssertionError("the handshake did not finish")


def _files(tmp_path, node, ca, trusted=None):
    """The files a node serves from (its certificate then its CA, as Harper serves them, and its
    key) and the CA file of the client (trusted, by default the node's CA)."""
    paths = {name: tmp_path / name for name in ("chain.pem", "node.key", "ca.pem")}
    paths["chain.pem"].write_text(node[0] + ca[0])
    paths["node.key"].write_text(node[1])
    paths["ca.pem"].write_text((trusted or ca)[0])
    return {name: str(path) for name, path in paths.items()}


def _strict_client(cafile):
    context = ssl.create_default_context(cafile=cafile)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def _now_issued(ca):
    return issue(ca[0], ca[1], "harper-1", ["harper-1", "10.0.0.2", "harper-1.example.com"])


@pytest.mark.parametrize("server_hostname", ["harper-1", "10.0.0.2", "HARPER-1.example.com"])
def test_a_strict_client_verifies_it_by_each_name_with_mutual_tls(tmp_path, live_ca, server_hostname):
    files = _files(tmp_path, _now_issued(live_ca), live_ca)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files["chain.pem"], files["node.key"])
    server.verify_mode = ssl.CERT_REQUIRED  # replication is mutual TLS: the client shows one too
    server.load_verify_locations(files["ca.pem"])
    client = _strict_client(files["ca.pem"])
    client.load_cert_chain(files["chain.pem"], files["node.key"])
    seen = _handshake(server, client, server_hostname)
    assert dict(item[0] for item in seen["subject"])["commonName"] == "harper-1"


@pytest.mark.parametrize("server_hostname, message", [
    ("harper-2", "Hostname mismatch"),
    ("10.0.0.3", "IP address mismatch"),
])
def test_a_strict_client_refuses_another_name(tmp_path, live_ca, server_hostname, message):
    files = _files(tmp_path, _now_issued(live_ca), live_ca)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files["chain.pem"], files["node.key"])
    with pytest.raises(ssl.SSLCertVerificationError, match=message):
        _handshake(server, _strict_client(files["ca.pem"]), server_hostname)


def test_a_strict_client_refuses_another_ca(tmp_path, live_ca, other_ca):
    files = _files(tmp_path, _now_issued(live_ca), live_ca, trusted=other_ca)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files["chain.pem"], files["node.key"])
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed: self-signed certificate in certificate chain"):
        _handshake(server, _strict_client(files["ca.pem"]), "harper-1")


def test_no_problem_with_a_fresh_certificate(node, ca):
    assert certificate_problems(node[0], ca[0], NAMES, now=NOW, min_days=30) == []
    assert not needs_issue(node[0], ca[0], NAMES, now=NOW)


def test_the_problems_of_a_certificate(node, ca, other_ca):
    later = NOW + datetime.timedelta(days=400)
    assert certificate_problems(node[0], ca[0], NAMES, now=later) == [
        "it expired on %s" % validity(load_certificates(node[0])[0])[1].isoformat()]
    assert certificate_problems(node[0], ca[0], NAMES, now=NOW - datetime.timedelta(days=1))[0].startswith(
        "it is not valid before 2029-12-31T23:55:00+00:00")
    assert certificate_problems(node[0], ca[0], NAMES, now=NOW + datetime.timedelta(days=380), min_days=30) == [
        "it expires on 2031-02-02T00:00:00+00:00, in less than 30 days"]
    assert certificate_problems(node[0], other_ca[0], NAMES, now=NOW) == [
        "it is not signed by the CA given (issuer CN=test cluster CA; CA CN=another CA)"]
    assert certificate_problems(node[0], ca[0], ["harper-1", "10.0.0.9", "harper-2"], now=NOW) == [
        "it does not name 10.0.0.9, harper-2 (it names harper-1, harper-1.example.com, 10.0.0.2)"]
    assert certificate_problems(ca[0], ca[0], [], now=NOW) == [
        "it is a CA certificate (CA:TRUE), not a server certificate"]


def test_a_wildcard_covers_one_label(ca):
    wild = issue(ca[0], ca[1], "wild", ["*.example.com"], now=NOW)[0]
    assert certificate_problems(wild, ca[0], ["a.example.com"], now=NOW) == []
    assert certificate_problems(wild, ca[0], ["example.com", "a.b.example.com"], now=NOW) == [
        "it does not name example.com, a.b.example.com (it names *.example.com)"]


@pytest.mark.parametrize("when, names, expected", [
    (NOW, NAMES, False),
    (NOW, NAMES[:1], False),
    (NOW, NAMES + ["10.0.0.4"], True),
    (NOW + datetime.timedelta(days=370), NAMES, True),
])
def test_needs_issue(node, ca, when, names, expected):
    assert needs_issue(node[0], ca[0], names, now=when) is expected


def test_needs_issue_without_a_certificate_or_from_another_ca(node, ca, other_ca):
    assert needs_issue("", ca[0], NAMES, now=NOW)
    assert needs_issue("not a certificate", ca[0], NAMES, now=NOW)
    assert needs_issue(node[0], other_ca[0], NAMES, now=NOW)


def test_a_ca_key_with_a_passphrase():
    certificate, key = make_ca(now=NOW, passphrase="s3cret-pass")
    assert "ENCRYPTED PRIVATE KEY" in key
    assert load_ca(certificate, key, "s3cret-pass")[0].subject.rfc4514_string() == "CN=harperdb.cluster CA"
    for wrong in (None, "wrong"):
        with pytest.raises(PKIError, match="the passphrase is wrong or missing") as caught:
            load_ca(certificate, key, wrong)
        assert "s3cret" not in caught.value.message


def test_a_ca_whose_key_is_not_its_own(ca, other_ca):
    with pytest.raises(PKIError) as caught:
        issue(ca[0], other_ca[1], "n", ["n"], now=NOW)
    assert caught.value.message == (
        "The cluster CA key does not belong to its certificate (the certificate of CN=test "
        "cluster CA): restore the matching key, or remove the CA folder to make a new CA (every "
        "node certificate is then issued again).")
    for line in other_ca[1].splitlines()[1:-1]:
        assert line not in caught.value.message


def test_a_node_certificate_is_no_ca(node, ca):
    leaf_key = node[1]
    with pytest.raises(PKIError, match=r"CN=harper-1 is not a CA certificate"):
        issue(node[0], leaf_key, "n", ["n"], now=NOW)


@pytest.mark.parametrize("name, parsed", [
    ("10.0.0.2", ("ip", ipaddress.ip_address("10.0.0.2"))),
    ("[fd00::1]", ("ip", ipaddress.ip_address("fd00::1"))),
    ("Node_1.Example.", ("dns", "node_1.example")),
    ("*.example.com", ("dns", "*.example.com")),
    ("xn--bcher-kva.example", ("dns", "xn--bcher-kva.example")),
])
def test_parse_name(name, parsed):
    assert parse_name(name) == parsed


@pytest.mark.parametrize("name", ["", "bücher.example", "a b", "-a.example", "a..b", "*.com", "x" * 64])
def test_parse_name_refuses(name):
    with pytest.raises(PKIError, match="is neither an IP address nor a DNS name"):
        parse_name(name)


def test_no_names_no_certificate(ca):
    with pytest.raises(PKIError, match="needs at least one name"):
        issue(ca[0], ca[1], "n", [], now=NOW)


def test_no_certificate_in_the_text():
    with pytest.raises(PKIError, match="No PEM certificate found"):
        load_certificates("hello")
