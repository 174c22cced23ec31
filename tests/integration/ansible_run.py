"""Run one module of the collection through ansible-playbook and return its result.

Integration tests call modules the way users do: a real playbook, with check
and diff mode set by the command line, against real Harper nodes.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "tests" / "lib"))

import collection_tree  # noqa: E402  pylint: disable=wrong-import-position


class ModuleRun:
    """The outcome of one task: the registered result and the playbook's output."""

    def __init__(self, result, stdout, stderr, returncode):
        self.result = result
        self.stdout = stdout
        self.stderr = stderr
        self.returncode = returncode

    @property
    def output(self):
        return self.stdout + self.stderr

    def __getitem__(self, key):
        return self.result[key]

    def get(self, key, default=None):
        return self.result.get(key, default)

    @property
    def failed(self):
        return bool(self.result.get("failed"))

    @property
    def changed(self):
        return bool(self.result.get("changed"))

    def writes(self, name=None):
        """The write operations the module reports it sent (optionally of one name)."""
        ops = self.result.get("operations") or []
        return [op for op in ops if name is None or op.get("operation") == name]


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collection_tree.use_checkout(),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    })
    env.update(extra or {})
    return env


def run_playbook(playbook, args=(), env=None, timeout=600, watch=None):
    """Run a playbook file; return the CompletedProcess.

    watch(line, process), when given, sees each line of stdout as it is printed, while the
    playbook runs; the playbook runs in a process group of its own (process.pid is its id), so
    a test can stop and continue it between two tasks.
    """
    command = [str(_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)]
    command.extend(args)
    if watch is None:
        return subprocess.run(command, capture_output=True, text=True, env=ansible_env(env),
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    return _run_watched(command, ansible_env(dict(env or {}, PYTHONUNBUFFERED="1")), timeout, watch)


def _run_watched(command, env, timeout, watch):
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    errors = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)
    reader.start()
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            watch(line, process)
    except BaseException:
        # A watch that failed must leave neither a stopped nor a running playbook behind.
        for signum in (signal.SIGCONT, signal.SIGKILL):
            try:
                os.killpg(process.pid, signum)
            except ProcessLookupError:
                pass
        raise
    finally:
        returncode = process.wait()
        timer.cancel()
        reader.join()
    return subprocess.CompletedProcess(command, returncode, "".join(lines), "".join(errors))


def run_module(module, args, check=False, diff=False, verbosity=0, env=None):
    """Run harperdb.cluster.<module> with args once; return a ModuleRun.

    A failing task does not raise: tests assert on result['failed'] and msg.
    """
    with tempfile.TemporaryDirectory(prefix="harper-run-") as tmp:
        result_file = Path(tmp) / "result.json"
        task = {
            "name": "module under test",
            "harperdb.cluster." + module: args,
            "register": "module_result",
            "ignore_errors": True,
        }
        save = {
            "name": "save the result",
            "ansible.builtin.copy": {"content": "{{ module_result | to_json }}", "dest": str(result_file)},
            "check_mode": False,
            "diff": False,
        }
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": [task, save]}]
        playbook = Path(tmp) / "play.yml"
        playbook.write_text(json.dumps(play))
        flags = []
        if check:
            flags.append("--check")
        if diff:
            flags.append("--diff")
        if verbosity:
            flags.append("-" + "v" * verbosity)
        done = run_playbook(playbook, flags, env=env)
        if not result_file.exists():
            raise AssertionError("ansible-playbook did not run the task (rc %s):\n%s\n%s"
                                 % (done.returncode, done.stdout[-3000:], done.stderr[-3000:]))
        result = json.loads(result_file.read_text())
    return ModuleRun(result, done.stdout, done.stderr, done.returncode)


class InventoryRun:
    """What ansible-inventory printed for one inventory file: --list parsed, or --graph as text.

    --list marks a value that must never be templated as {"__ansible_unsafe": value}; listing
    holds the bare values, and unsafe the values that were so marked.
    """

    def __init__(self, done, graph):
        self.stdout = done.stdout
        self.stderr = done.stderr
        self.returncode = done.returncode
        self.unsafe = []
        self.listing = None
        if done.returncode == 0 and not graph:
            self.listing = json.loads(done.stdout, object_hook=self._bare)

    def _bare(self, mapping):
        if list(mapping) == ["__ansible_unsafe"]:
            self.unsafe.append(mapping["__ansible_unsafe"])
            return mapping["__ansible_unsafe"]
        return mapping

    @property
    def output(self):
        return self.stdout + self.stderr

    def hostvars(self, host):
        return self.listing["_meta"]["hostvars"][host]

    def hosts(self, group):
        """The hosts directly in group (an absent group has none)."""
        return sorted((self.listing.get(group) or {}).get("hosts") or [])


def run_inventory(config, graph=False, env=None, name="cluster.harper.yml", args=(), timeout=120):
    """Write config (a dict) to a file called name and run ansible-inventory on it with --list,
    or --graph; return an InventoryRun. A source that fails to parse fails the command."""
    with tempfile.TemporaryDirectory(prefix="harper-inventory-") as tmp:
        source = Path(tmp) / name
        source.write_text(json.dumps(config))
        command = [str(_BIN / "ansible-inventory"), "-i", str(source), "--graph" if graph else "--list"]
        command.extend(args)
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL,
                              env=ansible_env(dict({"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"},
                                                   **(env or {}))))
    return InventoryRun(done, graph)
