# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harper_routes module: the routes in the configuration file, and the restart that loads them.

Internal to the harperdb.cluster collection: it may change in any release.

The routes are read from the file and written whole (_routes.py); whether a
restart is required is decided by comparing the routes planned with those the
running node loaded (cluster_get_routes), not with the file before the task,
since an earlier task may have changed the file without a restart.
"""

from ansible_collections.harperdb.cluster.plugins.module_utils._base import HarperModule
from ansible_collections.harperdb.cluster.plugins.module_utils._restart import restart_and_wait
from ansible_collections.harperdb.cluster.plugins.module_utils._routes import (
    RouteInputError,
    parse_routes,
    plan_routes,
    read_loaded_routes,
    read_routes,
    same_routes,
    write_routes,
)


class RoutesModule(HarperModule):
    """The harper_routes module."""

    def __init__(self):
        super().__init__(dict(
            routes=dict(type="list", elements="raw", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            exclusive=dict(type="bool", default=False),
            restart=dict(type="bool", default=False),
            restart_timeout=dict(type="int", default=120),
        ))

    def run(self):
        params = self.params
        found = []
        if params["exclusive"] and params["state"] == "absent":
            found.append("exclusive: true makes the node's routes exactly the list given; it cannot be "
                         "combined with state: absent")
        try:
            wanted = parse_routes(params["routes"])
        except RouteInputError as exc:
            found.append(str(exc).rstrip("."))
        if found:
            self.fail("%s." % "; ".join(found))
        plan = plan_routes(read_routes(self.client), wanted, params["state"], params["exclusive"])
        loaded = read_loaded_routes(self.client)
        # Compared with what the running node loaded, not with the file before
        # this task: an earlier task may have changed the file without a restart.
        needs_restart = not same_routes(plan.after, loaded)
        restart = params["restart"] and needs_restart
        result = {
            "changed": plan.changed or restart,
            "routes": plan.after,
            "restarted": restart,
            "restart_required": needs_restart and not restart,
        }
        if self.diff_mode:
            result["diff"] = {"before": {"routes": plan.before}, "after": {"routes": plan.after}}
        if self.check_mode:
            return result
        if plan.changed:
            write_routes(self.client, plan.after)
        if restart:
            restart_and_wait(self.client, params["restart_timeout"])
            loaded = read_loaded_routes(self.client)
            result["restart_required"] = not same_routes(plan.after, loaded)
            if result["restart_required"]:
                self.module.warn("After the restart %s still runs with the routes %s, not those in its "
                                 "configuration file." % (self.client.api_url, loaded))
        result["routes"] = read_routes(self.client)
        return result
