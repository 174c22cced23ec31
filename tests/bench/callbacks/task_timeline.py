# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: one JSON line per task start and per host result.

Enabled by tests/bench/membership_bench.py for its own ansible-playbook runs
(ANSIBLE_CALLBACK_PLUGINS=tests/bench/callbacks, ANSIBLE_CALLBACKS_ENABLED=task_timeline);
it writes to the file named by TASK_TIMELINE_FILE and does nothing without it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: task_timeline
type: aggregate
short_description: Write one JSON line per task start and per host result
description:
  - For benchmarks. Each line holds the event, a monotonic time in seconds, the task's name,
    its file and line (C(task.get_path())), and for results the host and status; a result of
    harperdb.cluster.harper_mesh also its write names (C(operations)) and C(reads).
  - Writes to the file named by the environment variable E(TASK_TIMELINE_FILE); does nothing
    when it is unset.
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        path = os.environ.get("TASK_TIMELINE_FILE")
        # Line-buffered: a run that is killed still leaves every line written so far.
        self._out = open(path, "a", buffering=1) if path else None  # pylint: disable=consider-using-with

    def _write(self, event, task, host=None, status=None, result=None):
        if self._out is None:
            return
        line = {
            "event": event,
            "t": time.monotonic(),
            "task": task.get_name(),
            "uuid": task._uuid,  # pylint: disable=protected-access
            "path": task.get_path() or "",
            "action": task.action,
        }
        if host is not None:
            line["host"] = host
            line["status"] = status
        if result is not None and task.action.endswith("harper_mesh"):
            # What the membership module sent: the write names and its count of reads.
            line["operations"] = [op.get("operation") for op in result.get("operations") or []]
            line["reads"] = result.get("reads")
        self._out.write(json.dumps(line) + "\n")

    def _result(self, result, status):
        if status == "ok" and result._result.get("changed"):  # pylint: disable=protected-access
            status = "changed"
        self._write("end", result._task, result._host.get_name(), status,  # pylint: disable=protected-access
                    result._result)  # pylint: disable=protected-access

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._write("start", task)

    def v2_playbook_on_handler_task_start(self, task):
        self._write("start", task)

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        if self._out is not None:
            self._out.close()
            self._out = None
