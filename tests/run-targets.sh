#!/usr/bin/env bash
# The modules' contracts in YAML: ansible-test integration over tests/integration/targets/, on a
# copy of the tree laid out as ansible_collections/harperdb/cluster, against real Harper nodes
# that the hidden target setup_harper starts through the test bed.
#   bash tests/run-targets.sh [--venv DIR] [--harper VERSION] [TARGET...]
# --venv DIR        venv providing ansible-test (default: $HARPER_VENV or .venv)
# --harper VERSION  the harperdb npm version the nodes run (default: $HARPER_VERSION, else the test
#                   bed's pin in tests/testbed/package.py)
# TARGET            one or more target names (default: every target that is not hidden)
# HARPER_TESTBED_FIRST_IP moves the nodes' loopback addresses (default 127.0.0.2 up): ansible-test
# passes the playbooks no HARPER_* variable, so both go in as extra vars of integration_config.yml.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

venv="$MAIN_VENV"
harper_version="${HARPER_VERSION:-}"
targets=()
while (($#)); do
    case "$1" in
        --venv) venv="$(cd "$2" && pwd)"; shift 2 ;;
        --harper) harper_version="$2"; shift 2 ;;
        -*) die "usage: $0 [--venv DIR] [--harper VERSION] [TARGET...]" ;;
        *) targets+=("$1"); shift ;;
    esac
done
enter_ansible_test_tree "$venv"
[[ -d tests/integration/targets ]] || die "the collection tree at $PWD has no integration targets"
[[ -z "$harper_version" || "$harper_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] \
    || die "--harper takes a harperdb version such as 4.7.29, not '$harper_version'"
extra_vars=""
if [[ -n "${HARPER_TESTBED_FIRST_IP:-}" ]]; then
    extra_vars+="setup_harper_first_ip: $HARPER_TESTBED_FIRST_IP"$'\n'
fi
if [[ -n "$harper_version" ]]; then
    extra_vars+="setup_harper_version: \"$harper_version\""$'\n'
fi
if [[ -n "$extra_vars" ]]; then
    printf '%s' "$extra_vars" > tests/integration/integration_config.yml
fi
# ansible-test gives the playbooks only a few environment variables, not those npm may need to reach
# its registry (NODE_EXTRA_CA_CERTS, proxies): install the harperdb the nodes run (the pinned one,
# or --harper) into the test bed's cache here, so setup_harper only starts nodes from it.
timed "harperdb package" python -m tests.testbed install ${harper_version:+--version "$harper_version"} >/dev/null
log "ansible-test integration, $(ansible --version | sed -n 1p), Harper ${harper_version:-pinned}, targets: ${targets[*]:-all}"
# --local: this venv already holds the collection's requirements and the test bed's (requests).
timed "ansible-test integration" \
    ansible-test integration --local --python "$ANSIBLE_TEST_PYTHON" --color no "${targets[@]}"
