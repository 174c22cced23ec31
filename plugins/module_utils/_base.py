# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base every module of the collection is built on.

Internal to the harperdb.cluster collection: it may change in any release.

It owns the connection options, one HarperClient per run (several, for
harper_mesh), and the way a run ends: every result carries the write
operations that were sent (credentials redacted), and every HarperError ends
as fail_json with its one-line message and no traceback.
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.harperdb.cluster.plugins.module_utils._client import (
    HarperClient,
    HarperError,
    collect_secrets,
)

# The largest timeout, in seconds, and retries a module accepts: past them a wait or a retry loop
# would run for days, and a socket cannot take the timeout.
MAX_SECONDS = 86400
MAX_RETRIES = 10


def connection_argument_spec(api_url=True):
    """The options documented in the harperdb.cluster.connection doc fragment
    (without api_url for a module that talks to several nodes)."""
    spec = dict(
        username=dict(type="str", fallback=(env_fallback, ["HARPER_USERNAME"])),
        password=dict(type="str", no_log=True, fallback=(env_fallback, ["HARPER_PASSWORD"])),
        token=dict(type="str", no_log=True, fallback=(env_fallback, ["HARPER_TOKEN"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["HARPER_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["HARPER_CA_PATH"])),
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=3),
    )
    if api_url:
        spec["api_url"] = dict(type="str", required=True, fallback=(env_fallback, ["HARPER_API_URL"]))
    return spec


class _AnsibleModule(AnsibleModule):
    """AnsibleModule that reports every error of the arguments, not only the first.

    AnsibleModule fails on the first error it found, and an unknown option (often a misspelt
    one) comes last: a type error or a missing option elsewhere hides it, and a missing option
    that the misspelt key was meant to be reads as a mystery. Here every error is reported, the
    unknown options first. A password or token given next to an argument that AnsibleModule
    could not read (connections: "x") escapes its no_log marking: it is masked here too.
    """

    _ready = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._ready = True

    def fail_json(self, msg=None, **kwargs):
        validation = getattr(self, "validation_result", None)
        if not self._ready and validation is not None and validation.errors:
            self.no_log_values.update(collect_secrets(self.params))
            msg = _all_errors(self._name, validation.errors.errors)
        super().fail_json(msg=msg, **kwargs)


def _all_errors(name, errors):
    """One message of every validation error, unknown options first, each once."""
    ordered = sorted(errors, key=lambda error: not isinstance(error, UnsupportedError))
    messages = []
    for error in ordered:
        text = str(error.msg)
        if isinstance(error, UnsupportedError):
            text = "Unsupported parameters for (%s) module: %s" % (name, text)
        text = text.rstrip(". ")
        if text not in messages:
            messages.append(text)
    return "%s." % "; ".join(messages)


# The least each timeout may be: a wait of 0 seconds checks once (a test, or a caller that only
# wants to know); a request or a restart needs at least a second.
LEAST_SECONDS = {"timeout": 1, "wait_timeout": 0, "restart_timeout": 1}


def bounds_problems(params, keys):
    """What is wrong with the timeouts named by keys (seconds, LEAST_SECONDS to MAX_SECONDS)."""
    return ["%s must be between %d and %d seconds, got %s" % (key, LEAST_SECONDS[key], MAX_SECONDS, params[key])
            for key in keys if not LEAST_SECONDS[key] <= params[key] <= MAX_SECONDS]


def credential_problems(params):
    """A token given together with a username or password, each counted only when not empty.

    AnsibleModule's mutually_exclusive counts an option set from an empty environment variable:
    a credential of AWX or Automation Controller injects every variable it knows, the ones left
    empty as "" (HARPER_TOKEN= next to HARPER_USERNAME and HARPER_PASSWORD), and so does an
    `export HARPER_TOKEN=` left in a shell. An empty value is no credential."""
    if not params.get("token"):
        return []
    given = [key for key in ("username", "password") if params.get(key)]
    if not given:
        return []
    return ["parameters are mutually exclusive: %s (give either token or username and password; an "
            "unset option is read from HARPER_TOKEN, HARPER_USERNAME and HARPER_PASSWORD)"
            % ", ".join("token|%s" % key for key in given)]


def unverified_warning(label, api_url, validate_certs, ca_path):
    """The warning for an operations API whose certificate the module does not check, or None."""
    if ca_path or validate_certs or not str(api_url).lower().startswith("https://"):
        return None
    where = "" if label in (None, api_url) else "%s: " % label
    return ("%sthe TLS certificate of %s is not verified (validate_certs: false), so anyone in the "
            "path can read the credentials sent to it. Give ca_path the CA that signed the node's "
            "certificate (the harper_cluster role's cluster CA is HARPER_PKI_DIR/ca.pem) and drop "
            "validate_certs: false." % (where, api_url))


def unverified_join_warning(label):
    """The warning for a join whose first replication handshake accepts any certificate."""
    return ("%s: verify_tls is false, so the first replication handshake accepts any certificate and "
            "the authorization sent with it can be read by anyone in the path. Install certificates "
            "the nodes trust (the harper_cluster role's cluster CA does) and drop verify_tls: false." % label)


def tls_counts(sessions):
    """What a result reports as `tls`: connections opened, and how many were not verified."""
    sessions = list(sessions)
    return {"connections": sum(getattr(s, "connections", 0) for s in sessions),
            "unverified": sum(getattr(s, "unverified", 0) for s in sessions)}


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
        self.module = _AnsibleModule(argument_spec=spec, supports_check_mode=True, **kwargs)
        self.params = self.module.params
        for key in ("timeout", "retries", "wait_timeout", "restart_timeout"):
            # An option set to null is an option left out.
            if key in spec and self.params[key] is None:
                self.params[key] = spec[key]["default"]
        timeouts = ["timeout"] + [key for key in ("wait_timeout", "restart_timeout") if key in argument_spec]
        problems = credential_problems(self.params) + bounds_problems(self.params, timeouts)
        if not 0 <= self.params["retries"] <= MAX_RETRIES:
            problems.append("retries must be between 0 and %d, got %s" % (MAX_RETRIES, self.params["retries"]))
        if problems:
            self.module.fail_json(msg="%s." % "; ".join(problems), operations=[])
        if not self.single_node:
            return
        try:
            self.client = self._single_client()
        except HarperError as exc:
            self.module.fail_json(msg=exc.message, operations=[])
        warning = unverified_warning(None, self.params["api_url"],
                                     self.params["validate_certs"], self.params["ca_path"])
        if warning:
            self.module.warn(warning)

    def _single_client(self):
        return HarperClient(
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

    @property
    def sessions(self):
        """The HTTP sessions of this run, whose connections the result counts."""
        return [self.client.session]

    def scrub(self, text):
        """text without any credential this run has seen."""
        return self.client.scrub(text)

    def fail(self, msg, **result):
        result.setdefault("operations", self.writes)
        result.setdefault("tls", tls_counts(self.sessions))
        self.module.fail_json(msg=self.scrub(msg), **result)

    def execute(self):
        """Run the module and exit: the one call each module's main() makes."""
        try:
            result = self.run()
        except HarperError as exc:
            self.fail(exc.message, **getattr(exc, "result", {}))
        result.setdefault("changed", False)
        result.setdefault("operations", self.writes)
        result.setdefault("tls", tls_counts(self.sessions))
        self.module.exit_json(**result)
