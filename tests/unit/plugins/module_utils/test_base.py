# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module base: the connection options, the checks made before any request, and the one way
a run ends (operations in every result, a HarperError as one line), through harper_cluster_facts
and harper_node run in-process against fake nodes (tests/lib/fake_harper.py)."""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.harperdb.cluster.plugins.module_utils._base import (
    bounds_problems,
    connection_argument_spec,
)
from ansible_collections.harperdb.cluster.plugins.modules import harper_cluster_facts, harper_node

from fake_harper import PASSWORD, TOKEN, USERNAME, FakeWorld, run  # tests/lib

LOGIN = {"username": USERNAME, "password": PASSWORD, "api_url": "http://n1:9925"}


def test_the_connection_options_with_and_without_api_url():
    spec = connection_argument_spec()
    assert sorted(spec) == ["api_url", "ca_path", "password", "retries", "timeout", "token", "username",
                            "validate_certs"]
    assert spec["password"]["no_log"] and spec["token"]["no_log"]
    assert "api_url" not in connection_argument_spec(api_url=False)


def test_bounds_problems_names_each_timeout_out_of_range():
    assert bounds_problems({"timeout": 0, "wait_timeout": 86401, "restart_timeout": 5},
                           ["timeout", "wait_timeout", "restart_timeout"]) == [
        "timeout must be between 1 and 86400 seconds, got 0",
        "wait_timeout must be between 0 and 86400 seconds, got 86401"]


def test_every_result_carries_operations_and_facts_write_nothing():
    world = FakeWorld(joined=True)
    outcome, result, dummy_text = run(harper_cluster_facts, LOGIN, world)
    assert outcome == "exit" and result["changed"] is False and result["operations"] == []
    assert result["ansible_facts"]["harper_cluster"]["peer_count"] == 1


def test_a_bad_timeout_and_a_token_with_a_password_fail_before_any_request():
    world = FakeWorld()
    outcome, result, text = run(harper_node, dict(LOGIN, hostname="n2", token=TOKEN, wait_timeout=-1), world)
    assert outcome == "fail" and world.requests == []
    assert "mutually exclusive" in result["msg"]
    outcome, result, text = run(harper_node, dict(LOGIN, hostname="n2", wait_timeout=-1), world)
    assert outcome == "fail" and world.requests == []
    assert "wait_timeout must be between 0 and 86400 seconds, got -1" in result["msg"]
    assert TOKEN not in text and PASSWORD not in text


def test_a_harper_error_ends_as_one_line_with_the_writes_made():
    world = FakeWorld()
    outcome, result, text = run(harper_node, dict(LOGIN, api_url="http://n4:9925", hostname="n2", retries=0),
                                world)
    assert outcome == "fail" and "\n" not in result["msg"] and "Traceback" not in text
    assert "connection refused" in result["msg"].lower() and result["operations"] == []


def test_validate_certs_and_ca_path_fall_back_to_the_environment(monkeypatch):
    # What a credential injects (an AWX or Automation Controller credential of the type in
    # extensions/awx/), and an option given in the task winning over it.
    monkeypatch.setenv("HARPER_VALIDATE_CERTS", "false")
    monkeypatch.setenv("HARPER_CA_PATH", "/run/creds/harper-ca.pem")
    validator = ArgumentSpecValidator(connection_argument_spec())
    params = validator.validate({"api_url": "https://n1:9925"}).validated_parameters
    assert params["validate_certs"] is False and params["ca_path"] == "/run/creds/harper-ca.pem"
    params = validator.validate({"api_url": "https://n1:9925", "validate_certs": True,
                                 "ca_path": "/etc/harper-ca.pem"}).validated_parameters
    assert params["validate_certs"] is True and params["ca_path"] == "/etc/harper-ca.pem"
    monkeypatch.delenv("HARPER_VALIDATE_CERTS")
    monkeypatch.delenv("HARPER_CA_PATH")
    params = validator.validate({"api_url": "https://n1:9925"}).validated_parameters
    assert params["validate_certs"] is True and params["ca_path"] is None


def test_a_ca_file_from_the_environment_is_used_and_one_that_does_not_load_fails_before_any_request(
        monkeypatch, tmp_path):
    missing = str(tmp_path / "no-such-ca.pem")
    monkeypatch.setenv("HARPER_CA_PATH", missing)
    world = FakeWorld()
    outcome, result, dummy_text = run(harper_cluster_facts, dict(LOGIN, api_url="https://n1:9925"), world)
    assert outcome == "fail" and world.requests == []
    assert "Give ca_path a PEM file" in result["msg"], result["msg"]


def test_an_empty_credential_variable_is_no_credential(monkeypatch):
    # What a controller credential with a username and password injects: the token left empty.
    monkeypatch.setenv("HARPER_TOKEN", "")
    monkeypatch.setenv("HARPER_USERNAME", USERNAME)
    monkeypatch.setenv("HARPER_PASSWORD", PASSWORD)
    world = FakeWorld(joined=True)
    outcome, result, dummy_text = run(harper_cluster_facts, {"api_url": "http://n1:9925"}, world)
    assert outcome == "exit", result.get("msg")
    assert world.requests
    # A token credential: username and password left empty.
    monkeypatch.setenv("HARPER_TOKEN", TOKEN)
    monkeypatch.setenv("HARPER_USERNAME", "")
    monkeypatch.setenv("HARPER_PASSWORD", "")
    outcome, result, dummy_text = run(harper_cluster_facts, {"api_url": "http://n1:9925"}, FakeWorld(joined=True))
    assert outcome == "exit", result.get("msg")


def test_a_token_from_the_environment_with_a_username_given_is_refused_before_any_request(monkeypatch):
    monkeypatch.setenv("HARPER_TOKEN", TOKEN)
    world = FakeWorld()
    outcome, result, text = run(harper_cluster_facts, LOGIN, world)
    assert outcome == "fail" and world.requests == []
    assert result["msg"].startswith("parameters are mutually exclusive: token|username, token|password (")
    assert "HARPER_TOKEN" in result["msg"] and TOKEN not in text and PASSWORD not in text
