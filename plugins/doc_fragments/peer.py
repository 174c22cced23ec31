# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# The options that describe one peer, written once. They are the options of harper_node and the
# suboptions of harper_cluster's connections. A fragment only adds top-level options, so the
# CONNECTIONS part is built from the same text, indented under connections.suboptions and with
# every O(...) reference to a peer option pointing at connections[].
# Paired with peer_argument_spec() in plugins/module_utils/_peers.py: change both together.
_PEER_OPTIONS = r"""hostname:
  description:
    - The peer's node name, as Harper records it; that is the peer's own C(replication.hostname),
      whatever host its url names.
    - At least one of O({p}hostname) and O({p}url) is required. With only O({p}url), the peer is
      found by its stored url, and otherwise by the url's host.
  type: str
  aliases: [name]
url:
  description:
    - The peer's replication URL, for example C(wss://node2.example.com:9933).
    - Without it Harper builds the url from O({p}hostname) and the replication port of the node at
      O(api_url); give it whenever the peer uses another port or its name does not resolve.
  type: str
verify_tls:
  description:
    - Whether the node verifies the peer's TLS certificate during the first handshake. Set to
      V(false) for peers with Harper's default self-signed certificates.
    - Used when the peer is added or updated; it is not stored, so it is never compared.
  type: bool
authorization:
  description:
    - Credentials of a super_user on the peer for the first handshake, as a dict with the keys
      C(username) and C(password), or a string in HTTP Authorization form such as C(Basic ...).
    - Used when the peer is added or updated; never compared, never returned.
  type: raw
retain_authorization:
  description:
    - Whether Harper stores O({p}authorization) on the peer record and uses it for every
      connection. Harper stores it in plain text; certificate trust, the default, is safer.
  type: bool
revoked_certificates:
  description:
    - Serial numbers of certificates the node must no longer accept from the peer.
    - Added to those already stored.
  type: list
  elements: str
shard:
  description:
    - The shard the peer belongs to.
  type: int
subscriptions:
  description:
    - What to replicate with the peer. Without subscriptions the node replicates every database
      with the peer.
    - Each entry is a dict with the fields C(database) (or its legacy name C(schema)), C(table),
      C(subscribe) (bool, receive the peer's changes) and C(publish) (bool, send the node's
      changes). All are required, and no other field is accepted.
    - Merged by database and table with the stored subscriptions.
  type: list
  elements: dict
"""


def _indent(text, spaces):
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


class ModuleDocFragment:
    """The options of one peer: top-level for harper_node, under connections for harper_cluster."""

    DOCUMENTATION = "options:\n" + _indent(_PEER_OPTIONS.format(p=""), 2)

    CONNECTIONS = r"""
options:
  connections:
    description:
      - The peers the node must have. Each entry takes the options of
        M(harperdb.cluster.harper_node) that describe a peer.
      - Each peer may be listed once. An entry naming the node at O(api_url) is refused.
      - An empty list with O(purge=true) removes every peer.
    type: list
    elements: dict
    required: true
    suboptions:
""" + _indent(_PEER_OPTIONS.format(p="connections[]."), 6)
