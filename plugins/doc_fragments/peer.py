# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """The options that describe one peer, documented once for harper_node and harper_cluster.

    DOCUMENTATION holds them as top-level options (harper_node); CONNECTIONS, built from it below,
    holds harper_cluster's connections option with the same options as its suboptions.
    tests/unit/plugins/doc_fragments/test_fragments.py fails when they differ from
    peer_argument_spec() in plugins/module_utils/_peers.py, which is paired with this fragment:
    change them together.
    """

    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - The peer's node name, as Harper records it; that is the peer's own C(replication.hostname),
        whatever host its url names.
      - At least one of O(hostname) and O(url) is required. With only O(url), the peer is
        found by its stored url, and otherwise by the url's host.
    type: str
    aliases: [name]
  url:
    description:
      - The peer's replication URL, for example C(wss://node2.example.com:9933).
      - Without it Harper builds the url from O(hostname) and the replication port of the node at
        O(api_url); give it whenever the peer uses another port or its name does not resolve.
    type: str
  verify_tls:
    description:
      - Whether the node verifies the peer's TLS certificate during the first handshake. The
        node must trust the CA that signed the peer's certificate (its C(tls.certificateAuthority),
        as the harper_cluster role's cluster CA sets, or a CA added with C(add_certificate)).
      - V(false) accepts any certificate (peers with Harper's default self-signed certificates);
        the module then warns, naming the peer.
      - Used when the peer is added or updated; it is not stored, so it is never compared.
    type: bool
    default: true
  authorization:
    description:
      - Credentials of a super_user on the peer for the first handshake, as a dict with the keys
        C(username) and C(password), or a string in HTTP Authorization form such as C(Basic ...).
      - Used when the peer is added or updated; never compared, never returned.
    type: raw
  retain_authorization:
    description:
      - Whether Harper stores O(authorization) on the peer record and uses it for every
        connection. Harper stores it in plain text; certificate trust, the default, is safer.
    type: bool
  revoked_certificates:
    description:
      - Serial numbers of certificates the node must no longer accept from the peer.
      - Added to those already stored.
      - Needs Harper 4.7.0 or later on the node written to; with an older one (4.4 answers 200 and
        stores none) the task fails before any write.
    type: list
    elements: str
  shard:
    description:
      - The shard the peer belongs to.
      - Needs Harper 4.7.0 or later on the node written to; with an older one (4.4 answers 200 and
        stores no shard) the task fails before any write.
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


# harper_cluster's connections option, with the options above as its suboptions. A fragment adds
# only top-level options, and ansible-test's yamllint reads the class body as plain strings, so this
# one is built here, after the class: the text above indented under `suboptions:`, each O(...) of a
# peer option written O(connections[]....).
_CONNECTIONS_HEAD = r"""
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
"""


def _under_connections(documentation):
    options = documentation.split("options:\n", 1)[1]
    options = options.replace("O(", "O(connections[].").replace("O(connections[].api_url)", "O(api_url)")
    return _CONNECTIONS_HEAD + "".join("      " + line if line.strip() else line
                                       for line in options.splitlines(True))


ModuleDocFragment.CONNECTIONS = _under_connections(ModuleDocFragment.DOCUMENTATION)
