# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The standard-library transport, against a small HTTP server in this process."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils import _http


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Harper does

    def do_POST(self):  # noqa: N802  (the name http.server calls)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        server.seen.append({"body": body, "authorization": self.headers.get("Authorization"),
                            "content_type": self.headers.get("Content-Type"),
                            # The client's address and port, not id(): a closed socket's id can be reused.
                            "connection": self.client_address})
        if body.get("sleep"):
            server.release.wait(5)
        answer = json.dumps({"echo": body}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        if body.get("close"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.seen = []
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


def url_of(httpd):
    return "http://127.0.0.1:%d" % httpd.server_address[1]


def test_posts_json_with_basic_auth_and_reads_the_answer(server):
    session = _http.Session()
    session.auth = ("admin", "pa:ss")
    answer = session.post(url_of(server), json={"operation": "cluster_status"}, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"echo": {"operation": "cluster_status"}}
    seen = server.seen[0]
    assert seen["authorization"] == "Basic YWRtaW46cGE6c3M="  # admin:pa:ss
    assert seen["content_type"] == "application/json"


def test_one_connection_serves_every_post_while_the_node_keeps_it(server):
    session = _http.Session()
    session.headers["Authorization"] = "Bearer tok"
    for number in range(3):
        session.post(url_of(server), json={"n": number}, timeout=5)
    assert len(set(seen["connection"] for seen in server.seen)) == 1
    assert all(seen["authorization"] == "Bearer tok" for seen in server.seen)


def test_a_connection_the_node_closed_is_replaced_before_the_next_post(server):
    session = _http.Session()
    session.post(url_of(server), json={"close": True}, timeout=5)
    assert session.post(url_of(server), json={"n": 2}, timeout=5).json() == {"echo": {"n": 2}}
    assert server.seen[0]["connection"] != server.seen[1]["connection"]


def test_a_refused_connection_was_never_sent():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(_http.TransportError) as info:
        _http.Session().post("http://127.0.0.1:%d" % port, json={}, timeout=5)
    assert info.value.kind == _http.REFUSED
    assert not info.value.sent


def test_a_host_that_does_not_resolve():
    with pytest.raises(_http.TransportError) as info:
        _http.Session().post("http://nosuch.invalid:9925", json={}, timeout=5)
    assert info.value.kind == _http.DNS
    assert "nosuch.invalid" in info.value.detail
    assert not info.value.sent


def test_no_answer_in_time_is_a_read_timeout_that_may_have_been_sent(server):
    with pytest.raises(_http.TransportError) as info:
        _http.Session().post(url_of(server), json={"sleep": True}, timeout=0.3)
    assert info.value.kind == _http.READ_TIMEOUT
    assert info.value.sent


def test_tls_contexts():
    assert _http.ssl_context(False).verify_mode.name == "CERT_NONE"
    assert _http.ssl_context(True).check_hostname
