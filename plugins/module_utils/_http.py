# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""POST JSON to one operations API over one keep-alive connection, with the standard library.

Internal to the harperdb.cluster collection: it may change in any release.

Why not requests: a module run makes two or three calls to one node, and importing requests
(with urllib3 and a CA bundle loaded at import) plus its first TLS connection cost about 80 ms
of a 0.2 s run, more than the calls themselves. Every failure to get an answer is a
TransportError whose kind says what happened and whether the request may have reached the node,
which is what decides if a write may be sent again.
"""

import base64
import http.client
import json
import select
import socket
import ssl
from urllib.parse import urlsplit

# Kinds of TransportError.
DNS = "dns"
REFUSED = "refused"
CONNECT_TIMEOUT = "connect_timeout"
READ_TIMEOUT = "read_timeout"
TLS = "tls"
CONNECT = "connect"
BROKEN = "broken"
# The CA file could not be loaded.
CA_FILE = "ca_file"
# The request could not be built from what it was given (a header value, a host name).
INVALID = "invalid"
# Failures on which the request cannot have reached the node.
NEVER_SENT = frozenset((DNS, REFUSED, CONNECT_TIMEOUT, TLS, CONNECT, CA_FILE, INVALID))


class TransportError(Exception):
    """No HTTP answer. kind is one of the kinds above; sent is whether the node may have
    received the request."""

    def __init__(self, kind, detail):
        super().__init__(detail)
        self.kind = kind
        self.detail = str(detail)

    @property
    def sent(self):
        return self.kind not in NEVER_SENT


class Response:
    """An answer: status_code, text and json(), as the client reads it."""

    def __init__(self, status_code, text):
        self.status_code = status_code
        self.text = text

    def json(self):
        return json.loads(self.text)


def ssl_context(verify):
    """verify False: no check; a path: that CA file; True: the system's CAs."""
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return ssl.create_default_context()


class Session:
    """headers, auth ((username, password) for basic authentication) and verify apply to every
    post; the connection is opened on the first post and kept while the node keeps it."""

    def __init__(self):
        self.headers = {}
        self.auth = None
        self.verify = True
        self._connection = None
        self._target = None
        self._contexts = {}
        # Connections opened, and those of them whose peer was not authenticated (plain HTTP,
        # or TLS with verification off): what a result reports as `tls`.
        self.connections = 0
        self.unverified = 0

    def post(self, url, json=None, timeout=None, verify=None):  # pylint: disable=redefined-outer-name
        parts = urlsplit(url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        verify = self.verify if verify is None else verify
        body = _dumps(json)
        headers = dict(self.headers)
        headers["Content-Type"] = "application/json"
        if self.auth:
            token = base64.b64encode(("%s:%s" % self.auth).encode("utf-8")).decode("ascii")
            headers["Authorization"] = "Basic " + token
        connection = self._connect(https, parts.hostname, port, timeout, verify)
        try:
            connection.putrequest("POST", parts.path or "/")
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
        except (ValueError, UnicodeError, http.client.HTTPException) as exc:
            # Nothing was sent: putrequest and putheader only check and buffer.
            self.close()
            raise TransportError(INVALID, exc)
        try:
            connection.endheaders(body)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
        except socket.timeout as exc:
            self.close()
            raise TransportError(READ_TIMEOUT, exc)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError(BROKEN, exc)
        if answer.will_close:
            self.close()
        return Response(answer.status, text)

    def close(self):
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self._target = None

    def _connect(self, https, host, port, timeout, verify):
        target = (https, host, port, timeout, verify if https else None)
        if self._connection is not None and (self._target != target or _closed_by_peer(self._connection)):
            self.close()
        if self._connection is not None:
            return self._connection
        if https:
            if verify not in self._contexts:
                try:
                    self._contexts[verify] = ssl_context(verify)
                except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                    raise TransportError(CA_FILE, "cannot load %s: %s" % (verify, exc))
            connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._contexts[verify])
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        self.connections += 1
        if not https or verify is False:
            self.unverified += 1
        try:
            connection.connect()
        except socket.gaierror as exc:
            raise TransportError(DNS, "failed to resolve %s (%s)" % (host, exc))
        except ConnectionRefusedError as exc:
            raise TransportError(REFUSED, "connection refused (%s)" % exc)
        except socket.timeout as exc:
            raise TransportError(CONNECT_TIMEOUT, exc)
        except ssl.SSLError as exc:
            raise TransportError(TLS, exc)
        except OSError as exc:
            raise TransportError(CONNECT, exc)
        except (ValueError, UnicodeError, OverflowError) as exc:
            # A host name that cannot be encoded, a timeout a socket cannot take: nothing was sent.
            raise TransportError(INVALID, exc)
        self._connection = connection
        self._target = target
        return connection


def _closed_by_peer(connection):
    """Whether a kept connection can no longer be used. A socket that reads as ready holds the
    node's close, data nobody asked for, or only TLS housekeeping (a TLS 1.3 session ticket), which
    the TLS layer takes in and then has nothing to give."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        readable, dummy_writable, dummy_errors = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    if not readable:
        return False
    timeout = sock.gettimeout()
    try:
        sock.setblocking(False)
        sock.recv(1)
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(timeout)
    return True


def _dumps(value):
    return json.dumps(value).encode("utf-8")
