# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A TLS man in the middle on loopback, to show what a client that does not verify gives away.

It listens on an address of its own and presents a certificate for the names given, from a CA
of its own (made with the collection's _pki, so only a client that does not verify accepts it).
After a handshake it opens TLS to the target (no verification, as an attacker would) and relays
both ways, so a client that does not verify works through it as if it reached the node. It keeps
every byte a client sent it after the handshake (`received`) and counts the handshakes a client
refused (`refused`).
"""

import os
import socket
import ssl
import tempfile
import threading

from ansible_collections.harperdb.cluster.plugins.module_utils import _pki
from tcp_gate import listening_socket


class TlsProxy:
    def __init__(self, listen, target, names):
        self.target = target
        self.received = bytearray()
        self.accepted = 0
        self.refused = 0
        self.handshake_errors = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._folder = tempfile.TemporaryDirectory(prefix="tls-proxy-")
        ca, ca_key = _pki.make_ca("man in the middle CA")
        certificate, key = _pki.issue(ca, ca_key, names[0], names)
        self.ca_path = self._write("ca.pem", ca)
        chain = self._write("chain.pem", certificate + ca)
        key_path = self._write("key.pem", key)
        self._server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_context.load_cert_chain(chain, key_path)
        self._client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._client_context.check_hostname = False
        self._client_context.verify_mode = ssl.CERT_NONE
        self._server = listening_socket(listen)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _write(self, name, text):
        path = os.path.join(self._folder.name, name)
        with open(path, "w") as handle:
            handle.write(text)
        return path

    def clear(self):
        with self._lock:
            del self.received[:]
            self.accepted = self.refused = 0
            del self.handshake_errors[:]

    def _serve(self):
        while not self._stopped.is_set():
            try:
                raw, _address = self._server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(raw,), daemon=True).start()

    def _handle(self, raw):
        raw.settimeout(30)
        try:
            client = self._server_context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            with self._lock:
                self.refused += 1
                self.handshake_errors.append(str(exc))
            raw.close()
            return
        with self._lock:
            self.accepted += 1
        try:
            upstream = self._client_context.wrap_socket(socket.create_connection(self.target, timeout=30))
        except OSError:
            client.close()
            return
        self._relay(client, upstream)

    def _relay(self, client, upstream):
        """Both directions in one thread: an SSL socket must not be read and written from two
        threads at once (TLS 1.3 sends records of its own, such as session tickets)."""
        try:
            while not self._stopped.is_set():
                for source, sink, record in ((client, upstream, True), (upstream, client, False)):
                    source.settimeout(0.05)
                    try:
                        data = source.recv(65536)
                    except (socket.timeout, ssl.SSLWantReadError):
                        continue
                    if not data:
                        return
                    if record:
                        with self._lock:
                            self.received.extend(data)
                    sink.settimeout(30)
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (client, upstream):
                try:
                    end.close()
                except OSError:
                    pass

    def close(self):
        self._stopped.set()
        self._server.close()
        self._thread.join(timeout=5)
        self._folder.cleanup()
