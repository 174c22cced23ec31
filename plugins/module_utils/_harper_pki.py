# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harper_pki module: the cluster CA and node certificates, in a folder of the controller.

Internal to the harperdb.cluster collection: it may change in any release.

Two jobs, one per call:
- issue (no certificate given): make the CA once (ca.pem, ca.key), and with node, that node's
  certificate and key (nodes/NODE.pem, nodes/NODE.key), issued again only when needs_issue says;
- check (certificate given, operator PKI): refuse a certificate that a client trusting the given
  CA could not verify by every name, before the role writes anything; keep that CA in
  operator/NODE-ca.pem for the controller to verify the node with.
Files are written whole (a temporary file renamed), keys 0600 in a 0700 folder; no key is ever
returned.
"""

import datetime
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.harperdb.cluster.plugins.module_utils import _pki
from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperError


def argument_spec():
    return dict(
        path=dict(type="path", required=True),
        node=dict(type="str"),
        common_name=dict(type="str"),
        names=dict(type="list", elements="str", default=[]),
        renew_days=dict(type="int", default=_pki.RENEW_DAYS),
        ca_common_name=dict(type="str", default="harperdb.cluster CA"),
        ca_passphrase=dict(type="str", no_log=True),
        # Not secret, but an AWX credential hands the CA in as a file it keeps out of the job's
        # output: neither is shown in the task's arguments.
        certificate=dict(type="str", no_log=True),
        certificate_authority=dict(type="str", no_log=True),
        min_days=dict(type="int", default=1),
    )


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write(path, text, mode):
    """path holds text, mode set, written whole; False when it already did."""
    if _read(path) == text and (os.stat(path).st_mode & 0o777) == mode:
        return False
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".harper_pki.")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return True


def _summary(certificate_pem):
    certificate = _pki.load_certificates(certificate_pem)[0]
    return {"subject": certificate.subject.rfc4514_string(),
            "issuer": certificate.issuer.rfc4514_string(),
            "names": [str(value) for _kind, value in _pki.certificate_names(certificate)],
            "not_after": _pki.validity(certificate)[1].isoformat()}


class PKIModule:
    """The harper_pki module: see the module documentation."""

    def __init__(self):
        self.module = AnsibleModule(
            argument_spec=argument_spec(),
            supports_check_mode=True,
            required_together=[("certificate", "certificate_authority")],
            required_by={"certificate": ("node",)},
        )
        self.params = self.module.params
        self.folder = self.params["path"]
        self.result = {"changed": False, "operations": [], "issued": False, "reasons": []}

    def fail(self, msg):
        self.module.fail_json(msg=msg, **self.result)

    def execute(self):
        try:
            if self.params["certificate"] is not None:
                self.check_operator()
            else:
                self.ensure_ca()
                if self.params["node"]:
                    self.ensure_node()
        except HarperError as exc:
            self.fail(exc.message)
        except OSError as exc:
            self.fail("Cannot write the PKI folder %s on the controller (%s): give harper_pki a path "
                      "(harper_cluster_pki_dir) the controller's user may write." % (self.folder, exc))
        self.module.exit_json(**self.result)

    # The cluster CA and its certificates.

    def ensure_ca(self):
        ca_path = os.path.join(self.folder, "ca.pem")
        key_path = os.path.join(self.folder, "ca.key")
        self.result["ca_path"] = ca_path
        certificate, key = _read(ca_path), _read(key_path)
        if certificate is not None and key is not None:
            _pki.load_ca(certificate, key, self.params["ca_passphrase"])
            self.ca = (certificate, key)
            self.result["ca"] = _summary(certificate)
            return
        if certificate is not None or key is not None:
            raise _pki.PKIError(
                "The cluster CA in %s is incomplete (%s is missing): restore it, or remove %s and %s "
                "to make a new CA (every node certificate is then issued again, and each node "
                "restarted)." % (self.folder, "ca.key" if key is None else "ca.pem", ca_path, key_path))
        self.result["changed"] = True
        self.result["reasons"].append("no cluster CA in %s yet: one is made" % self.folder)
        if self.module.check_mode:
            self.ca = None
            return
        # Harper files a CA under its CN, and a CA of the same CN replaces the row of the one before:
        # the time it was made keeps an old CA and its successor apart during a rotation.
        name = "%s %s" % (self.params["ca_common_name"],
                          datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
        certificate, key = _pki.make_ca(name, passphrase=self.params["ca_passphrase"])
        # The key first: a CA certificate without its key would refuse every later run.
        _write(key_path, key, 0o600)
        _write(ca_path, certificate, 0o644)
        self.ca = (certificate, key)
        self.result["ca"] = _summary(certificate)

    def ensure_node(self):
        node = self.params["node"]
        names = self.params["names"]
        if not names:
            raise _pki.PKIError("harper_pki: names is empty for %s: give the names a client reaches "
                                "it by (its replication hostname and address)." % node)
        for name in names:
            _pki.parse_name(name)
        cert_path = os.path.join(self.folder, "nodes", "%s.pem" % node)
        key_path = os.path.join(self.folder, "nodes", "%s.key" % node)
        self.result.update(certificate_path=cert_path, private_key_path=key_path)
        current = _read(cert_path)
        before = _summary(current) if current else None
        if self.ca is None:
            reasons = ["the cluster CA is made in this run"]
        elif current is None or _read(key_path) is None:
            reasons = ["%s has no certificate yet" % node]
        else:
            try:
                reasons = _pki.certificate_problems(current, self.ca[0], names,
                                                    min_days=self.params["renew_days"])
            except _pki.PKIError as exc:
                reasons = [exc.message]
        if not reasons:
            self.result["certificate"] = before
            return
        self.result.update(changed=True, issued=True)
        self.result["reasons"].extend("%s: %s" % (node, reason) for reason in reasons)
        wanted = {"subject": "CN=%s" % (self.params["common_name"] or node), "names": list(names)}
        if self.module._diff:
            self.result["diff"] = {"before": before or {}, "after": wanted}
        if self.module.check_mode:
            self.result["certificate"] = wanted
            return
        certificate, key = _pki.issue(self.ca[0], self.ca[1], self.params["common_name"] or node, names,
                                      ca_passphrase=self.params["ca_passphrase"])
        _write(key_path, key, 0o600)
        _write(cert_path, certificate, 0o644)
        self.result["certificate"] = _summary(certificate)

    # Operator PKI: checked, never issued.

    def check_operator(self):
        node = self.params["node"]
        problems = _pki.certificate_problems(self.params["certificate"], self.params["certificate_authority"],
                                             self.params["names"], min_days=self.params["min_days"])
        if problems:
            raise _pki.PKIError(
                "%s: its certificate (harper_cluster_tls_certificate) cannot be verified with its CA "
                "(harper_cluster_tls_certificate_authority): %s. Issue it again from that CA for %s, "
                "valid for more than %d day(s), and rerun."
                % (node, "; ".join(problems), ", ".join(self.params["names"]), self.params["min_days"]))
        self.result["certificate"] = _summary(self.params["certificate"])
        # A copy of a file the node already has, for the controller to verify it with: written in
        # check mode too, and never a change (the role reports the node's own files).
        ca_path = os.path.join(self.folder, "operator", "%s-ca.pem" % node)
        self.result["ca_path"] = ca_path
        _write(ca_path, self.params["certificate_authority"], 0o644)
