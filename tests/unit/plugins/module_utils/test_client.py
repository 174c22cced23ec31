# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HarperClient logic and error paths, with HTTP replaced by a scripted session."""

import json

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils import _http
from ansible_collections.harperdb.cluster.plugins.module_utils._client import (
    REDACTED,
    AuthorizationError,
    FinalHarperError,
    HarperClient,
    HarperError,
    poll_until,
    redact,
)

URL = "https://node1.example.com:9925"


class FakeResponse:
    def __init__(self, status, body):
        self.status_code = status
        self.text = body if isinstance(body, str) else json.dumps(body)

    def json(self):
        return json.loads(self.text)


class FakeSession:
    """Answers each post with the next scripted item (a response or an exception)."""

    def __init__(self, *script):
        self.script = list(script)
        self.headers = {}
        self.auth = None
        self.verify = None
        self.posts = []

    def post(self, url, json=None, timeout=None, verify=None):
        self.posts.append(json)
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def client_with(*script, **kwargs):
    sleeps = []
    session = FakeSession(*script)
    client = HarperClient(URL, session=session, sleep=sleeps.append, **kwargs)
    return client, session, sleeps


def test_call_posts_the_operation_and_returns_the_answer():
    client, session, dummy_sleeps = client_with(FakeResponse(200, {"type": "cluster-status"}))
    assert client.call("cluster_status") == {"type": "cluster-status"}
    assert session.posts == [{"operation": "cluster_status"}]


def test_basic_auth_and_certificate_options():
    dummy_client, session, dummy_sleeps = client_with(username="admin", password="pw", validate_certs=False)
    assert session.auth == ("admin", "pw")
    assert session.verify is False
    dummy_client, session, dummy_sleeps = client_with(username="admin", password="pw", ca_path="/ca.pem")
    assert session.verify == "/ca.pem"


def test_token_is_sent_as_bearer():
    dummy_client, session, dummy_sleeps = client_with(token="tok123")
    assert session.headers["Authorization"] == "Bearer tok123"
    assert session.auth is None


def test_history_redacts_credentials_and_writes_lists_only_writes():
    client, dummy_session, dummy_sleeps = client_with(FakeResponse(200, {"message": "ok"}), FakeResponse(200, {"type": "x"}))
    client.call("add_node", url="wss://b:9933", authorization={"username": "u", "password": "s3cret"})
    client.call("cluster_status")
    assert client.writes == [{"operation": "add_node", "url": "wss://b:9933", "authorization": REDACTED}]
    assert "s3cret" not in json.dumps(client.history)


def test_redact_string_authorization():
    assert redact({"authorization": "Basic abc", "x": [{"password": "p", "username": "u"}]}) == {
        "authorization": REDACTED, "x": [{"password": REDACTED, "username": "u"}]}


@pytest.mark.parametrize("status, body, expected", [
    (401, {"error": "Login failed"}, "cluster_status on %s failed: Harper rejected the credentials "
                                     "(HTTP 401: Login failed). Check username and password (or token) "
                                     "for this node." % URL),
    (403, {"error": "not authorized"}, "needs a super_user"),
    (400, {"error": "nosuch does not exist"}, "cluster_status on %s failed (HTTP 400): nosuch does "
                                              "not exist" % URL),
    (400, {"error": "Clustering must be enabled to perform this operation."},
     "set replication.hostname or replication.url"),
    (500, "<html>oops</html>", "failed (HTTP 500): <html>oops</html>"),
    (200, "not json", "is not JSON"),
])
def test_error_answers(status, body, expected):
    client, dummy_session, dummy_sleeps = client_with(FakeResponse(status, body))
    with pytest.raises(HarperError) as info:
        client.call("cluster_status")
    assert expected in info.value.message


# What Harper 4.7.29 answers a user whose role is not a super_user (measured).
FORBIDDEN_OPERATION = {
    "error": "This operation is not authorized due to role restrictions and/or invalid database items",
    "unauthorized_access": ["Operation 'addNode' is restricted to 'super_user' roles"],
    "invalid_schema_items": []}
FORBIDDEN_TABLE = {
    "error": "This operation is not authorized due to role restrictions and/or invalid database items",
    "unauthorized_access": [{"schema": "system", "table": "hdb_nodes", "required_table_permissions": ["read"],
                             "required_attribute_permissions": []}],
    "invalid_schema_items": []}


