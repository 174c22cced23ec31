# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restart of a node's worker threads, and the wait that restarts a node
whose sockets stall, on recorded answers."""

import time

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperError, WaitTimeout
from ansible_collections.harperdb.cluster.plugins.module_utils._sockets import wait_connected
from ansible_collections.harperdb.cluster.plugins.module_utils._restart import RestartFailed, restart_and_wait


class FakeClient:
    """Answers operations from a script: a list per operation, last answer repeated."""

    def __init__(self, answers):
        self.answers = answers
        self.api_url = "https://node-a:9925"
        self.retries = 3
        self.calls = []

    def call(self, operation, **fields):
        self.calls.append(operation)
        script = self.answers[operation]
        answer = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


@pytest.fixture
def clock(monkeypatch):
    """A fake clock: every sleep moves it on; monotonic() reads it."""
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    return now


def test_restart_waits_for_the_job_and_an_answer_through_refusals(no_sleep):
    refused = HarperError("cluster_status failed: connection refused.")
    client = FakeClient({
        "restart_service": [{"message": "Restarting http", "job_id": "j1"}],
        "get_job": [refused, [{"status": "IN_PROGRESS"}], [{"status": "COMPLETE"}]],
        "cluster_status": [refused, {"type": "cluster-status"}],
    })
    restart_and_wait(client, timeout=30)
    assert client.calls == ["restart_service", "get_job", "get_job", "get_job",
                            "cluster_status", "cluster_status"]
    assert client.retries == 3  # restored after polling without retries


def test_a_failed_restart_job_fails_at_once(no_sleep):
    client = FakeClient({
        "restart_service": [{"job_id": "j1"}],
        "get_job": [[{"status": "ERROR", "message": "boom"}]],
    })
    with pytest.raises(RestartFailed) as caught:
        restart_and_wait(client, timeout=30)
    assert "boom" in caught.value.message


def test_restart_wait_times_out_with_the_last_error(monkeypatch):
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    client = FakeClient({
        "restart_service": [{"job_id": "j1"}],
        "get_job": [HarperError("get_job failed: connection refused.")],
    })
    with pytest.raises(HarperError) as caught:
        restart_and_wait(client, timeout=30)
    assert "Timed out after 30 s waiting for the restart job j1 of https://node-a:9925 to complete" in caught.value.message
    assert "connection refused" in caught.value.message


def _status(connected):
    return {"type": "cluster-status", "node_name": "node-a", "is_enabled": True, "connections": [
        {"name": "node-b", "url": "wss://node-b:9933",
         "database_sockets": [{"database": "system", "connected": connected}]}]}


def test_connected_sockets_need_no_restart(clock):
    client = FakeClient({"cluster_status": [_status(False), _status(True)]})
    assert wait_connected(client, ["node-b"], 60, restart_stalled=True) is False
    assert "restart_service" not in client.calls


def test_stalled_sockets_get_one_restart_at_half_the_timeout(clock):
    restarted_at = []

    class RestartingClient(FakeClient):
        def call(self, operation, **fields):
            if operation == "restart_service":
                restarted_at.append(clock[0])
                self.answers["cluster_status"] = [_status(False), _status(True)]
            return FakeClient.call(self, operation, **fields)

    client = RestartingClient({
        "cluster_status": [_status(False)],
        "restart_service": [{"message": "Restarting http", "job_id": "j1"}],
        "get_job": [[{"status": "COMPLETE"}]],
    })
    assert wait_connected(client, ["node-b"], 60, restart_stalled=True) is True
    assert client.calls.count("restart_service") == 1
    assert restarted_at and 30 <= restarted_at[0] < 31


def test_sockets_still_stalled_after_the_restart_fail_within_the_timeout(clock):
    client = FakeClient({
        "cluster_status": [_status(False)],
        "restart_service": [{"job_id": "j1"}],
        "get_job": [[{"status": "COMPLETE"}]],
    })
    with pytest.raises(WaitTimeout) as caught:
        wait_connected(client, ["node-b"], 60, restart_stalled=True)
    assert client.calls.count("restart_service") == 1
    assert clock[0] <= 61
    assert "restarted once after 30.0 s" in caught.value.message
    assert "node-b: system not connected" in caught.value.message


def test_without_restart_stalled_a_stall_fails_with_a_hint_and_no_restart(clock):
    client = FakeClient({"cluster_status": [_status(False)]})
    with pytest.raises(WaitTimeout) as caught:
        wait_connected(client, ["node-b"], 60)
    assert "restart_service" not in client.calls
    assert 60 <= clock[0] <= 61
    assert "restart_stalled: true" in caught.value.message


def test_a_refused_read_is_not_taken_for_a_stall(clock):
    refused = HarperError("cluster_status failed: 401 Unauthorized.")
    client = FakeClient({"cluster_status": [refused]})
    with pytest.raises(HarperError) as caught:
        wait_connected(client, ["node-b"], 60, restart_stalled=True)
    assert not isinstance(caught.value, WaitTimeout)
    assert "restart_service" not in client.calls
