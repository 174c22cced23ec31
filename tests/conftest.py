# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.harperdb.cluster`` importable for tests under plain pytest.

The collection's code imports itself by its full name
(``ansible_collections.harperdb.cluster.plugins.module_utils...``), which resolves only when
the tree sits at ``<dir>/ansible_collections/harperdb/cluster`` and ``<dir>`` is on sys.path.

- Under ``ansible-test units`` the tree is already laid out that way (tests/run-sanity.sh runs it
  on such a copy) and ansible-test installs its own collection loader: nothing is done here
  beyond making sure ``<dir>`` is on sys.path.
- Under plain ``pytest`` from a checkout with any other name, a symlink tree
  ``<tmp>/ansible_collections/harperdb/cluster -> <repo>`` is built and ``<tmp>`` is put first
  on sys.path. A symlink rather than a copy means edits are seen without a rebuild. It lives
  in this file (tests/) rather than tests/unit/ so that tests/integration gets it too.
"""

import atexit
import os
import shutil
import sys
import tempfile

NAMESPACE = 'harperdb'
NAME = 'cluster'


def _collections_parent(repo_root):
    """Return the directory holding ansible_collections/NAMESPACE/NAME for repo_root, creating a symlink tree if needed."""
    namespace_dir, name = os.path.split(repo_root)
    collections_dir, namespace = os.path.split(namespace_dir)
    parent, collections = os.path.split(collections_dir)
    if (collections, namespace, name) == ('ansible_collections', NAMESPACE, NAME):
        return parent

    parent = tempfile.mkdtemp(prefix='harper-collection-')
    atexit.register(shutil.rmtree, parent, True)
    link_dir = os.path.join(parent, 'ansible_collections', NAMESPACE)
    os.makedirs(link_dir)
    os.symlink(repo_root, os.path.join(link_dir, NAME))
    return parent


def _make_collection_importable():
    repo_root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    parent = _collections_parent(repo_root)
    if parent not in sys.path:
        sys.path.insert(0, parent)


_make_collection_importable()