def test_403_names_the_account_the_refused_operation_and_the_fix():
    client, dummy_session, dummy_sleeps = client_with(FakeResponse(403, FORBIDDEN_OPERATION),
                                                      username="monitor", password="m0nitor-pw", retries=3)
    with pytest.raises(AuthorizationError) as info:
        client.call("add_node", url="wss://b:9933", authorization={"username": "admin", "password": "peer-pw"})
    assert info.value.message == (
        "add_node on %s failed: Harper refused it to user 'monitor' (HTTP 403: This operation is not "
        "authorized due to role restrictions and/or invalid database items: Operation 'addNode' is "
        "restricted to 'super_user' roles). add_node needs a super_user: connect as a user whose role "
        "has super_user: true (such as the admin created at install), or with a token of one, or give "
        "that user a role with super_user: true (alter_user)." % URL)
    assert info.value.account == "monitor"
    assert info.value.denied == ["Operation 'addNode' is restricted to 'super_user' roles"]
    assert info.value.status == 403
    # No amount of waiting mends it: poll_until gives up at once.
    assert isinstance(info.value, FinalHarperError)
    assert "m0nitor-pw" not in info.value.message and "peer-pw" not in info.value.message


def test_403_on_a_table_names_the_permission_and_a_token_user_is_not_named():
    client, session, dummy_sleeps = client_with(FakeResponse(403, FORBIDDEN_TABLE), token="tok-secret")
    with pytest.raises(AuthorizationError) as info:
        client.call("search_by_value", database="system", table="hdb_nodes")
    assert "Harper refused it to the token's user (HTTP 403: " in info.value.message
    assert "invalid database items: read of system.hdb_nodes)" in info.value.message
    assert info.value.account is None
    assert info.value.denied == ["read of system.hdb_nodes"]
    assert "tok-secret" not in info.value.message
    assert len(session.posts) == 1  # not retried


def test_403_without_details_keeps_harpers_words():
    answer = {"error": "The 'system' database, tables and records are used internally by HarperDB and "
                       "cannot be updated or removed."}
    client, dummy_session, dummy_sleeps = client_with(FakeResponse(403, answer), username="monitor", password="x")
    with pytest.raises(AuthorizationError) as info:
        client.call("update", database="system", table="hdb_nodes", records=[{"name": "a", "shard": 1}])
    assert "(HTTP 403: The 'system' database, tables and records are used internally by HarperDB and " \
           "cannot be updated or removed). update needs a super_user" in info.value.message
    assert info.value.denied == []


def test_200_that_hides_a_failure_is_an_error():
    answer = {"message": "Successfully added 'wss://b:9933' to cluster, but there was an error: "
                         "connect ECONNREFUSED 127.0.0.3:9933"}
    client, dummy_session, dummy_sleeps = client_with(FakeResponse(200, answer))
    with pytest.raises(HarperError) as info:
        client.call("add_node", url="wss://b:9933")
    assert info.value.message.startswith("add_node on %s failed although Harper answered HTTP 200" % URL)
    assert "ECONNREFUSED" in info.value.message


def test_secrets_are_scrubbed_from_messages():
    client, dummy_session, dummy_sleeps = client_with(
        FakeResponse(400, {"error": "bad password hunter2 for admin"}), password="hunter2", username="admin")
    with pytest.raises(HarperError) as info:
        client.call("cluster_status")
    assert "hunter2" not in info.value.message
    assert REDACTED in info.value.message


def test_peer_password_given_in_a_call_is_scrubbed():
    client, dummy_session, dummy_sleeps = client_with(FakeResponse(400, {"error": "peer said peerpw is wrong"}))
    with pytest.raises(HarperError) as info:
        client.call("add_node", url="wss://b:9933", authorization={"username": "u", "password": "peerpw"})
    assert "peerpw" not in info.value.message


def test_retries_on_503_with_backoff():
    client, session, sleeps = client_with(FakeResponse(503, "busy"), FakeResponse(502, "busy"),
                                          FakeResponse(200, {"ok": 1}), retries=3)
    assert client.call("cluster_status") == {"ok": 1}
    assert sleeps == [1.0, 2.0]
    assert len(session.posts) == 3


def test_gives_up_after_retries():
    client, session, sleeps = client_with(*[FakeResponse(503, {"error": "down"})] * 3, retries=2)
    with pytest.raises(HarperError) as info:
        client.call("cluster_status")
    assert "HTTP 503" in info.value.message
    assert len(session.posts) == 3


