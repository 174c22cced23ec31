# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP client for Harper's operations API.

Internal to the harperdb.cluster collection: it may change in any release.

Every module talks to Harper through one HarperClient: one keep-alive connection per
node and module run (_http), one POST of
``{"operation": ...}`` per call. The client turns every way Harper can fail,
including the 200 answers that hide a failure, into a HarperError whose text
is one line a user can act on, with every credential scrubbed out.
"""

import copy
import re
import time
from urllib.parse import urlsplit

from ansible_collections.harperdb.cluster.plugins.module_utils._http import (
    BROKEN,
    CA_FILE,
    CONNECT_TIMEOUT,
    DNS,
    INVALID,
    READ_TIMEOUT,
    REFUSED,
    TLS,
    Session,
    TransportError,
)

# Harper answers 200 with this phrase when the peer side of add_node or
# update_node failed; the local record is written anyway.
HIDDEN_FAILURE_MARKER = "but there was an error"
# What a node answers to replication operations when replication.hostname
# and replication.url are unset: the request fell through to legacy code.
CLUSTERING_DISABLED_MARKER = "Clustering must be enabled"
NOT_CONFIGURED_HINT = (
    "Replication is not configured on this node: set replication.hostname or replication.url in "
    "harperdb-config.yaml (REPLICATION_HOSTNAME at install) and restart it. Legacy NATS clustering "
    "is not supported by this collection.")
REDACTED = "********"
RETRY_STATUS_CODES = (502, 503, 504)
# Writes are only retried when the request surely never reached Harper.
WRITE_OPERATIONS = frozenset((
    "add_node", "update_node", "remove_node", "configure_cluster",
    "cluster_set_routes", "cluster_delete_routes", "set_configuration",
    "restart", "restart_service", "create_table", "insert", "update",
))
_SECRET_KEYS = ("password", "authorization", "token", "operation_token", "refresh_token")


POLL_INTERVAL = 0.5


class HarperError(Exception):
    """A failed call, with a message fit to show the user as it is."""

    def __init__(self, message, status=None, response=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.response = response


class FinalHarperError(HarperError):
    """A failure that no amount of waiting will mend (poll_until gives up at once)."""


class AuthorizationError(FinalHarperError):
    """HTTP 403: the account is not a super_user (or its role lacks a permission).

    account is the user name, or None for a token; denied is what Harper named as refused
    (such as "Operation 'clusterStatus' is restricted to 'super_user' roles").
    """

    def __init__(self, message, status=None, response=None, account=None, denied=None):
        super().__init__(message, status, response)
        self.account = account
        self.denied = list(denied or [])


class WaitTimeout(HarperError):
    """poll_until ran out of time: the node answered, the condition never held."""


def poll_until(check, timeout, what, deadline=None, tolerate_errors=False, sleep=None, interval=None):
    """Call check() until it reports done; raise WaitTimeout after timeout seconds.

    check() returns (done, detail), detail saying how things stood for the
    timeout message. deadline (a time.monotonic() value) lets several polls
    share one timeout. With tolerate_errors, a HarperError from check() counts
    as not done yet (a restarting node refuses requests for a while), except a
    FinalHarperError. interval is the pause between two checks (POLL_INTERVAL by default).
    """
    if deadline is None:
        deadline = time.monotonic() + timeout
    while True:
        try:
            done, detail = check()
        except FinalHarperError:
            raise
        except HarperError as exc:
            if not tolerate_errors:
                raise
            done, detail = False, "Last error: %s" % exc.message
        if done:
            return
        if time.monotonic() >= deadline:
            raise WaitTimeout("Timed out after %s s waiting for %s.%s"
                              % (timeout, what, " " + detail if detail else ""))
        (sleep or time.sleep)(POLL_INTERVAL if interval is None else interval)


def redact(value):
    """Return a copy of value with every credential replaced by a placeholder."""
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            if key in _SECRET_KEYS and item not in (None, ""):
                cleaned[key] = REDACTED
            else:
                cleaned[key] = redact(item)
        return cleaned
    if isinstance(value, list):
        return [redact(item) for item in value]
    return copy.deepcopy(value)


def collect_secrets(value):
    """All credential strings found in value (nested dicts and lists)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _SECRET_KEYS and isinstance(item, str) and item:
                found.append(item)
            else:
                found.extend(collect_secrets(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(collect_secrets(item))
    return found


_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def api_url_problem(api_url):
    """Why api_url is not the url of an operations API, or None."""
    if not isinstance(api_url, str) or not api_url.strip():
        return "api_url is empty"
    if _UNSAFE.search(api_url):
        return "api_url %r contains a space or a control character" % api_url
    try:
        parts = urlsplit(api_url)
        port = parts.port  # raises ValueError for a port that is no number from 0 to 65535
    except ValueError as exc:
        return "api_url %r is not a url (%s)" % (api_url, exc)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "api_url %r is not an http:// or https:// url with a host" % api_url
    if parts.username is not None or parts.query or parts.fragment:
        return ("api_url %r holds credentials, a query or a fragment; give username and password "
                "(or token) as options" % api_url)
    if port == 0:
        return "api_url %r has port 0" % api_url
    return None


def _header_problem(token):
    """Why token cannot travel in an HTTP header, or None (the token itself is not shown)."""
    if not token:
        return None
    try:
        token.encode("latin-1")
    except UnicodeError:
        return "token holds characters an HTTP header cannot carry (only Latin-1 is allowed)"
    if _CONTROL.search(token):
        return "token holds a control character (a line break?), which an HTTP header cannot carry"
    return None


class HarperClient:
    """One node's operations API."""

    def __init__(self, api_url, username=None, password=None, token=None,
                 validate_certs=True, ca_path=None, timeout=30, retries=3,
                 retry_backoff=1.0, session=None, sleep=None, journal=None, label=None):
        where = "%s: " % label if label else ""
        problem = api_url_problem(api_url)
        if problem:
            raise HarperError("%s%s. Give api_url as the operations API of the node, such as "
                              "https://node1.example.com:9925." % (where, problem))
        problem = _header_problem(token)
        if problem:
            raise HarperError("%s%s." % (where, problem))
        self.api_url = api_url.rstrip("/")
        # journal: a list shared by the clients of one module run, which gets every operation
        # sent, tagged with label under "node", in the order sent across all of them.
        self.journal = journal
        self.label = label
        self.timeout = timeout
        self.retries = retries
        self.retry_backoff = retry_backoff
        self._sleep = sleep or _pause
        self._secrets = [s for s in (password, token) if s]
        # The account named in an authorization failure (None when a token is used).
        self.username = None if token else username
        # Every operation sent, credentials redacted, in order.
        self.history = []
        self.session = session or Session()
        if token:
            self.session.headers["Authorization"] = "Bearer " + token
        elif username:
            self.session.auth = (username, password or "")
        if ca_path:
            self.session.verify = ca_path
        else:
            self.session.verify = bool(validate_certs)

    @property
    def writes(self):
        """The write operations sent so far (credentials redacted)."""
        return [op for op in self.history if op.get("operation") in WRITE_OPERATIONS]

    def add_secrets(self, *secrets):
        """Strings that must never appear in an error message (peer passwords)."""
        self._secrets.extend(s for s in secrets if s)

    def scrub(self, text):
        text = str(text)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def call(self, operation, **fields):
        """POST one operation and return Harper's parsed answer.

        Raises HarperError for an HTTP error, an ``error`` body and a 200 whose
        message says "but there was an error".
        """
        body = dict(fields, operation=operation)
        self.add_secrets(*collect_secrets(fields))
        entry = redact(body)
        self.history.append(entry)
        if self.journal is not None:
            self.journal.append(dict(entry, node=self.label))
        response = self._post(operation, body)
        return self._parse(operation, response)

    def _post(self, operation, body):
        is_write = operation in WRITE_OPERATIONS
        attempt = 0
        while True:
            try:
                response = self.session.post(self.api_url, json=body, timeout=self.timeout,
                                             verify=self.session.verify)
            except TransportError as exc:
                if attempt < self.retries and _may_retry(exc, is_write):
                    attempt += 1
                    self._sleep(self.retry_backoff * (2 ** (attempt - 1)))
                    continue
                raise HarperError(self._connection_message(operation, exc))
            if response.status_code in RETRY_STATUS_CODES and attempt < self.retries:
                attempt += 1
                self._sleep(self.retry_backoff * (2 ** (attempt - 1)))
                continue
            return response

    def _parse(self, operation, response):
        where = "%s on %s" % (operation, self.api_url)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        status = response.status_code
        harper_words = _harper_words(answer, response.text)
        if status == 401:
            raise HarperError(
                "%s failed: Harper rejected the credentials (HTTP 401: %s). Check username and "
                "password (or token) for this node." % (where, self.scrub(harper_words)), status, answer)
        if status == 403:
            denied = [self.scrub(item) for item in _denied(answer)]
            account = ("user %r" % self.username) if self.username else "the token's user"
            raise AuthorizationError(
                "%s failed: Harper refused it to %s (HTTP 403: %s). %s needs a super_user: connect "
                "as a user whose role has super_user: true (such as the admin created at install), "
                "or with a token of one, or give that user a role with super_user: true (alter_user)."
                % (where, account, self.scrub(_joined(harper_words, denied)), operation),
                status, answer, account=self.username, denied=denied)
        if status >= 400 or (isinstance(answer, dict) and answer.get("error")):
            if CLUSTERING_DISABLED_MARKER in harper_words:
                raise HarperError("%s failed: Harper answered %r. %s"
                                  % (where, self.scrub(harper_words), NOT_CONFIGURED_HINT), status, answer)
            raise HarperError("%s failed (HTTP %s): %s" % (where, status, self.scrub(harper_words)),
                              status, answer)
        if answer is None:
            raise HarperError("%s failed: the answer (HTTP %s) is not JSON: %s"
                              % (where, status, self.scrub(response.text[:300])), status)
        if isinstance(answer, dict) and HIDDEN_FAILURE_MARKER in str(answer.get("message", "")):
            raise HarperError("%s failed although Harper answered HTTP %s: %s"
                              % (where, status, self.scrub(answer["message"])), status, answer)
        return answer

    def _connection_message(self, operation, exc):
        where = "%s on %s" % (operation, self.api_url)
        if self.label and self.label != self.api_url:
            where = "%s: %s" % (self.label, where)
        detail = _short(self.scrub(exc.detail))
        if exc.kind == TLS:
            return ("%s failed: the TLS certificate could not be verified (%s). Nothing was sent. The "
                    "node does not present a certificate of the CA in ca_path (%s), or something in the "
                    "path answers for it: give ca_path the CA that signed the node's certificate (the "
                    "harper_cluster role's cluster CA is PKI_DIR/ca.pem; rerun the role to install its "
                    "certificates), and check that the certificate names the host of api_url and has "
                    "not expired." % (where, detail, self.session.verify if isinstance(self.session.verify, str)
                                      else "none given: the system's CAs"))
        if exc.kind in (CONNECT_TIMEOUT, READ_TIMEOUT):
            return ("%s failed: no answer within %s seconds. Raise timeout, or check that the node "
                    "is not overloaded." % (where, self.timeout))
        if exc.kind == DNS:
            return ("%s failed: the host name in api_url does not resolve. Check api_url." % where)
        if exc.kind == REFUSED:
            return ("%s failed: connection refused. Check that Harper is running and that api_url "
                    "points at its operations API port (operationsApi.network.port, 9925 by "
                    "default)." % where)
        if exc.kind == CA_FILE:
            return ("%s failed: %s. Give ca_path a PEM file holding the CA that signed the node's "
                    "certificate." % (where, detail))
        if exc.kind == INVALID:
            return ("%s failed before anything was sent: %s. Check api_url, username, password "
                    "and token." % (where, detail))
        if exc.kind == BROKEN:
            return ("%s failed: the node closed the connection without an answer (%s). Check that "
                    "api_url points at the operations API, and the node's log." % (where, detail))
        return "%s failed: could not connect (%s). Check api_url." % (where, detail)


def _pause(seconds):
    """time.sleep, looked up when called."""
    time.sleep(seconds)


def _may_retry(exc, is_write):
    """Whether a request that got no answer may be sent again.

    A write is sent again only when it surely never reached Harper (no
    connection was made): add_node is not idempotent on the server. A
    certificate that does not verify will not verify the next time either, nor
    will a CA file load or a request be built that could not be the first time.
    """
    if exc.kind in (TLS, CA_FILE, INVALID):
        return False
    return not exc.sent or not is_write


def _harper_words(answer, text):
    if isinstance(answer, dict):
        for key in ("error", "message"):
            if answer.get(key):
                return str(answer[key])
    return (text or "").strip()[:300] or "(empty answer)"


def _denied(answer):
    """What a 403 answer names as refused: operations, or tables with the permission needed."""
    items = []
    if isinstance(answer, dict):
        for item in answer.get("unauthorized_access") or []:
            if isinstance(item, dict):
                items.append("%s of %s.%s" % ("/".join(item.get("required_table_permissions") or ["access"]),
                                              item.get("schema") or item.get("database"), item.get("table")))
            else:
                items.append(str(item))
        items.extend(str(item) for item in answer.get("invalid_schema_items") or [])
    return items


def _joined(words, details):
    words = words.rstrip(". ")
    return "%s: %s" % (words, "; ".join(details)) if details else words


def _short(text):
    """A transport error's reason, on one line and at most 300 characters."""
    return " ".join(str(text).split()).strip("()'\" ")[:300]
