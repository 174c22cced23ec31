# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: harper
short_description: One host per member of a live Harper replication cluster
version_added: 0.1.0
description:
  - Reads a Harper cluster through the operations API of one or more seed nodes
    (C(cluster_status) and the stored node records in C(system.hdb_nodes)) and makes one host per
    member that any seed knows, named by the member's node name (its C(replication.hostname)).
  - Groups C(harper_connected) and C(harper_disconnected) split the members by the state of their
    replication sockets. A member is connected when every other seed that lists it has at least
    one database socket to it and all are connected. A seed that answered and that no other seed
    lists is connected.
  - One group per shard, C(harper_shard_<shard>), holds the members whose record has that shard.
  - Members the seeds disagree about (listed by some seeds and not others, or with another url,
    shard or subscriptions) are still one host each, and each difference is shown as a warning
    naming the member and the seeds, and in the host var C(harper_disagreements). Record fields
    come from the member's own reading when it is a seed, else from the first seed in O(seeds)
    that lists it.
  - The host vars, all read from the cluster and marked unsafe so that Ansible never templates
    them, are C(harper_node_name), C(harper_replication_url), C(harper_api_url), C(harper_shard),
    C(harper_subscriptions), C(harper_is_seed), C(harper_seen_by) (the seeds that list it),
    C(harper_connected), C(harper_disagreements), and C(harper_connections), a list of every
    database socket a seed reports for the member, each with C(peer), C(database),
    C(connected), C(latency), C(last_commit_confirmed), C(last_received_remote_time),
    C(last_received_local_time), C(backpressure_percent), C(last_received_status) and
    C(reported_by) (the seed that reports it; a seed reports its own sockets to each peer, another
    seed its socket to the member). Harper 4.7 gives the last received times as HTTP dates with
    one-second resolution (C(Sun, 29 Nov 2026 18:57:43 GMT)), as received, not converted.
  - C(harper_api_url) is the member's operations API as seen from the controller. Node records
    hold only the replication URL (C(wss://HOST:9933)), so it is built from the scheme and port of
    the first seed that lists the member and the host of the member's replication URL; a seed's
    own is its URL in O(seeds). Set O(api_url_template) when the operations API is reached at
    another name or port.
  - The seeds are read in turn. A seed that does not answer, rejects the credentials or runs
    without replication is a warning, and the inventory is built from the others; when no seed
    answers, the inventory source fails with each seed's error and the fix.
  - The inventory file name must end in C(.harper.yml) or C(.harper.yaml).
author:
  - Harper cluster collection maintainers (@harperdb)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it marks a file as this plugin's.
    type: str
    required: true
    choices: [harperdb.cluster.harper]
  seeds:
    description:
      - URLs of the operations API of the nodes to read the cluster from, for example
        C(https://node1.example.com:9925), read in this order.
      - One seed is enough to list every member; more seeds let the inventory tell a member that
        is down from one whose link to a single seed is, and show where they disagree.
    type: list
    elements: str
    required: true
    env:
      - name: HARPER_API_URL
  username:
    description:
      - Name of a Harper user with the C(super_user) role, sent with HTTP basic authentication to
        every seed.
      - Leave unset together with O(password) to use O(token), or with seeds in dev mode, which
        trust local callers.
    type: str
    env:
      - name: HARPER_USERNAME
  password:
    description:
      - Password of O(username). Never shown in the inventory, its warnings or its errors.
    type: str
    env:
      - name: HARPER_PASSWORD
  token:
    description:
      - An operation token (from Harper's C(create_authentication_tokens)), sent as a Bearer token
        instead of O(username) and O(password).
    type: str
    env:
      - name: HARPER_TOKEN
  validate_certs:
    description:
      - Whether to verify the TLS certificate of each seed's operations API.
      - Set to V(false) only for nodes with self-signed certificates you trust; prefer O(ca_path).
    type: bool
    default: true
    env:
      - name: HARPER_VALIDATE_CERTS
  ca_path:
    description:
      - Path to a PEM file of the certificate authority that signed the seeds' certificates.
      - When set, the certificate is verified against it whatever O(validate_certs) says.
    type: path
    env:
      - name: HARPER_CA_PATH
  timeout:
    description:
      - Seconds to wait for each answer of a seed's operations API.
    type: int
    default: 30
  retries:
    description:
      - How many times a read is sent again after a connection error or an HTTP 502, 503 or 504
        answer, waiting 1, 2, 4, ... seconds in between. Each unreachable seed costs that wait.
    type: int
    default: 1
  api_url_template:
    description:
      - The operations API URL of each member, as C(harper_api_url), with the placeholders
        C({name}) (the member's node name) and C({host}) (the host of its replication URL), for
        example C(https://{name}.ops.example.com:9925).
      - When not set, a seed's own URL is used for a seed, and for any other member the scheme and
        port of the first seed that lists it with the host of its replication URL.
    type: str
notes:
  - The same environment variables as the modules' connection options
    (E(HARPER_USERNAME), E(HARPER_PASSWORD), E(HARPER_TOKEN)) and E(HARPER_VALIDATE_CERTS),
    E(HARPER_CA_PATH) and E(HARPER_API_URL) (comma-separated seeds) are read, so a credential in
    AWX or another controller can inject them into an inventory source.
  - Each seed gets two reads, C(cluster_status) and a C(search_by_value) of C(system.hdb_nodes);
    nothing is written. Only the public fields of a node record are kept; certificates and any
    stored C(authorization) are never shown or cached.
  - The operations API is reached directly with Python's standard library; proxy environment
    variables such as E(HTTPS_PROXY) are not used.
seealso:
  - module: harperdb.cluster.harper_cluster_facts
  - module: harperdb.cluster.harper_mesh
"""

EXAMPLES = r"""
# The smallest file, cluster.harper.yml: every member of the cluster node1 belongs to, read over
# HTTPS with the credentials in HARPER_USERNAME and HARPER_PASSWORD:
#   plugin: harperdb.cluster.harper
#   seeds: [https://node1.example.com:9925]

# Two seeds, Harper's self-signed certificates, an operations API on a name of its own, the
# member's address for SSH, groups of the members with a socket down and of those each seed
# lists, and a day of caching.
plugin: harperdb.cluster.harper
seeds:
  - https://node1.example.com:9925
  - https://node2.example.com:9925
validate_certs: false
api_url_template: "https://{name}.ops.example.com:9925"
compose:
  ansible_host: harper_replication_url | urlsplit('hostname')
groups:
  harper_links_down: harper_connections | rejectattr('connected') | list | length > 0
keyed_groups:
  - key: harper_seen_by
    prefix: listed_by
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/harper-inventory
cache_timeout: 86400
"""

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperClient
from ansible_collections.harperdb.cluster.plugins.module_utils._inventory import (
    InventoryError,
    build_inventory,
    check_seed_url,
    check_template,
    read_seeds,
)

FILE_SUFFIXES = (".harper.yml", ".harper.yaml")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Hosts from the readings of the seeds; the logic is in module_utils/_inventory."""

    NAME = "harperdb.cluster.harper"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(FILE_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        use_cache = self.get_option("cache")
        cache_key = self.get_cache_key(path)
        found = None
        if use_cache and cache:
            found = self._cache.get(cache_key)
        if found is None:
            found = self._read_cluster()
            if use_cache:
                self._cache[cache_key] = found
        for line in found["warnings"]:
            self.display.warning(line)
        self._populate(found)

    def _client(self, url):
        return HarperClient(url, username=self.get_option("username"), password=self.get_option("password"),
                            token=self.get_option("token"), validate_certs=self.get_option("validate_certs"),
                            ca_path=self.get_option("ca_path"), timeout=self.get_option("timeout"),
                            retries=self.get_option("retries"))

    def _read_cluster(self):
        if self.get_option("token") and (self.get_option("username") or self.get_option("password")):
            raise AnsibleParserError("Set either token or username and password for the harper inventory, "
                                     "not both (check HARPER_TOKEN, HARPER_USERNAME and HARPER_PASSWORD).")
        try:
            seeds = self.get_option("seeds") or []
            if not seeds:
                raise InventoryError("seeds is empty: give at least one operations API URL.")
            for seed in seeds:
                check_seed_url(seed)
            check_template(self.get_option("api_url_template"))
            return build_inventory(read_seeds(seeds, self._client), self.get_option("api_url_template"))
        except InventoryError as exc:
            raise AnsibleParserError("harper inventory: %s" % exc)

    def _populate(self, found):
        strict = self.get_option("strict")
        for group in found["groups"]:
            self.inventory.add_group(group)
        for name, host_vars in found["hosts"].items():
            self.inventory.add_host(name)
            for key, value in host_vars.items():
                self.inventory.set_variable(name, key, wrap_var(value))
            all_vars = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option("compose"), all_vars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), all_vars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), all_vars, name, strict=strict)
        for group, members in found["groups"].items():
            for name in members:
                self.inventory.add_child(group, name)
