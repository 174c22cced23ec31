#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: harper_pki
short_description: Make a cluster CA and issue Harper node certificates, or check operator certificates
version_added: 0.1.0
description:
  - Runs where the PKI folder is, normally the controller (delegated to localhost). It talks
    to no Harper node.
  - Without O(certificate), makes the cluster CA in O(path) once (C(ca.pem), and C(ca.key) with
    mode 0600 in a 0700 folder) and, with O(node), that node's certificate and key
    (C(nodes/NODE.pem), C(nodes/NODE.key)). A node certificate is issued again only when it is
    missing, is not signed by the CA, lacks one of O(names), or has fewer than O(renew_days) days
    left; so a rerun changes nothing.
  - Harper's own generated certificates cannot be verified by a strict client and each node has
    its own CA (see the collection's C(docs/security.md)). The certificates made here carry what a
    strict verifier wants (key identifiers, critical basic constraints and key usage, server and
    client authentication, as replication is mutual TLS). The CN is O(common_name); Harper files a
    configured certificate under its CN, so give the node's replication hostname.
  - With O(certificate) (operator PKI), issues nothing and checks that a client trusting
    O(certificate_authority) verifies the certificate by every one of O(names), with at least
    O(min_days) days left; it fails naming the node, each problem and the fix. The CA is kept in
    C(operator/NODE-ca.pem) under O(path), for the controller to verify the node with.
  - No private key is ever returned.
author:
  - Harper cluster collection maintainers (@harperdb)
extends_documentation_fragment:
  - harperdb.cluster.attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be made or issued and writes nothing, except the copy of an operator
      CA (a file the node already holds, kept for the controller, never reported as a change).
  diff_mode:
    support: partial
    details: A node certificate issued (again) shows its subject and names before and after.
options:
  path:
    description:
      - The PKI folder. Keep it between runs (a lost CA key means every node certificate is issued
        again), out of version control, and readable by the controller's user only.
    type: path
    required: true
  node:
    description:
      - The node whose certificate is issued or checked; it names the files. Left out, only the CA
        is made.
    type: str
  common_name:
    description: The CN of an issued certificate. Defaults to O(node).
    type: str
  names:
    description:
      - The DNS names and IP addresses a client reaches the node by, each a subject alternative name
        of the certificate (issued), or required in it (checked). Needed with O(node).
    type: list
    elements: str
    default: []
  renew_days:
    description: A node certificate with fewer days left than this is issued again.
    type: int
    default: 30
  ca_common_name:
    description:
      - The CN of a CA made by this module, followed by the UTC time it is made. Harper files a CA
        under its CN and replaces a CA of the same CN, so an old CA and the one that follows it
        must differ for both to be trusted during a rotation.
    type: str
    default: harperdb.cluster CA
  ca_passphrase:
    description: The passphrase of C(ca.key); a CA made with it has its key encrypted with it.
    type: str
  certificate:
    description:
      - The PEM text of an operator certificate to check instead of issuing one (the node
        certificate first, optionally followed by an intermediate). Needs O(node) and
        O(certificate_authority).
    type: str
  certificate_authority:
    description: The PEM text of the CA (or CAs) that O(certificate) must verify against.
    type: str
  min_days:
    description: The days of validity a checked O(certificate) must have left.
    type: int
    default: 1
"""

EXAMPLES = r"""
- name: The cluster CA and node1's certificate, on the controller
  harperdb.cluster.harper_pki:
    path: "{{ inventory_dir }}/harper-pki/harper"
    node: node1
    common_name: node1.example.com
    names: [node1.example.com, 10.0.0.11]
  delegate_to: localhost
  register: node1_pki

- name: Refuse an operator certificate that would not verify
  harperdb.cluster.harper_pki:
    path: "{{ inventory_dir }}/harper-pki/harper"
    node: node2
    certificate: "{{ lookup('ansible.builtin.file', 'pki/node2.pem') }}"
    certificate_authority: "{{ lookup('ansible.builtin.file', 'pki/ca.pem') }}"
    names: [node2.example.com, 10.0.0.12]
  delegate_to: localhost
"""

RETURN = r"""
ca_path:
  description: The CA file the controller verifies the node with.
  returned: success
  type: str
  sample: /srv/inventory/harper-pki/harper/ca.pem
ca:
  description: The cluster CA's subject, names and end of validity.
  returned: when the CA exists or was made
  type: dict
certificate_path:
  description: The node certificate on the controller.
  returned: with O(node), unless O(certificate) is given
  type: str
  sample: /srv/inventory/harper-pki/harper/nodes/node1.pem
private_key_path:
  description: The node's private key on the controller (mode 0600).
  returned: with O(node), unless O(certificate) is given
  type: str
certificate:
  description: The node certificate's subject, issuer, names and end of validity (what it would be, in check mode).
  returned: with O(node)
  type: dict
  sample:
    subject: CN=node1.example.com
    issuer: CN=harperdb.cluster CA
    names: [node1.example.com, 10.0.0.11]
    not_after: "2027-12-31T12:00:00+00:00"
issued:
  description: Whether the node certificate was issued (or would be, in check mode).
  returned: always
  type: bool
reasons:
  description: Why the CA was made or the certificate issued.
  returned: always
  type: list
  elements: str
  sample: ["node1: it does not name 10.0.0.11 (it names node1.example.com)"]
operations:
  description: Harper operations sent; always empty, the module talks to no node.
  returned: always
  type: list
  elements: dict
  sample: []
"""

from ansible_collections.harperdb.cluster.plugins.module_utils._harper_pki import PKIModule


def main():
    PKIModule().execute()


if __name__ == "__main__":
    main()
