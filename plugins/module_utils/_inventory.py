# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the harper inventory plugin makes of its seeds' readings: hosts, their vars and groups.

Internal to the harperdb.cluster collection: it may change in any release.

The plugin reads each seed with
ClusterState.read (cluster_status and system.hdb_nodes) through read_seeds(), then
build_inventory() turns the readings into plain data (no Ansible types, so it can be cached):
one host per member any seed knows, its vars, its groups, and one warning per thing the seeds
disagree about or per seed that failed.
"""

import re
from urllib.parse import urlsplit

from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperError
from ansible_collections.harperdb.cluster.plugins.module_utils._state import (
    ClusterState,
    normalize_url,
    public_record,
    url_host,
)

CONNECTED_GROUP = "harper_connected"
DISCONNECTED_GROUP = "harper_disconnected"
SHARD_GROUP_PREFIX = "harper_shard_"
TEMPLATE_FIELDS = ("name", "host")
# The fields of a member's record that seeds are compared on.
COMPARED_FIELDS = ("url", "shard", "subscriptions")


class InventoryError(Exception):
    """The inventory cannot be built; the message names the seed or option and the fix."""


class SeedReading:
    """One seed's answer: a ClusterState, or the one-line error it failed with."""

    def __init__(self, url, state=None, error=None):
        self.url = url
        self.state = state
        self.error = error

    @property
    def name(self):
        return self.state.node_name if self.state else None

    def lists(self, member):
        """Whether this seed knows member (itself, a stored record or a live connection)."""
        return bool(self.state) and (member == self.state.node_name or member in self.state.peer_names())

    def record(self, member):
        """The public fields this seed holds on member; its url as the member itself gives it."""
        state = self.state
        if member == state.node_name:
            record = public_record(state.own_record)
            record["url"] = state.url or record.get("url")
            return record
        return public_record(state.peer_record(member))


