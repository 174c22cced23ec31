# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster CA: make it, issue node certificates from it, check a certificate.

Internal to the harperdb.cluster collection: it may change in any release.

Harper's generated certificates cannot be verified by default (docs/security.md): each node
has its own CA whose key is the node key, the names are only the replication hostname and
address, and the node certificate has no authority key identifier, which the strict mode of
Python 3.13's default TLS context refuses. A CA made here and the certificates it issues carry
what a strict verifier wants: key identifiers, basic constraints and key usage marked
critical, server and client auth (replication is mutual TLS).

Everything is PEM text in and out (str); nothing here reads or writes a file, and no key
appears in an error. cryptography (a dependency of ansible-core) is imported when first used.
"""

import datetime
import ipaddress
import re
import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperError

CA_DAYS = 3650
NODE_DAYS = 397
RENEW_DAYS = 30
# Issued a little in the past, so a node whose clock lags the controller's accepts them.
BACKDATE = datetime.timedelta(minutes=5)
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


class PKIError(HarperError):
    """A CA or certificate that cannot be used, with what to do about it."""


def _crypto():
    """The cryptography names used here, imported on first use."""
    try:
        # pylint: disable=import-outside-toplevel
        from cryptography import x509
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        error = PKIError(missing_required_lib("cryptography"))
        error.exception = traceback.format_exc()
        raise error
    return {"x509": x509, "InvalidSignature": InvalidSignature, "hashes": hashes,
            "serialization": serialization, "ec": ec, "padding": padding, "rsa": rsa,
            "ExtendedKeyUsageOID": ExtendedKeyUsageOID, "NameOID": NameOID}


def _now(now):
    return now if now is not None else datetime.datetime.now(datetime.timezone.utc)


def _utc(value):
    """A naive datetime of cryptography before 42 is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def validity(certificate):
    """(not before, not after) of a loaded certificate, as aware UTC datetimes."""
    before = getattr(certificate, "not_valid_before_utc", None) or _utc(certificate.not_valid_before)
    after = getattr(certificate, "not_valid_after_utc", None) or _utc(certificate.not_valid_after)
    return before, after


def parse_name(name):
    """("ip", ip_address) or ("dns", lower-case name) for one SAN; PKIError when it is neither."""
    text = str(name).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return "ip", ipaddress.ip_address(text)
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    wildcard = labels[0] == "*" and len(labels) > 2
    if text and len(text) <= 253 and all(_DNS_LABEL.match(label) for label in labels[1 if wildcard else 0:]):
        return "dns", text.rstrip(".").lower()
    raise PKIError("%r is neither an IP address nor a DNS name a certificate can hold: give "
                   "host names in ASCII (an internationalized name in its xn-- form)." % (name,))


def _general_names(names):
    c = _crypto()
    result, seen = [], set()
    for name in names:
        kind, value = parse_name(name)
        if (kind, value) in seen:
            continue
        seen.add((kind, value))
        result.append(c["x509"].IPAddress(value) if kind == "ip" else c["x509"].DNSName(value))
    if not result:
        raise PKIError("A node certificate needs at least one name: its replication hostname "
                       "or the address the controller reaches it at.")
    return result


def _subject(common_name):
    c = _crypto()
    return c["x509"].Name([c["x509"].NameAttribute(c["NameOID"].COMMON_NAME, common_name[:64])])


def _key_pem(key, passphrase=None):
    s = _crypto()["serialization"]
    encryption = s.BestAvailableEncryption(passphrase.encode()) if passphrase else s.NoEncryption()
    return key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, encryption).decode()


def _cert_pem(certificate):
    return certificate.public_bytes(_crypto()["serialization"].Encoding.PEM).decode()


def _key_usage(c, **set_true):
    flags = dict(digital_signature=False, content_commitment=False, key_encipherment=False,
                 data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                 encipher_only=False, decipher_only=False)
    flags.update(set_true)
    return c["x509"].KeyUsage(**flags)


