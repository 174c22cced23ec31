# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replication routes of one node: a normal form, reading, a plan, one write.

Internal to the harperdb.cluster collection: it may change in any release.

Harper's own route operations cannot be trusted to keep a list right:
cluster_get_routes answers from memory loaded at start, cluster_set_routes
compares object routes by port only and, before a restart, overwrites the
change of the previous call. So the routes are read from the configuration
file (get_configuration), compared in a normal form (``wss://host:port``,
host in lower case), and written whole with set_configuration, which
survives any number of changes in a row. The harper_routes module
(_harper_routes.py) restarts the worker threads (_restart.py), which read the
routes again.
"""

import json

from ansible_collections.harperdb.cluster.plugins.module_utils._state import read_replication_config

ROUTE_SCHEME = "wss"
ROUTE_FIELDS = ("hostname", "port")


class RouteInputError(ValueError):
    """A route the user gave is not valid; found before any request is sent."""


def _split_host_port(host_port):
    """(host, port text) of 'host:port' or '[v6]:port'; port text is '' when absent."""
    if host_port.startswith("["):
        host, _sep, rest = host_port[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else rest
    if host_port.count(":") == 1:
        host, _sep, port = host_port.partition(":")
        return host, port
    return host_port, ""


def _format_key(host, port):
    host = host.lower()
    if ":" in host:
        host = "[%s]" % host
    return "%s://%s:%d" % (ROUTE_SCHEME, host, port)


def parse_route(value, label):
    """The normal form ``wss://host:port`` of a route the user gave, or RouteInputError."""
    if isinstance(value, dict):
        return _parse_route_dict(value, label)
    if isinstance(value, str):
        text = value.strip().rstrip("/")
        scheme, sep, rest = text.partition("://")
        if not sep or scheme.lower() != ROUTE_SCHEME:
            raise RouteInputError("%s: %r is not a wss:// url; replication routes look like "
                                  "wss://node2.example.com:9933." % (label, value))
        if "/" in rest:
            raise RouteInputError("%s: %r has a path; a route is only wss://host:port." % (label, value))
        host, port = _split_host_port(rest)
        if not host:
            raise RouteInputError("%s: %r names no host." % (label, value))
        if port == "":
            raise RouteInputError("%s: %r has no port; give the peer's replication port, as in "
                                  "wss://%s:9933." % (label, value, host))
    else:
        raise RouteInputError("%s: a route is a wss://host:port string or a dict of hostname and port, "
                              "not %r." % (label, value))
    if not _host_ok(host):
        raise RouteInputError("%s: %r is not a host name." % (label, host))
    return _format_key(host, _parse_port(port, label))


def _host_ok(host):
    return not any(c.isspace() or c in "/@?#" for c in host)


def _parse_route_dict(value, label):
    """The normal form of a route given as {hostname, port}: every error of the entry at once, an
    unknown field (often a misspelt one) first."""
    found = []
    unknown = sorted(str(key) for key in value if key not in ROUTE_FIELDS)
    if unknown:
        found.append("unknown field %s; a route is a dict of hostname and port, or a string such as "
                     "wss://node2.example.com:9933" % ", ".join(repr(u) for u in unknown))
    host = value.get("hostname")
    port = value.get("port")
    if not isinstance(host, str) or not host.strip():
        found.append("hostname is required and must be a non-empty string")
    elif not _host_ok(host.strip()):
        found.append("%r is not a host name" % host.strip())
    if port is None:
        found.append("%s has no port; give the peer's replication port (replication.securePort, 9933 by "
                     "default)" % (host.strip() if isinstance(host, str) and host.strip() else "the route"))
    else:
        try:
            port = _parse_port(port, label)
        except RouteInputError as exc:
            found.append(str(exc)[len(label) + 2:].rstrip("."))
    if found:
        raise RouteInputError("%s: %s." % (label, "; ".join(found)))
    return _format_key(host.strip(), port)


def _parse_port(port, label):
    if isinstance(port, bool) or not isinstance(port, (int, str)) or not str(port).strip().isdigit():
        raise RouteInputError("%s: port %r is not a number." % (label, port))
    number = int(port)
    if not 1 <= number <= 65535:
        raise RouteInputError("%s: port %d is out of range (1-65535)." % (label, number))
    return number


def parse_routes(values, label="routes"):
    """Normal forms of the routes given, in order; duplicates are refused."""
    keys = []
    found = []
    for index, value in enumerate(values or []):
        where = "%s[%d]" % (label, index)
        try:
            key = parse_route(value, where)
        except RouteInputError as exc:
            found.append(str(exc).rstrip("."))
            keys.append(None)
            continue
        if key in keys:
            found.append("%s: %s is the same route as %s[%d]; list each route once"
                         % (where, key, label, keys.index(key)))
        keys.append(key)
    if found:
        raise RouteInputError("%s." % "; ".join(found))
    return keys


def route_key(entry):
    """The normal form of a route found on the node, whatever its shape.

    Lenient: an entry this collection would refuse (no port, no scheme,
    extra fields) still gets a key, so it can be kept or compared; such an
    entry matches no route a user can give.
    """
    if isinstance(entry, dict) and entry.get("url"):
        entry = entry["url"]
    try:
        if isinstance(entry, dict):
            host = entry.get("hostname") or entry.get("host")
            return parse_route({"hostname": host, "port": entry.get("port")}, "route")
        return parse_route(entry, "route")
    except RouteInputError:
        return "unparsed:" + json.dumps(entry, sort_keys=True)


class RoutePlan:
    """What the configuration file holds (before) and must hold (after)."""

    def __init__(self, before, after):
        self.before = before
        self.after = after

    @property
    def changed(self):
        return self.before != self.after


def plan_routes(current, wanted, state="present", exclusive=False):
    """The route list to write, given the file's list and the normal forms wanted.

    Entries already in the file are kept as they are written there (a dict
    stays a dict), so giving the same route in another form changes nothing.
    New routes are written as wss://host:port strings: Harper compares
    strings exactly, where it compares {hostname, port} by port only.
    """
    current = list(current or [])
    wanted_set = set(wanted)
    if state == "absent":
        after = [entry for entry in current if route_key(entry) not in wanted_set]
        return RoutePlan(current, after)
    if exclusive:
        after = []
        kept = set()
        for entry in current:
            key = route_key(entry)
            if key in wanted_set and key not in kept:
                after.append(entry)
                kept.add(key)
    else:
        after = list(current)
        kept = set(route_key(entry) for entry in current)
    after.extend(key for key in wanted if key not in kept)
    return RoutePlan(current, after)


def same_routes(first, second):
    """Whether two route lists name the same routes, whatever their form and order."""
    return sorted(set(route_key(e) for e in first or [])) == sorted(set(route_key(e) for e in second or []))


def read_routes(client):
    """The routes in the configuration file (get_configuration reads the file)."""
    return list(read_replication_config(client).get("routes") or [])


def read_loaded_routes(client):
    """The routes the running node loaded at start (cluster_get_routes answers from memory)."""
    answer = client.call("cluster_get_routes")
    return answer if isinstance(answer, list) else []


def write_routes(client, routes):
    """Write the whole list at once: unlike cluster_set_routes, a second write
    before a restart does not lose the first."""
    return client.call("set_configuration", replication_routes=list(routes))
