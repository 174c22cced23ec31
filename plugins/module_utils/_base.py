# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base every module of the collection is built on.

It owns the connection options, one HarperClient per run (several, for
harper_mesh), and the way a run ends: every result carries the write
operations that were sent (credentials redacted), and every HarperError ends
as fail_json with its one-line message and no traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperClient, HarperError


def connection_argument_spec(api_url=True):
    """The options documented in the harperdb.cluster.connection doc fragment
    (without api_url for a module that talks to several nodes)."""
    spec = dict(
        username=dict(type="str", fallback=(env_fallback, ["HARPER_USERNAME"])),
        password=dict(type="str", no_log=True, fallback=(env_fallback, ["HARPER_PASSWORD"])),
        token=dict(type="str", no_log=True, fallback=(env_fallback, ["HARPER_TOKEN"])),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=3),
    )
    if api_url:
        spec["api_url"] = dict(type="str", required=True, fallback=(env_fallback, ["HARPER_API_URL"]))
    return spec


class HarperModule:
    """An AnsibleModule with a Harper client.

    Subclasses implement run(), which returns the result dict; it may raise
    HarperError at any point.
    """

    # False for a module that talks to several nodes: no api_url, no self.client; it
    # overrides writes and scrub.
    single_node = True

    def __init__(self, argument_spec, **kwargs):
        spec = connection_argument_spec(api_url=self.single_node)
        spec.update(argument_spec)
        mutually_exclusive = [("token", "username"), ("token", "password")]
        mutually_exclusive.extend(kwargs.pop("mutually_exclusive", []))
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                                    mutually_exclusive=mutually_exclusive, **kwargs)
        self.params = self.module.params
        if self.params["timeout"] <= 0 or self.params["retries"] < 0:
            self.module.fail_json(msg="timeout must be positive and retries must not be negative.")
        if not self.single_node:
            return
        self.client = HarperClient(
            self.params["api_url"],
            username=self.params["username"],
            password=self.params["password"],
            token=self.params["token"],
            validate_certs=self.params["validate_certs"],
            ca_path=self.params["ca_path"],
            timeout=self.params["timeout"],
            retries=self.params["retries"],
        )

    @property
    def check_mode(self):
        return self.module.check_mode

    @property
    def diff_mode(self):
        return self.module._diff

    def run(self):
        raise NotImplementedError

    @property
    def writes(self):
        """The write operations sent in this run (credentials redacted)."""
        return self.client.writes

    def scrub(self, text):
        """text without any credential this run has seen."""
        return self.client.scrub(text)

    def fail(self, msg, **result):
        result.setdefault("operations", self.writes)
        self.module.fail_json(msg=self.scrub(msg), **result)

    def execute(self):
        """Run the module and exit: the one call each module's main() makes."""
        try:
            result = self.run()
        except HarperError as exc:
            self.fail(exc.message, **getattr(exc, "result", {}))
        result.setdefault("changed", False)
        result.setdefault("operations", self.writes)
        self.module.exit_json(**result)
