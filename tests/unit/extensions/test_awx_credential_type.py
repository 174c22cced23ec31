# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Harper credential type (extensions/awx/harper_credential_type.yml): every input reaches the
job, secrets are marked secret, and what the injectors render is what the modules read.

The injectors are rendered here the way AWX and Automation Controller render them: a Jinja sandbox,
inputs left empty out of the namespace (so they render as ""), a boolean input left out as False,
the file template written first and its path given as tower.filename."""

import os
import re
from types import SimpleNamespace

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.harperdb.cluster.plugins.module_utils._base import connection_argument_spec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEFINITION = os.path.join(ROOT, "extensions", "awx", "harper_credential_type.yml")
# The options of awx.awx.credential_type that an entry of controller_credential_types carries.
CREDENTIAL_TYPE_KEYS = {"name", "description", "kind", "inputs", "injectors"}
# What AWX's JSON schema accepts in an input field (older releases refuse anything else).
FIELD_KEYS = {"id", "label", "type", "format", "choices", "help_text", "multiline", "secret", "ask_at_runtime"}
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUZmFrZQ==\n-----END CERTIFICATE-----\n"


class Unsafe(str):
    """A string tagged !unsafe: Ansible loads it and never templates it."""


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: Unsafe(loader.construct_scalar(node)))


@pytest.fixture(scope="module")
def credential_type():
    with open(DEFINITION) as handle:
        loaded = yaml.load(handle, Loader=_Loader)  # nosec: a SafeLoader with one tag more
    assert list(loaded) == ["controller_credential_types"]
    assert len(loaded["controller_credential_types"]) == 1
    return loaded["controller_credential_types"][0]


def inject(credential_type, inputs, folder):
    """(env, files written) for a credential of credential_type holding inputs, as AWX injects it."""
    fields = credential_type["inputs"]["fields"]
    namespace = dict((key, value) for key, value in inputs.items() if isinstance(value, bool) or value)
    for field in fields:
        if field["type"] == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False
    sandbox = ImmutableSandboxedEnvironment()
    written = {}
    files = credential_type["injectors"].get("file", {})
    filename = None
    for label, template in files.items():
        path = os.path.join(folder, "tmp_%s" % label.replace(".", "_"))
        with open(path, "w") as handle:
            handle.write(sandbox.from_string(template).render(**namespace))
        written[label] = path
        filename = path
    namespace["tower"] = SimpleNamespace(filename=filename)
    env = dict((name, sandbox.from_string(template).render(**namespace))
               for name, template in credential_type["injectors"]["env"].items())
    return env, written


def connection(env, monkeypatch):
    """The connection options a module gets with env as its environment."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = ArgumentSpecValidator(connection_argument_spec()).validate({})
    assert result.error_messages == []
    return result.validated_parameters


def test_it_takes_the_form_of_awx_credential_type_and_configuration_as_code(credential_type):
    assert set(credential_type) == CREDENTIAL_TYPE_KEYS
    assert credential_type["kind"] == "cloud"
    assert set(credential_type["injectors"]) <= {"env", "file", "extra_vars"}
    ids = [field["id"] for field in credential_type["inputs"]["fields"]]
    assert ids == ["api_url", "username", "password", "token", "ca", "validate_certs"]
    for field in credential_type["inputs"]["fields"]:
        assert set(field) <= FIELD_KEYS and {"id", "label"} <= set(field), field
        assert field["type"] in ("string", "boolean"), field
    assert set(credential_type["inputs"]["required"]) <= set(ids)


def test_the_password_and_the_token_are_secret_and_the_ca_is_multiline(credential_type):
    fields = dict((field["id"], field) for field in credential_type["inputs"]["fields"])
    assert sorted(name for name, field in fields.items() if field.get("secret")) == ["password", "token"]
    assert fields["ca"].get("multiline") is True


def test_every_input_is_injected_and_every_variable_is_one_the_modules_read(credential_type):
    injectors = credential_type["injectors"]
    templates = list(injectors["env"].values()) + list(injectors.get("file", {}).values())
    used = set()
    for template in templates:
        used.update(re.findall(r"[{][{%]-?\s*(?:if\s+)?([a-z_]+)", template))
    ids = set(field["id"] for field in credential_type["inputs"]["fields"])
    assert ids <= used, "inputs never injected: %s" % sorted(ids - used)
    fallbacks = sorted(option["fallback"][1][0] for option in connection_argument_spec().values()
                       if "fallback" in option)
    assert sorted(injectors["env"]) == fallbacks
    # Nothing goes to extra vars, where a job's record would show it.
    assert "extra_vars" not in injectors
    # Jinja for the controller: Ansible loading the file (vars_files, include_vars) must not render it.
    assert all(isinstance(template, Unsafe) for template in templates)


def test_a_full_credential_sets_the_whole_connection(credential_type, tmp_path, monkeypatch):
    inputs = {"api_url": "https://n1:9925", "username": "admin", "password": "s3cret", "ca": CA_PEM,
              "validate_certs": "true"}
    env, written = inject(credential_type, inputs, str(tmp_path))
    with open(env["HARPER_CA_PATH"]) as handle:
        assert handle.read() == CA_PEM
    assert list(written.values()) == [env["HARPER_CA_PATH"]]
    params = connection(env, monkeypatch)
    assert (params["api_url"], params["username"], params["password"]) == ("https://n1:9925", "admin", "s3cret")
    assert params["ca_path"] == env["HARPER_CA_PATH"] and params["validate_certs"] is True
    assert not params["token"]


def test_a_token_credential_without_ca_nor_validate_certs_verifies_with_the_system_cas(
        credential_type, tmp_path, monkeypatch):
    env, dummy_written = inject(credential_type, {"api_url": "https://n1:9925", "token": "tok"}, str(tmp_path))
    assert env["HARPER_CA_PATH"] == "" and env["HARPER_USERNAME"] == "" and env["HARPER_PASSWORD"] == ""
    params = connection(env, monkeypatch)
    assert params["token"] == "tok" and not params["username"] and not params["password"]
    # Left out, validate_certs means true; an empty CA path is no CA.
    assert params["validate_certs"] is True and not params["ca_path"]


def test_validate_certs_false_reaches_the_modules(credential_type, tmp_path, monkeypatch):
    inputs = {"api_url": "https://n1:9925", "username": "admin", "password": "p", "validate_certs": "false"}
    env, dummy_written = inject(credential_type, inputs, str(tmp_path))
    assert connection(env, monkeypatch)["validate_certs"] is False
