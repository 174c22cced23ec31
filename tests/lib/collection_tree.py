# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that lays out this checkout as ``ansible_collections/<namespace>/<name>``.

Ansible resolves ``harperdb.cluster`` only from a folder ``ROOT/ansible_collections/harperdb/cluster``
with ROOT on ANSIBLE_COLLECTIONS_PATH (and, for imports, on sys.path). Every tool that resolves
the collection gets that tree from here: ansible-lint, ansible-test sanity and units,
antsibull-docs, molecule, pytest, the benchmarks and ``playbooks/local-cluster.sh``. So a broken
layout fails all of them, and nothing installed in ``~/.ansible`` can stand in for it.

Two forms:
- ``link``: ``ROOT/ansible_collections/harperdb/cluster`` is a symlink to the checkout, so edits
  are seen at once. For ansible-playbook, ansible-lint, molecule and pytest.
- ``copy``: a real copy without VCS data, venvs and build or test leftovers. ansible-test resolves
  symlinks (it must run inside a real tree) and antsibull-docs copies whatever it is given.

From a shell: ``python tests/lib/collection_tree.py link|copy ROOT`` creates the tree under ROOT
and prints the collection's folder (ROOT/ansible_collections/harperdb/cluster).
"""

import argparse
import atexit
import os
import re
import shutil
import sys
import tempfile

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))

# What a copy leaves out: VCS data, venvs, reports, built artifacts and caches.
_NOT_COPIED = ('.git', '.venv*', '.ansible', '.pytest_cache', '__pycache__', '*.tar.gz')
_NOT_COPIED_PATHS = (os.path.join('tests', 'output'),)


def collection_name(checkout=CHECKOUT):
    """(namespace, name) as galaxy.yml declares them."""
    with open(os.path.join(checkout, 'galaxy.yml'), encoding='utf-8') as galaxy:
        text = galaxy.read()
    found = {}
    for key in ('namespace', 'name'):
        match = re.search(r'^%s:\s*([A-Za-z0-9_]+)\s*$' % key, text, re.MULTILINE)
        if not match:
            raise ValueError('galaxy.yml in %s has no %s' % (checkout, key))
        found[key] = match.group(1)
    return found['namespace'], found['name']


def collection_dir(root, checkout=CHECKOUT):
    """ROOT/ansible_collections/<namespace>/<name>."""
    return os.path.join(root, 'ansible_collections', *collection_name(checkout))


def laid_out_root(checkout=CHECKOUT):
    """ROOT when the checkout itself sits at ROOT/ansible_collections/<namespace>/<name>, else None."""
    namespace_dir, name = os.path.split(checkout)
    collections_dir, namespace = os.path.split(namespace_dir)
    root, collections = os.path.split(collections_dir)
    if (collections, namespace, name) == ('ansible_collections',) + collection_name(checkout):
        return root
    return None


def link(root, checkout=CHECKOUT):
    """Make ROOT/ansible_collections/<namespace>/<name> a symlink to the checkout; return its path."""
    dest = collection_dir(root, checkout)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.islink(dest) and os.path.realpath(dest) == checkout:
        return dest
    if os.path.lexists(dest):
        raise FileExistsError('%s exists and is not a link to %s' % (dest, checkout))
    os.symlink(checkout, dest)
    return dest


def _ignore(checkout):
    skipped_paths = {os.path.join(checkout, path) for path in _NOT_COPIED_PATHS}
    by_name = shutil.ignore_patterns(*_NOT_COPIED)

    def ignore(folder, names):
        ignored = set(by_name(folder, names))
        ignored.update(name for name in names if os.path.join(folder, name) in skipped_paths)
        return ignored
    return ignore


def copy(root, checkout=CHECKOUT):
    """Copy the checkout to ROOT/ansible_collections/<namespace>/<name>; return its path."""
    dest = collection_dir(root, checkout)
    if os.path.lexists(dest):
        raise FileExistsError('%s exists already; give an empty ROOT' % dest)
    shutil.copytree(checkout, dest, symlinks=True, ignore=_ignore(checkout))
    return dest


_ROOT_FOR_THIS_PROCESS = []


def use_checkout():
    """Make this process and its children resolve the collection from the checkout; return ROOT.

    The checkout's own ROOT when it is laid out already (as under ansible-test units), else a
    temporary ROOT holding a link, removed when the process exits. ROOT goes first on sys.path
    (for ``import ansible_collections.harperdb.cluster``) and is the whole of
    ANSIBLE_COLLECTIONS_PATH (for ansible-playbook and ansible-lint started from here).
    """
    if not _ROOT_FOR_THIS_PROCESS:
        root = laid_out_root()
        if root is None:
            root = tempfile.mkdtemp(prefix='harper-collections-')
            atexit.register(shutil.rmtree, root, True)
            link(root)
        _ROOT_FOR_THIS_PROCESS.append(root)
    root = _ROOT_FOR_THIS_PROCESS[0]
    if root not in sys.path:
        sys.path.insert(0, root)
    os.environ['ANSIBLE_COLLECTIONS_PATH'] = root
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('form', choices=('link', 'copy'))
    parser.add_argument('root', help='folder that gets ansible_collections/<namespace>/<name>')
    args = parser.parse_args(argv)
    lay_out = link if args.form == 'link' else copy
    print(lay_out(os.path.abspath(args.root)))


if __name__ == '__main__':
    main()