def test_refused_connection_is_retried_even_for_a_write_then_explained():
    refused = _http.TransportError(_http.REFUSED, "connection refused ([Errno 111] Connection refused)")
    client, session, sleeps = client_with(refused, refused, retries=1)
    with pytest.raises(HarperError) as info:
        client.call("add_node", url="wss://b:9933")
    assert len(session.posts) == 2
    assert "connection refused. Check that Harper is running" in info.value.message


def test_a_write_that_may_have_arrived_is_not_sent_twice():
    client, session, dummy_sleeps = client_with(_http.TransportError(_http.READ_TIMEOUT, "timed out"), retries=3, timeout=7)
    with pytest.raises(HarperError) as info:
        client.call("add_node", url="wss://b:9933")
    assert len(session.posts) == 1
    assert "no answer within 7 seconds" in info.value.message


def test_a_read_timeout_is_retried_for_a_read():
    client, session, dummy_sleeps = client_with(_http.TransportError(_http.READ_TIMEOUT, "t"), FakeResponse(200, {"a": 1}))
    assert client.call("cluster_status") == {"a": 1}


def test_tls_failure_is_explained_and_not_retried():
    error = _http.TransportError(_http.TLS, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed certificate")
    client, session, dummy_sleeps = client_with(error, retries=3)
    with pytest.raises(HarperError) as info:
        client.call("cluster_status")
    assert len(session.posts) == 1
    assert "TLS certificate could not be verified" in info.value.message
    assert "ca_path" in info.value.message


def test_unresolvable_host_is_explained():
    error = _http.TransportError(_http.DNS, "failed to resolve nosuch.invalid ([Errno -2] Name or service not known)")
    client, dummy_session, dummy_sleeps = client_with(error, error, retries=1)
    with pytest.raises(HarperError) as info:
        client.call("cluster_status")
    assert "does not resolve" in info.value.message


def test_poll_until_returns_when_done_and_reports_the_last_detail_on_timeout():
    answers = iter([(False, "one"), (True, "two")])
    poll_until(lambda: next(answers), 10, "x", sleep=lambda s: None)
    with pytest.raises(HarperError) as info:
        poll_until(lambda: (False, "still waiting"), 0, "the peer", sleep=lambda s: None)
    assert info.value.message == "Timed out after 0 s waiting for the peer. still waiting"


def test_poll_until_tolerates_errors_only_when_asked():
    def failing():
        raise HarperError("refused")
    with pytest.raises(HarperError) as info:
        poll_until(failing, 0, "the node", tolerate_errors=True, sleep=lambda s: None)
    assert info.value.message == "Timed out after 0 s waiting for the node. Last error: refused"
    with pytest.raises(HarperError) as info:
        poll_until(failing, 10, "the node", sleep=lambda s: None)
    assert info.value.message == "refused"


def test_a_read_whose_connection_broke_is_sent_again_but_a_write_is_not():
    broken = _http.TransportError(_http.BROKEN, "Remote end closed connection without response")
    client, session, dummy_sleeps = client_with(broken, FakeResponse(200, {"a": 1}))
    assert client.call("cluster_status") == {"a": 1}
    client, session, dummy_sleeps = client_with(broken, retries=3)
    with pytest.raises(HarperError) as info:
        client.call("remove_node", hostname="b")
    assert len(session.posts) == 1
    assert "closed the connection without an answer" in info.value.message


@pytest.mark.parametrize("api_url, expected", [
    ("", "api_url is empty"),
    ("http://n1:abc", "is not a url"),
    ("http://n1:99999", "is not a url"),
    ("ftp://n1:9925", "is not an http:// or https:// url with a host"),
    ("https://:9925", "with a host"),
    ("http://user:pw@n1:9925", "holds credentials"),
    ("http://n1:9925 /", "a space or a control character"),
])
def test_a_malformed_api_url_is_refused_before_any_request(api_url, expected):
    session = FakeSession()
    with pytest.raises(HarperError) as info:
        HarperClient(api_url, session=session)
    assert expected in info.value.message
    assert session.posts == []


def test_a_token_a_header_cannot_carry_is_refused_without_showing_it():
    with pytest.raises(HarperError) as info:
        HarperClient(URL, token="s3cr\nt9", session=FakeSession())
    assert "control character" in info.value.message
    assert "s3cr" not in info.value.message


def test_a_ca_file_that_does_not_load_is_one_clear_failure_with_no_retry():
    client = HarperClient(URL, ca_path="/nonexistent/ca.pem", retries=3, sleep=pytest.fail)
    with pytest.raises(HarperError) as info:
        client.call("cluster_status")
    assert "/nonexistent/ca.pem" in info.value.message
    assert "Give ca_path a PEM file" in info.value.message
