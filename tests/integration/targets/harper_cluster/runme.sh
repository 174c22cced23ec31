#!/usr/bin/env bash
# The collection has a role named harper_cluster too, and in ansible-test's own playbook for a role
# target (roles: [harper_cluster]) the collection's role wins over this target. So this target is
# run as a script: runme.yml includes tasks/main.yml by path, and setup_harper is found in the
# targets folder (ANSIBLE_ROLES_PATH). ansible-test gives a role target the integration config
# (tests/integration/integration_config.yml) as vars_files, a script nothing: pass it here.
set -eu
config=../../integration_config.yml
if [[ -f "$config" ]]; then
    set -- -e "@$config" "$@"
fi
ANSIBLE_ROLES_PATH=.. ansible-playbook runme.yml -i "${INVENTORY_PATH}" "$@"