def check_seed_url(url):
    """Refuse a seed that is not an http(s) URL with a host."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InventoryError(
            "The seed %r is not the URL of an operations API. Give each entry of seeds as "
            "http(s)://HOST:PORT, for example https://node1.example.com:9925." % (url,))


def check_template(template):
    """Refuse an api_url_template whose placeholders are not {name} and {host}."""
    if not template:
        return
    try:
        template.format(**dict((field, "x") for field in TEMPLATE_FIELDS))
    except (AttributeError, KeyError, IndexError, ValueError) as exc:
        raise InventoryError(
            "api_url_template %r cannot be filled (%s): it may use only the placeholders {name} "
            "and {host}, for example https://{name}.example.com:9925." % (template, exc))


def _seed_message(message):
    """A client error in the words of the inventory, whose option is seeds rather than api_url."""
    return message.replace("Check api_url.", "Check the seed's URL in seeds.").replace(
        "api_url", "the seed's URL")


def read_seeds(seeds, make_client):
    """Read every seed in order; a seed that fails is kept with its error message."""
    readings = []
    for url in seeds:
        client = make_client(url)
        try:
            readings.append(SeedReading(url, state=ClusterState.read(client)))
        except HarperError as exc:
            readings.append(SeedReading(url, error=_seed_message(client.scrub(exc.message))))
    return readings


def _names(readings):
    return ", ".join(reading.name for reading in readings)


def _show(value):
    return "none" if value is None else str(value)


def member_api_url(name, replication_url, via, template=None):
    """The operations API url of a member, as harper_api_url tells it.

    template (api_url_template) wins; a seed's url is the seed's own; any other member gets the
    scheme and port of via (the first seed that lists it) with the host of its replication url.
    """
    host = url_host(replication_url) or name
    if template:
        return template.format(name=name, host=host)
    if via.name == name:
        return via.url.rstrip("/")
    seed = urlsplit(via.url)
    if ":" in host:
        host = "[%s]" % host
    return "%s://%s%s" % (seed.scheme, host, ":%d" % seed.port if seed.port else "")


def _connections(member, readings):
    """Every database socket of member that a seed reports, each tagged with who reports it.

    A seed reports its own sockets to each peer, and each other seed its sockets to member.
    """
    entries = []
    for reading in readings:
        state = reading.state
        if reading.name == member:
            pairs = [(peer, state.sockets(peer)) for peer in state.peer_names()]
        elif reading.lists(member):
            pairs = [(reading.name, state.sockets(member))]
        else:
            continue
        for peer, sockets in pairs:
            if not sockets:
                entries.append({"peer": peer, "database": None, "connected": False,
                                "reported_by": reading.name})
            for socket in sockets:
                entries.append(dict(socket, peer=peer, reported_by=reading.name))
    return entries


def _disagreements(member, listing, answered):
    """One line per thing the answering seeds do not agree on about member."""
    lines = []
    silent = [reading for reading in answered if not reading.lists(member)]
    if silent:
        lines.append("listed by %s; not by %s" % (_names(listing), _names(silent)))
    for field in COMPARED_FIELDS:
        said = []
        for reading in listing:
            value = reading.record(member).get(field)
            said.append((reading.name, normalize_url(value) if field == "url" and value else value))
        if len(set(repr(value) for dummy, value in said)) > 1:
            lines.append("%s: %s" % (field, ", ".join("%s says %s" % (name, _show(value))
                                                      for name, value in said)))
    return lines


def shard_group(shard):
    """harper_shard_<shard>, with anything but letters, digits and _ made _."""
    return SHARD_GROUP_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", str(shard))


def build_inventory(readings, api_url_template=None):
    """{"hosts": {name: vars}, "groups": {group: [names]}, "warnings": [lines]} from seed readings.

    Raises InventoryError when no seed answered. A member's record fields (url, shard,
    subscriptions) come from its own reading when it is a seed, else from the first seed that
    lists it; where seeds differ, the member is still one host, with the differences in
    harper_disagreements and a warning.
    """
    warnings = ["Seed %s is left out, the inventory is built from the other seeds: %s"
                % (reading.url, reading.error) for reading in readings if reading.error]
    answered = []
    for reading in readings:
        if not reading.state:
            continue
        twin = [seen for seen in answered if seen.name == reading.name]
        if twin:
            warnings.append("Seeds %s and %s are the same node, %s; it is read once."
                            % (twin[0].url, reading.url, reading.name))
            continue
        answered.append(reading)
    if not answered:
        raise InventoryError("No seed answered. %s" % " ".join(
            "Seed %s: %s" % (reading.url, reading.error) for reading in readings))

    members = []
    for reading in answered:
        for name in [reading.name] + reading.state.peer_names():
            if name not in members:
                members.append(name)

    hosts = {}
    groups = {CONNECTED_GROUP: [], DISCONNECTED_GROUP: []}
    for member in members:
        listing = [reading for reading in answered if reading.lists(member)]
        own = [reading for reading in listing if reading.name == member]
        via = (own or listing)[0]
        record = via.record(member)
        connections = _connections(member, answered)
        judged = [entry for entry in connections if entry["reported_by"] != member]
        # Judged by the seeds that see it; a seed that answered and that no other seed sees is up.
        connected = all(entry["connected"] for entry in judged) and bool(judged or own)
        disagreements = _disagreements(member, listing, answered)
        for line in disagreements:
            warnings.append("Seeds disagree about member %s: %s." % (member, line))
        hosts[member] = {
            "harper_node_name": member,
            "harper_replication_url": record.get("url"),
            "harper_api_url": member_api_url(member, record.get("url"), via, api_url_template),
            "harper_shard": record.get("shard"),
            "harper_subscriptions": record.get("subscriptions"),
            "harper_is_seed": bool(own),
            "harper_seen_by": [reading.name for reading in listing],
            "harper_connected": connected,
            "harper_connections": connections,
            "harper_disagreements": disagreements,
        }
        groups[CONNECTED_GROUP if connected else DISCONNECTED_GROUP].append(member)
        if record.get("shard") is not None:
            groups.setdefault(shard_group(record["shard"]), []).append(member)
    return {"hosts": hosts, "groups": groups, "warnings": warnings}
