# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

class ModuleDocFragment:
    """Connection options shared by every module of the collection.

    DOCUMENTATION holds what every module takes (for harper_mesh, each member's defaults);
    API_URL the address of the one node a single-node module talks to.
    """

    DOCUMENTATION = r"""
options:
  username:
    description:
      - Name of a Harper user with the C(super_user) role, sent with HTTP basic authentication.
      - If not set, the value of the E(HARPER_USERNAME) environment variable is used.
      - Leave unset together with O(password) to use O(token), or on a node in dev mode, which
        trusts local callers.
    type: str
  password:
    description:
      - Password of O(username).
      - If not set, the value of the E(HARPER_PASSWORD) environment variable is used.
    type: str
  token:
    description:
      - An operation token (from Harper's C(create_authentication_tokens)), sent as a Bearer token
        instead of O(username) and O(password).
      - If not set, the value of the E(HARPER_TOKEN) environment variable is used.
    type: str
  validate_certs:
    description:
      - Whether to verify the TLS certificate of the operations API.
      - V(false) (without O(ca_path)) sends the credentials to a node whose certificate is not
        checked, and the module warns naming it; prefer O(ca_path).
      - If not set, the value of the E(HARPER_VALIDATE_CERTS) environment variable is used.
      - Every result carries C(tls), the connections the module opened to operations APIs and how
        many of them did not verify the node, for example C(connections=2, unverified=0).
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM file of the certificate authority that signed the node's certificate.
      - When set, the certificate is verified against it whatever O(validate_certs) says.
      - If not set, the value of the E(HARPER_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for each answer of the operations API, from 1 to 86400.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is sent again after a connection error or an HTTP 502, 503 or 504
        answer, waiting 1, 2, 4, ... seconds in between.
      - A write is sent again only when it cannot have reached the node (connection refused, host
        not found, connect timeout), because Harper does not deduplicate writes.
      - From 0 to 10.
    type: int
    default: 3
notes:
  - The connection options can be set once for a whole play with
    C(module_defaults) and the action group C(group/harperdb.cluster.harper).
  - The operations API is reached directly with Python's standard library; proxy environment
    variables such as E(HTTPS_PROXY) are not used.
"""

    API_URL = r"""
options:
  api_url:
    description:
      - URL of the operations API of the Harper node the module talks to, for example
        C(https://node1.example.com:9925).
      - Not to be confused with O(harperdb.cluster.harper_node#module:url), the replication URL of a peer.
      - If not set, the value of the E(HARPER_API_URL) environment variable is used.
    type: str
    required: true
"""
