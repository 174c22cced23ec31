# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A TCP forwarder with a gate, to stall a replication socket on purpose.

It forwards the first `admit` connections to the target, then, while the
gate is shut, accepts every further connection and closes it at once (the
peer looks down); open() lets every later connection through, shut() refuses
them again, and cut() also breaks the connections forwarded so far. hang()
makes the target look hung: every later connection is accepted and held, and
nothing is forwarded or answered, until open().
"""

import socket
import threading

from harper_state import RESTART_LOG_LINE, logged


def listening_socket(listen):
    """A socket listening on listen ((address, port)), whose accept gives up every 0.2 s so that
    a serving loop sees its stop flag."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(listen)
    server.listen(16)
    server.settimeout(0.2)
    return server


class TcpGate:
    def __init__(self, listen, target, admit=1):
        self.target = target
        self.admit = admit
        self.accepted = 0
        self.refused = 0
        self._forwarded = []
        self._held = []
        self._open = threading.Event()
        self._hang = threading.Event()
        self._stopped = threading.Event()
        self._server = listening_socket(listen)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def open(self):
        self._hang.clear()
        self._open.set()

    def hang(self):
        """Accept every later connection and never answer it (a node that hangs)."""
        self._hang.set()

    def shut(self):
        """Refuse every connection from now on; the ones forwarded already stay."""
        self.admit = self.accepted
        self._open.clear()

    def cut(self):
        """Shut the gate and break every connection forwarded so far: the target looks down to
        everyone who reached it through the gate."""
        self.shut()
        forwarded, self._forwarded = self._forwarded, []
        for pair in forwarded:
            for end in pair:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self._stopped.set()
        self._thread.join(5)
        self._server.close()
        for held in self._held:
            held.close()

    def _serve(self):
        while not self._stopped.is_set():
            try:
                client, dummy_address = self._server.accept()
            except socket.timeout:
                continue
            self.accepted += 1
            if self._hang.is_set():
                self._held.append(client)
                continue
            if self.accepted > self.admit and not self._open.is_set():
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self._forwarded.append((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def open_gate_on_restart(node, gate, stop):
    """Open gate as soon as node logs a restart of its worker threads; return the watching thread.
    Setting stop ends the watch."""
    def watch():
        while not stop.is_set():
            if logged(node, RESTART_LOG_LINE):
                gate.open()
                return
            stop.wait(0.2)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread
