# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restart of a node's worker threads and the wait until the node answers, on recorded answers."""

import time

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperError
from ansible_collections.harperdb.cluster.plugins.module_utils._restart import RestartFailed, restart_and_wait

from fake_harper import ScriptedClient as FakeClient  # tests/lib


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
