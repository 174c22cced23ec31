# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip script that ansible-test downloads to bootstrap its venvs.

ansible-test creates each of its virtual environments without pip and then runs a cached
get-pip script from ~/.ansible/test/cache/get_pip_<version>.py, downloading it first when the
cache is empty. That download host is not reachable from every build machine, so
tests/lib/common.sh copies this file into the cache under the names ansible-test looks for.
It installs pip from the standard library's ensurepip, then runs pip with the arguments
ansible-test gave (for example ``pip==24.2``) against the configured package index.
"""

import subprocess
import sys

# get-pip options that plain ``pip install`` does not know.
GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')


def main():
    """Bootstrap pip into the running interpreter's environment."""
    pip_args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + pip_args)


if __name__ == '__main__':
    main()