def make_ca(common_name="harperdb.cluster CA", days=CA_DAYS, now=None, passphrase=None):
    """A new cluster CA: (certificate PEM, private key PEM). EC P-256, CA:TRUE with path
    length 0 (it signs node certificates only), key identifiers for strict verifiers."""
    c = _crypto()
    x509 = c["x509"]
    key = c["ec"].generate_private_key(c["ec"].SECP256R1())
    start = _now(now) - BACKDATE
    name = _subject(common_name)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + BACKDATE + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(c, key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, c["hashes"].SHA256()))
    return _cert_pem(certificate), _key_pem(key, passphrase)


def load_ca(certificate_pem, key_pem, passphrase=None):
    """(certificate, key) of a cluster CA, checked: a CA certificate whose key is the one
    given. PKIError names what is wrong, never the key."""
    c = _crypto()
    s = c["serialization"]
    try:
        certificate = c["x509"].load_pem_x509_certificate(certificate_pem.encode())
    except ValueError as exc:
        raise PKIError("The cluster CA certificate is not a PEM certificate (%s): restore it, or "
                       "remove the CA folder to make a new CA." % exc)
    try:
        key = s.load_pem_private_key(key_pem.encode(), passphrase.encode() if passphrase else None)
    except (ValueError, TypeError):
        raise PKIError("The cluster CA key cannot be read: it is not a PEM private key, or the "
                       "passphrase is wrong or missing. Give the passphrase it was made with.")
    if _public_bytes(key.public_key()) != _public_bytes(certificate.public_key()):
        raise PKIError("The cluster CA key does not belong to its certificate (%s): restore the "
                       "matching key, or remove the CA folder to make a new CA (every node "
                       "certificate is then issued again)." % _describe(certificate))
    constraints = _extension(certificate, c["x509"].BasicConstraints)
    if constraints is None or not constraints.ca:
        raise PKIError("%s is not a CA certificate (no basic constraints CA:TRUE): give a CA."
                       % _describe(certificate))
    return certificate, key


def _public_bytes(public_key):
    s = _crypto()["serialization"]
    return public_key.public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)


def _extension(certificate, kind):
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except _crypto()["x509"].ExtensionNotFound:
        return None


def _describe(certificate):
    return "the certificate of %s" % certificate.subject.rfc4514_string()


