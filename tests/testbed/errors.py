# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test bed's errors."""


class TestbedError(Exception):
    """A node could not be installed, started, reached or stopped."""

    __test__ = False  # not a pytest test class despite its name


class PortInUseError(TestbedError):
    """One of a node's ports is already taken on its address."""


class HarperAPIError(TestbedError):
    """The operations API answered with a non-2xx status."""

    def __init__(self, status_code, body, operation):
        self.status_code = status_code
        self.body = body
        super().__init__(
            "operation %r answered HTTP %s: %s" % (operation, status_code, body)
        )
