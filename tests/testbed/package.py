# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pinned harperdb npm package, installed once per version into a cache."""

import fcntl
import os
import shutil
import subprocess

from .errors import TestbedError

HARPER_VERSION = os.environ.get("HARPER_VERSION", "4.7.29")


def cache_root():
    return os.environ.get("HARPER_TESTBED_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "harperdb-cluster-testbed"
    )


def ensure_package(version=None):
    """npm-install harperdb@version into the cache once; return its executable.

    A file lock serialises concurrent callers (parallel test sessions); the
    package is installed into a temporary folder and renamed into place so an
    interrupted install never looks complete.
    """
    version = version or HARPER_VERSION
    root = cache_root()
    target = os.path.join(root, "harperdb-%s" % version)
    executable = os.path.join(target, "node_modules", ".bin", "harperdb")
    if os.access(executable, os.X_OK):
        return executable
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "harperdb-%s.lock" % version), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.access(executable, os.X_OK):  # another process finished first
            return executable
        staging = target + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        command = [
            "npm", "install", "--prefix", staging, "--no-audit", "--no-fund",
            "--no-save", "--loglevel=error", "harperdb@%s" % version,
        ]
        result = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=900, check=False,
        )
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise TestbedError(
                "npm install harperdb@%s failed (exit %s):\n%s"
                % (version, result.returncode, result.stdout[-4000:])
            )
        os.rename(staging, target)
    return executable
