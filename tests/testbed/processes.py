# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probing ports and processes on this machine, and reading log files."""

import errno
import os
import re
import socket


def connectable(ip, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((ip, port)) == 0


def bindable(ip, port):
    # SO_REUSEADDR tolerates TIME_WAIT leftovers but, unlike SO_REUSEPORT
    # (which Harper uses), still fails when anything listens on ip:port or on
    # the wildcard address with that port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ip, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def port_is_free(ip, port):
    return not connectable(ip, port) and bindable(ip, port)


def pid_alive(pid):
    """True while any thread of process pid is alive.

    The thread-group leader turns zombie as soon as it exits while its other
    threads may still hold the listening sockets, so every task is checked.
    """
    if not pid:
        return False
    task_dir = "/proc/%d/task" % pid
    try:
        tasks = os.listdir(task_dir)
    except OSError:
        return False
    for task in tasks:
        try:
            with open(os.path.join(task_dir, task, "stat")) as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            return True
    return False


def pid_is_harper(pid):
    """Guard against signalling an unrelated process that reused a pid."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
            return b"harperdb" in cmdline.read()
    except OSError:
        return False


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def readable_tail(path, lines):
    """Last lines of a file without colour codes or the start-up logo art."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 256 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    readable = [_ANSI_ESCAPE.sub("", line) for line in text.splitlines()]
    readable = [line for line in readable if re.search(r"[A-Za-z0-9]", line)]
    return readable[-lines:]
