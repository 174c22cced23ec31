# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""harper_pki: the cluster CA made once, node certificates issued only when needed, operator
certificates checked; files and modes on disk, and no key in a result."""

import datetime
import os
import re
import stat

from ansible_collections.harperdb.cluster.plugins.module_utils import _pki
from ansible_collections.harperdb.cluster.plugins.modules import harper_pki

from fake_harper import FakeWorld, run  # tests/lib

NAMES = ["node1.example.com", "10.0.0.11"]


def pki(args, check_mode=False):
    return run(harper_pki, args, FakeWorld({}), check_mode=check_mode)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_ca_and_a_node_certificate_are_made_once_and_a_rerun_changes_nothing(tmp_path):
    folder = str(tmp_path / "pki")
    outcome, result, text = pki({"path": folder, "node": "node1", "common_name": "node1.example.com", "names": NAMES})
    assert outcome == "exit", result
    assert result["changed"] and result["issued"]
    assert result["certificate"]["subject"] == "CN=node1.example.com"
    # The CA's CN carries the time it was made: Harper keeps two CAs apart by CN.
    assert re.match(r"^CN=harperdb\.cluster CA \d{8}T\d{6}Z$", result["certificate"]["issuer"]), result["certificate"]
    assert result["certificate"]["names"] == NAMES
    assert mode(folder) == 0o700 and mode(os.path.join(folder, "ca.key")) == 0o600
    assert mode(result["private_key_path"]) == 0o600
    with open(result["certificate_path"]) as handle:
        certificate = handle.read()
    with open(result["ca_path"]) as handle:
        ca = handle.read()
    assert _pki.certificate_problems(certificate, ca, NAMES) == []
    for path in (result["private_key_path"], os.path.join(folder, "ca.key")):
        with open(path) as handle:
            assert handle.read().strip() not in text
    assert "PRIVATE KEY" not in text
    outcome, again, _text = pki({"path": folder, "node": "node1", "common_name": "node1.example.com", "names": NAMES})
    assert outcome == "exit" and not again["changed"] and not again["issued"]
    with open(result["certificate_path"]) as handle:
        assert handle.read() == certificate


def test_check_mode_writes_nothing(tmp_path):
    folder = str(tmp_path / "pki")
    outcome, result, _text = pki({"path": folder, "node": "node1", "names": NAMES}, check_mode=True)
    assert outcome == "exit" and result["changed"] and result["issued"]
    assert not os.path.exists(folder)


def test_a_new_name_issues_the_certificate_again_and_the_diff_shows_it(tmp_path):
    folder = str(tmp_path / "pki")
    pki({"path": folder, "node": "node1", "names": NAMES})
    args = {"path": folder, "node": "node1", "names": NAMES + ["node1.internal"], "_ansible_diff": True}
    outcome, result, _text = pki(args)
    assert outcome == "exit" and result["issued"]
    assert any("does not name node1.internal" in reason for reason in result["reasons"])
    assert result["diff"]["before"]["names"] == NAMES
    assert result["diff"]["after"]["names"] == NAMES + ["node1.internal"]


def test_a_ca_without_its_key_fails_before_anything_is_written(tmp_path):
    folder = tmp_path / "pki"
    folder.mkdir()
    certificate, _key = _pki.make_ca()
    (folder / "ca.pem").write_text(certificate)
    outcome, result, _text = pki({"path": str(folder), "node": "node1", "names": NAMES})
    assert outcome == "fail"
    assert "is incomplete (ca.key is missing)" in result["msg"]
    assert not (folder / "nodes").exists()


def test_an_operator_certificate_that_does_not_verify_fails_naming_the_node_and_each_problem(tmp_path):
    ca, ca_key = _pki.make_ca("operator CA")
    other, _other_key = _pki.make_ca("another CA")
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30)
    expired, _key = _pki.issue(ca, ca_key, "node2", ["node2.example.com"], days=2, now=past)
    outcome, result, _text = pki({"path": str(tmp_path), "node": "node2", "certificate": expired,
                                  "certificate_authority": other, "names": ["node2.example.com", "10.0.0.12"]})
    assert outcome == "fail"
    for words in ("node2: its certificate", "expired on", "not signed by the CA given", "does not name 10.0.0.12"):
        assert words in result["msg"]


def test_a_good_operator_certificate_passes_and_its_ca_is_kept_for_the_controller(tmp_path):
    ca, ca_key = _pki.make_ca("operator CA")
    certificate, _key = _pki.issue(ca, ca_key, "node2", ["node2.example.com", "10.0.0.12"])
    args = {"path": str(tmp_path), "node": "node2", "certificate": certificate, "certificate_authority": ca,
            "names": ["node2.example.com", "10.0.0.12"]}
    outcome, result, _text = pki(args, check_mode=True)
    assert outcome == "exit" and not result["changed"]
    with open(result["ca_path"]) as handle:
        assert handle.read() == ca


def test_a_certificate_without_its_ca_is_refused_by_the_arguments(tmp_path):
    outcome, result, _text = pki({"path": str(tmp_path), "node": "node2", "certificate": "x"})
    assert outcome == "fail" and "certificate_authority" in result["msg"]
