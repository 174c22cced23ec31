# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""harper_routes' run() in-process against fake nodes (tests/lib/fake_harper.py): the routes
written to the file, and restart_required, which compares the routes planned with those the
running node loaded, not with the file before the task."""

from ansible_collections.harperdb.cluster.plugins.modules import harper_routes

from fake_harper import PASSWORD, USERNAME, FakeWorld, run  # tests/lib

LOGIN = {"username": USERNAME, "password": PASSWORD, "api_url": "http://n1:9925"}
N2 = "wss://n2:9933"
N3 = "wss://n3:9933"


def operations(world):
    return [w["operation"] for w in world.writes]


def test_a_new_route_without_restart_is_written_and_a_restart_is_required():
    world = FakeWorld()
    outcome, result, dummy_text = run(harper_routes, dict(LOGIN, routes=[N2]), world)
    assert outcome == "exit"
    assert (result["changed"], result["restarted"], result["restart_required"]) == (True, False, True)
    assert world.writes == [{"operation": "set_configuration", "replication_routes": [N2]}]
    assert result["routes"] == [N2]


def test_a_rerun_changes_nothing_and_still_requires_the_restart_an_earlier_task_did_not_make():
    world = FakeWorld()
    world.nodes["n1"].routes = [N2]  # in the file, not loaded: an earlier task wrote it
    outcome, result, dummy_text = run(harper_routes, dict(LOGIN, routes=[{"hostname": "N2", "port": 9933}]), world)
    assert outcome == "exit" and result["changed"] is False and result["restart_required"] is True
    assert world.writes == []


def test_restart_true_restarts_once_and_then_nothing_is_required():
    world = FakeWorld()
    world.nodes["n1"].routes = [N2]
    args = dict(LOGIN, routes=[N2, N3], restart=True)
    outcome, result, dummy_text = run(harper_routes, args, world)
    assert outcome == "exit"
    assert (result["changed"], result["restarted"], result["restart_required"]) == (True, True, False)
    assert operations(world) == ["set_configuration", "restart_service"]
    assert world.nodes["n1"].loaded_routes == [N2, N3]
    del world.requests[:]
    outcome, result, dummy_text = run(harper_routes, args, world)
    assert (result["changed"], result["restarted"], result["restart_required"]) == (False, False, False)
    assert world.writes == []


def test_routes_loaded_already_need_no_restart_even_with_restart_true():
    world = FakeWorld(routes=[N2])
    outcome, result, dummy_text = run(harper_routes, dict(LOGIN, routes=[N2], restart=True), world)
    assert (result["changed"], result["restarted"], result["restart_required"]) == (False, False, False)
    assert world.writes == []


def test_removal_leaves_the_other_routes_and_requires_a_restart_until_one_is_made():
    world = FakeWorld(routes=[N2, N3])
    outcome, result, dummy_text = run(harper_routes, dict(LOGIN, routes=[N2], state="absent"), world,
                                      check_mode=True)
    assert (result["changed"], result["restart_required"], result["routes"]) == (True, True, [N3])
    assert world.writes == []
    outcome, result, dummy_text = run(harper_routes, dict(LOGIN, routes=[N2], state="absent"), world)
    assert world.nodes["n1"].routes == [N3] and result["restart_required"] is True
