# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One node's relationship with one peer: validate, compare, plan, apply.

Internal to the harperdb.cluster collection: it may change in any release.

harper_node manages one peer with this; harper_cluster a whole list. The
compare mirrors what Harper stores after update_node (subscriptions merged by
database and table, revoked certificates as a union), so a second run with the
same input plans nothing. The writes make up for Harper's gaps: a call naming
no peer is refused before it is sent (Harper would store or remove a node
named "undefined"), update_node always carries the url and the subscriptions
(Harper rewrites the one and drops the other when they are left out), and a
record that a failed add_node wrote anyway is removed again.
"""

import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.harperdb.cluster.plugins.module_utils._client import (
    AuthorizationError,
    HarperError,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._state import (
    ClusterState,
    find_peer,
    normalize_url,
    public_record,
    url_host,
)

SUBSCRIPTION_FIELDS = ("database", "schema", "table", "subscribe", "publish")

_SUBSCRIPTION_SCHEMA = {
    "type": "object",
    "properties": {
        "database": {"type": "string", "minLength": 1},
        "schema": {"type": "string", "minLength": 1},
        "table": {"type": "string", "minLength": 1},
        "subscribe": {"type": "boolean"},
        "publish": {"type": "boolean"},
    },
    "required": ["table", "subscribe", "publish"],
    "additionalProperties": False,
}


class PeerInputError(ValueError):
    """Bad input, found before any request is sent."""


AUTHORIZATION_FIELDS = ("username", "password")
_NOT_IN_HOST = frozenset("/@?#[]")


def replication_url_problem(url):
    """What is wrong with a replication url (wss://host:port), or None."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("wss", "ws"):
        return "the scheme must be wss:// or ws://"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "it holds a space or a control character"
    host_port = url.split("://", 1)[1].split("/", 1)[0]
    host = url_host(url)
    if not host or any(c in _NOT_IN_HOST for c in host):
        return "it names no host"
    port = host_port.rsplit("]", 1)[-1].rpartition(":")[2] if ":" in host_port.rsplit("]", 1)[-1] else None
    if port is not None and not (port.isdigit() and port.isascii() and 1 <= int(port) <= 65535):
        return "the port %r is not a number from 1 to 65535" % port
    return None


def authorization_problem(authorization):
    """What is wrong with an authorization (a dict of username and password, or a header string),
    or None. Names the keys, never a value."""
    if authorization is None:
        return None
    hint = ("authorization must be a dict with exactly the keys username and password, or a string "
            "in HTTP Authorization form such as 'Basic ...'")
    if isinstance(authorization, str):
        return None if authorization.strip() else "%s; got an empty string" % hint
    if not isinstance(authorization, dict):
        return "%s; got a %s" % (hint, type(authorization).__name__)
    found = []
    unknown = sorted(str(key) for key in authorization if key not in AUTHORIZATION_FIELDS)
    if unknown:
        found.append("unknown field %s" % ", ".join(repr(key) for key in unknown))
    missing = [key for key in AUTHORIZATION_FIELDS if key not in authorization]
    if missing:
        found.append("missing %s" % ", ".join(missing))
    empty = [key for key in AUTHORIZATION_FIELDS
             if key in authorization and not (isinstance(authorization[key], str) and authorization[key])]
    if empty:
        found.append("%s must be a non-empty string" % ", ".join(empty))
    return "%s (%s)" % (hint, "; ".join(found)) if found else None


def peer_argument_spec():
    """The options that describe one peer, in harper_node and in harper_cluster entries.

    Documented once, in plugins/doc_fragments/peer.py: change both together.
    """
    return dict(
        hostname=dict(type="str", aliases=["name"]),
        url=dict(type="str"),
        verify_tls=dict(type="bool", default=True),
        authorization=dict(type="raw", no_log=True),
        retain_authorization=dict(type="bool"),
        revoked_certificates=dict(type="list", elements="str", no_log=False),
        shard=dict(type="int"),
        subscriptions=dict(type="list", elements="dict"),
    )


class PeerSpec:
    """What the user asked for one peer. Only the fields given are managed."""

    def __init__(self, params, label="peer"):
        self.label = label
        self.hostname = params.get("hostname") or None
        self.url = params.get("url") or None
        self.verify_tls = params.get("verify_tls")
        self.authorization = params.get("authorization")
        self.retain_authorization = params.get("retain_authorization")
        self.revoked_certificates = params.get("revoked_certificates")
        self.shard = params.get("shard")
        self.subscriptions = params.get("subscriptions")
        self._validate()
        if self.subscriptions is not None:
            self.subscriptions = [normalize_subscription(s) for s in self.subscriptions]

    @property
    def display_name(self):
        return self.hostname or self.url

    def _fail(self, text):
        error = PeerInputError("%s: %s" % (self.label, text))
        error.detail = text
        raise error

    def _validate(self):
        """Every error of the peer in one message."""
        found = []
        if not self.hostname and not self.url:
            found.append("name neither hostname nor url; one of them is required (Harper would "
                         "otherwise store or remove a node named 'undefined')")
        if self.url:
            problem = replication_url_problem(self.url)
            if problem:
                found.append("url %r is not a replication url such as wss://node2.example.com:9933 (%s)"
                             % (self.url, problem))
        if self.shard is not None and self.shard < 0:
            found.append("shard must not be negative, got %s" % self.shard)
        problem = authorization_problem(self.authorization)
        if problem:
            found.append(problem)
        for index, subscription in enumerate(self.subscriptions or []):
            found.extend(self._subscription_problems(index, subscription))
        if found:
            self._fail("%s." % "; ".join(found))

    def _subscription_problems(self, index, subscription):
        """Every error of one subscription, an unknown field (often a misspelt one) first, since it
        explains a required field that looks missing."""
        where = "subscriptions[%d]" % index
        if not isinstance(subscription, dict):
            return ["%s: must be a dict of database, table, subscribe and publish" % where]
        found = []
        unknown = sorted(set(subscription) - set(SUBSCRIPTION_FIELDS))
        if unknown:
            found.append("%s: unknown field %s (allowed: %s)"
                         % (where, ", ".join(repr(u) for u in unknown), ", ".join(SUBSCRIPTION_FIELDS)))
        errors = sorted(_subscription_validator().iter_errors(subscription), key=lambda e: list(e.path))
        for error in errors:
            if error.validator == "additionalProperties":
                continue
            if error.validator == "required":
                found.append("%s: %s" % (where, error.message.replace("property", "field")))
            else:
                found.append("%s.%s: %s" % (where, ".".join(str(p) for p in error.path), error.message))
        if ("database" in subscription) == ("schema" in subscription):
            found.append("%s: give the field 'database' (or its legacy name 'schema'), exactly once" % where)
        return found

    def secrets(self):
        auth = self.authorization
        if isinstance(auth, dict):
            return [auth.get("password")]
        return [auth] if auth else []


def _subscription_validator():
    """The JSON schema validator of a subscription; jsonschema is imported only when a
    subscription is given, which keeps it off the path of every other run."""
    try:
        import jsonschema  # pylint: disable=import-outside-toplevel
    except ImportError:
        error = PeerInputError(missing_required_lib("jsonschema"))
        error.exception = traceback.format_exc()
        raise error
    return jsonschema.Draft7Validator(_SUBSCRIPTION_SCHEMA)


def normalize_subscription(subscription):
    """A subscription as Harper stores it: 'schema' is the old name of 'database'."""
    return {
        "database": subscription.get("database", subscription.get("schema")),
        "table": subscription.get("table"),
        "subscribe": bool(subscription.get("subscribe")),
        "publish": bool(subscription.get("publish")),
    }


def merge_subscriptions(current, given):
    """What Harper stores after update_node: entries merged by (database, table)."""
    merged = [normalize_subscription(s) for s in current or []]
    for subscription in given:
        key = (subscription["database"], subscription["table"])
        for index, existing in enumerate(merged):
            if (existing["database"], existing["table"]) == key:
                merged[index] = subscription
                break
        else:
            merged.append(subscription)
    return merged


def merge_revoked(current, given):
    """What Harper stores after update_node: the union, in first-seen order."""
    merged = list(current or [])
    merged.extend(c for c in given if c not in merged)
    return merged


class PeerChange:
    """The plan for one peer: action is 'add', 'update', 'remove' or None."""

    def __init__(self, spec, action, name, before, after, body=None):
        self.spec = spec
        self.action = action
        self.name = name
        self.before = before
        self.after = after
        self.body = body or {}

    @property
    def operation(self):
        return {"add": "add_node", "update": "update_node", "remove": "remove_node"}.get(self.action)

    @property
    def unverified(self):
        """Whether this change sends a handshake that accepts any certificate of the peer."""
        return self.action in ("add", "update") and self.spec.verify_tls is False

    def as_dict(self):
        return {"peer": self.name or self.spec.display_name, "action": self.action or "none",
                "before": self.before, "after": self.after}


def plan_present(state, spec):
    """The change that makes the peer exist with the fields spec gives."""
    name = find_peer(state, spec.hostname, spec.url)
    if name is not None and name == state.node_name:
        raise PeerInputError("%s: %s is the node api_url points at; a node cannot be its own peer."
                             % (spec.label, spec.display_name))
    if name is None and spec.hostname and spec.url:
        by_url = find_peer(state, url=spec.url)
        if by_url is not None:
            raise PeerInputError(
                "%s: no node is named %r, but %s belongs to the node recorded as %r (Harper names a "
                "node by its own replication.hostname). Set hostname to %r."
                % (spec.label, spec.hostname, spec.url, by_url, by_url))
    if name is None:
        return plan_join(state, spec)
    current = state.peer_record(name)
    before = public_record(current)
    before["name"] = name
    after = dict(before)
    if spec.url and normalize_url(spec.url) != normalize_url(before.get("url")):
        after["url"] = spec.url
    if spec.shard is not None:
        after["shard"] = spec.shard
    if spec.subscriptions is not None:
        after["subscriptions"] = merge_subscriptions(before.get("subscriptions"), spec.subscriptions)
        if before.get("subscriptions") is not None:
            before["subscriptions"] = [normalize_subscription(s) for s in before["subscriptions"]]
    if spec.revoked_certificates is not None:
        after["revoked_certificates"] = merge_revoked(before.get("revoked_certificates"),
                                                      spec.revoked_certificates)
    if after == before:
        return PeerChange(spec, None, name, before, after)
    return PeerChange(spec, "update", name, before, after, _update_body(spec, name, after))


def plan_join(state, spec):
    """An add_node of the peer, whatever the node holds of it.

    A record of a peer that does not hold the node back is stale (the peer was
    reinstalled, or removed this node): only a new handshake joins them again.
    """
    current = state.peer_record(spec.hostname) if spec.hostname else None
    before = dict(public_record(current), name=spec.hostname) if current else {}
    after = {
        "name": spec.hostname or url_host(spec.url),
        "url": spec.url,
        "subscriptions": spec.subscriptions,
        "shard": spec.shard,
        "revoked_certificates": spec.revoked_certificates,
        "replicates": True,
    }
    return PeerChange(spec, "add", after["name"], before, after, _add_body(spec))


def plan_absent(state, spec, allow_self_removal=False):
    """The change that removes the peer, if it exists."""
    name = find_peer(state, spec.hostname, spec.url)
    if name is None:
        return PeerChange(spec, None, spec.display_name, {}, {})
    if name == state.node_name and not allow_self_removal:
        raise PeerInputError(
            "%s: %s is the node api_url points at; removing it makes that node leave its cluster. "
            "Set allow_self_removal: true if that is what you want." % (spec.label, name))
    before = public_record(state.peer_record(name) or state.own_record)
    before["name"] = name
    return PeerChange(spec, "remove", name, before, {}, {"hostname": name})


def _add_body(spec):
    body = {}
    for field in ("hostname", "url", "verify_tls", "authorization", "retain_authorization",
                  "revoked_certificates", "shard", "subscriptions"):
        value = getattr(spec, field)
        if value is not None:
            body[field] = value
    return body


def _update_body(spec, name, after):
    # Harper rewrites the url from the name when it is left out, and drops the
    # stored subscriptions when they are left out: always send both.
    body = {"hostname": name, "url": after["url"]}
    if after.get("subscriptions") is not None:
        body["subscriptions"] = after["subscriptions"]
    for field in ("verify_tls", "authorization", "retain_authorization", "revoked_certificates",
                  "shard"):
        value = getattr(spec, field)
        if value is not None:
            body[field] = value
    return body


def apply_change(client, change):
    """Send the write of a planned change; return Harper's message.

    A failed add_node can leave a record behind (Harper writes it before the
    peer answers): that record is removed again, so a rerun starts clean.
    """
    if change.action is None:
        return None
    client.add_secrets(*change.spec.secrets())
    try:
        if change.action == "remove" and (change.before or {}).get("subscriptions"):
            _drop_subscriptions(client, change.name)
        answer = client.call(change.operation, **change.body)
    except AuthorizationError:
        raise  # refused before anything was written: nothing to undo, and the message says the fix
    except HarperError as exc:
        exc.message = exc.message.rstrip(". ") + "." + _peer_hint(exc.message)
        if change.action == "add":
            exc.message += _undo_failed_add(client, change)
        elif change.action == "update":
            exc.message += (" Harper may have stored the new settings anyway; a rerun compares "
                            "them again and sends update_node only if they still differ.")
        raise
    if change.action == "add":
        _record_added_name(client, change)
    return answer.get("message") if isinstance(answer, dict) else None


def _drop_subscriptions(client, name):
    """Clear the subscriptions of the stored record of name before its remove_node.

    remove_node asks the removed node to delete a record too: its own when the
    caller's record of it has no subscriptions, but the caller's record when it
    has some. system.hdb_nodes replicates, so the second way the caller's record
    is deleted on every member the removed node reaches, and they all drop the
    caller: the mesh breaks. A plain update of the record (update_node merges
    subscriptions, so it cannot clear them) makes remove_node take the first way.
    """
    client.call("update", database="system", table="hdb_nodes",
                records=[{"name": name, "subscriptions": None}])


_PEER_HINTS = (
    # First: harperdb 4.7.29 ends every failed handshake, a refused connection's too, with "and
    # connection was required to sign certificate".
    (("ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH"),
     " The node cannot reach the peer: check url (the peer's replication url, port 9933 by "
     "default) and that the peer is running."),
    (("Unauthorized",), " The peer refused the credentials: give authorization as a super_user of "
                        "the peer."),
    # Before "required to sign certificate", which 4.7.29 appends to a refused certificate too
    # (docs/security.md: another CA, a name the certificate does not hold, an expired one).
    (("self-signed certificate", "unable to verify", "certificate has expired", "certificate is not yet valid",
      "does not match certificate's altnames", "unable to get local issuer certificate"),
     " The node does not trust the peer's certificate: give the node the CA that signed it, and check "
     "that it names the url's host and has not expired; verify_tls: false skips the check for the "
     "first handshake, which then sends the authorization to whoever answers."),
    # What 4.7.29 answers when authorization names a user of the peer that is not a super_user.
    (("required to sign certificate",), " The peer refused to sign this node's certificate: give "
                                        "authorization as a super_user of the peer."),
)


def _peer_hint(message):
    """What to fix, for the failures of a handshake with the peer that Harper reports."""
    for needles, hint in _PEER_HINTS:
        if any(needle in message for needle in needles):
            return hint
    return ""


def _undo_failed_add(client, change):
    try:
        state = ClusterState.read(client)
        name = find_peer(state, change.spec.hostname, change.spec.url)
        if name is None or name == state.node_name:
            return " No record of the peer was left behind; a rerun will try add_node again."
        client.call("remove_node", hostname=name)
    except HarperError as exc:
        return (" Harper may have left a record of the peer behind, and removing it failed too (%s); "
                "remove it with state: absent before a rerun." % exc.message)
    return (" Harper stored a record of %r anyway; it was removed again, so a rerun will try add_node "
            "again." % name)


def _record_added_name(client, change):
    """Set change.name to the name Harper recorded the new peer under.

    Harper names the record by the peer's own name. A hostname that does not
    match it would make every rerun add the peer again: fail instead.
    """
    after = ClusterState.read(client)
    found = find_peer(after, change.spec.hostname, change.spec.url)
    if change.spec.hostname and found is None:
        found = find_peer(after, url=change.spec.url) if change.spec.url else None
        raise HarperError(
            "%s: the peer was added, but Harper recorded it as %r, not %r: a node is recorded under "
            "the name it reports for itself (its replication.hostname). Set hostname to %r, or leave "
            "it out." % (change.spec.label, found, change.spec.hostname, found))
    if found is not None:
        change.name = found
        change.after["name"] = found
