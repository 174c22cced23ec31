# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restart of a node's worker threads, and the wait until it answers again.

Internal to the harperdb.cluster collection: it may change in any release.

Harper's restart_service of the ``http`` service restarts the worker threads
and keeps the process; the ``restart`` operation replaces the process, which
a service manager such as systemd takes for the service stopping. New worker
threads read the configuration (routes) again and open every replication
socket anew.
"""

import time

from ansible_collections.harperdb.cluster.plugins.module_utils._client import (
    FinalHarperError,
    poll_until,
)

RESTART_SERVICE = "http"


class RestartFailed(FinalHarperError):
    """The node reported that its restart failed: no use waiting any longer."""


def restart_and_wait(client, timeout):
    """Restart the node's worker threads and wait, at most timeout seconds,
    until the restart job is complete and the node answers cluster_status."""
    answer = client.call("restart_service", service=RESTART_SERVICE)
    job_id = answer.get("job_id") if isinstance(answer, dict) else None
    deadline = time.monotonic() + timeout
    # While the workers restart, requests are refused: poll without the
    # client's own retries so the deadline holds.
    retries, client.retries = client.retries, 0
    try:
        if job_id:
            poll_until(lambda: (_job_done(client, job_id), ""), timeout,
                       "the restart job %s of %s to complete" % (job_id, client.api_url),
                       deadline=deadline, tolerate_errors=True)
        poll_until(lambda: (client.call("cluster_status") is not None, ""), timeout,
                   "%s to answer cluster_status again" % client.api_url,
                   deadline=deadline, tolerate_errors=True)
    finally:
        client.retries = retries


def _job_done(client, job_id):
    answer = client.call("get_job", id=job_id)
    job = answer[0] if isinstance(answer, list) and answer else {}
    status = str(job.get("status", "")).upper()
    if status == "ERROR":
        raise RestartFailed("The restart job %s of %s failed: %s"
                            % (job_id, client.api_url, job.get("message")))
    return status == "COMPLETE"