def issue(ca_certificate_pem, ca_key_pem, common_name, names, days=NODE_DAYS, now=None,
          ca_passphrase=None):
    """A node certificate of the cluster CA for names (DNS names and IP addresses, as strings):
    (certificate PEM, private key PEM). The certificate comes alone: Harper appends its
    tls.certificateAuthority to what tls.certificate holds, so a chain file would serve the CA
    twice (docs/security.md).

    The key is EC P-256; key usage digitalSignature; server and client auth (the replication
    port is mutual TLS); subject and authority key identifiers. It ends no later than the CA."""
    c = _crypto()
    x509 = c["x509"]
    ca_certificate, ca_key = load_ca(ca_certificate_pem, ca_key_pem, ca_passphrase)
    general_names = _general_names(names)
    key = c["ec"].generate_private_key(c["ec"].SECP256R1())
    start = _now(now) - BACKDATE
    end = min(start + BACKDATE + datetime.timedelta(days=days), validity(ca_certificate)[1])
    if end <= _now(now):
        raise PKIError("The cluster CA (%s) expired on %s: make a new CA (remove the CA folder), "
                       "then every node certificate is issued again."
                       % (_describe(ca_certificate), validity(ca_certificate)[1].isoformat()))
    ca_identifier = _extension(ca_certificate, x509.SubjectKeyIdentifier)
    authority = (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_identifier)
                 if ca_identifier is not None
                 else x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()))
    certificate = (
        x509.CertificateBuilder().subject_name(_subject(common_name))
        .issuer_name(ca_certificate.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(general_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(c, digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([c["ExtendedKeyUsageOID"].SERVER_AUTH,
                                              c["ExtendedKeyUsageOID"].CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(authority, critical=False)
        .sign(ca_key, c["hashes"].SHA256()))
    return _cert_pem(certificate), _key_pem(key)


def certificate_names(certificate):
    """The SANs of a loaded certificate as (kind, value) pairs, as parse_name returns them."""
    x509 = _crypto()["x509"]
    san = _extension(certificate, x509.SubjectAlternativeName)
    if san is None:
        return []
    return ([("dns", value.lower()) for value in san.get_values_for_type(x509.DNSName)]
            + [("ip", value) for value in san.get_values_for_type(x509.IPAddress)])


def _covers(held, wanted):
    kind, value = wanted
    if wanted in held:
        return True
    if kind != "dns":
        return False
    first, _sep, rest = value.partition(".")
    return bool(rest) and ("dns", "*." + rest) in held and first != ""


def _signed_by(certificate, ca_certificate):
    c = _crypto()
    if certificate.issuer != ca_certificate.subject:
        return False
    public = ca_certificate.public_key()
    try:
        if isinstance(public, c["rsa"].RSAPublicKey):
            public.verify(certificate.signature, certificate.tbs_certificate_bytes,
                          c["padding"].PKCS1v15(), certificate.signature_hash_algorithm)
        elif isinstance(public, c["ec"].EllipticCurvePublicKey):
            public.verify(certificate.signature, certificate.tbs_certificate_bytes,
                          c["ec"].ECDSA(certificate.signature_hash_algorithm))
        else:
            public.verify(certificate.signature, certificate.tbs_certificate_bytes)
    except c["InvalidSignature"]:
        return False
    return True


def load_certificates(pem):
    """Every certificate of a PEM text, in order; PKIError when there is none."""
    x509 = _crypto()["x509"]
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem or "", re.S)
    try:
        certificates = [x509.load_pem_x509_certificate(block.encode()) for block in blocks]
    except ValueError as exc:
        raise PKIError("A certificate does not load (%s): give PEM certificates." % exc)
    if not certificates:
        raise PKIError("No PEM certificate found: give a file holding -----BEGIN CERTIFICATE----- blocks.")
    return certificates


def certificate_problems(certificate_pem, ca_pem, names, now=None, min_days=0):
    """What keeps the first certificate of certificate_pem from being verified by a client that
    trusts the CAs of ca_pem and connects by each of names: a list of sentences, empty when
    there is nothing. The chain is checked one step (the certificate signed directly by a CA
    of ca_pem, or by an intermediate that follows it in certificate_pem and is signed by one);
    min_days asks for that many days of validity left."""
    x509 = _crypto()["x509"]
    chain = load_certificates(certificate_pem)
    authorities = load_certificates(ca_pem)
    leaf = chain[0]
    problems = []
    moment = _now(now)
    before, after = validity(leaf)
    if moment < before:
        problems.append("it is not valid before %s (check the clock of the controller and of the node)"
                        % before.isoformat())
    elif moment >= after:
        problems.append("it expired on %s" % after.isoformat())
    elif after - moment < datetime.timedelta(days=min_days):
        problems.append("it expires on %s, in less than %d days" % (after.isoformat(), min_days))
    if not any(_signed_by(leaf, ca) for ca in authorities) and not any(
            _signed_by(leaf, middle) and any(_signed_by(middle, ca) for ca in authorities)
            for middle in chain[1:]):
        problems.append("it is not signed by the CA given (issuer %s; CA %s)" % (
            leaf.issuer.rfc4514_string(), ", ".join(ca.subject.rfc4514_string() for ca in authorities)))
    held = certificate_names(leaf)
    missing = [name for name in names if not _covers(held, parse_name(name))]
    if missing:
        problems.append("it does not name %s (it names %s)" % (
            ", ".join(str(name) for name in missing),
            ", ".join(str(value) for _kind, value in held) or "nothing: no subject alternative names"))
    constraints = _extension(leaf, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        problems.append("it is a CA certificate (CA:TRUE), not a server certificate")
    return problems


def needs_issue(certificate_pem, ca_pem, names, now=None, renew_days=RENEW_DAYS):
    """Whether a node certificate of the cluster CA must be issued (again): none yet, not
    signed by this CA, a name missing, or fewer than renew_days days left. A rerun with
    nothing changed issues nothing."""
    if not certificate_pem:
        return True
    try:
        return bool(certificate_problems(certificate_pem, ca_pem, names, now=now, min_days=renew_days))
    except PKIError:
        return True
