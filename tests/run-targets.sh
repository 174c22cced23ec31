#!/usr/bin/env bash
# The modules' contracts in YAML: ansible-test integration over tests/integration/targets/, on a
# copy of the tree laid out as ansible_collections/harperdb/cluster, against real Harper nodes
# that the hidden target setup_harper starts through the test bed.
#   bash tests/run-targets.sh [--venv DIR] [TARGET...]
# --venv DIR  venv providing ansible-test (default: $HARPER_VENV or .venv)
# TARGET      one or more target names (default: every target that is not hidden)
# HARPER_TESTBED_FIRST_IP moves the nodes' loopback addresses (default 127.0.0.2 up): ansible-test
# passes the playbooks no HARPER_* variable, so it goes in as an extra var of integration_config.yml.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

venv="$MAIN_VENV"
targets=()
while (($#)); do
    case "$1" in
        --venv) venv="$(cd "$2" && pwd)"; shift 2 ;;
        -*) die "usage: $0 [--venv DIR] [TARGET...]" ;;
        *) targets+=("$1"); shift ;;
    esac
done
enter_ansible_test_tree "$venv"
[[ -d tests/integration/targets ]] || die "the collection tree at $PWD has no integration targets"
if [[ -n "${HARPER_TESTBED_FIRST_IP:-}" ]]; then
    printf 'setup_harper_first_ip: %s\n' "$HARPER_TESTBED_FIRST_IP" > tests/integration/integration_config.yml
fi
# ansible-test gives the playbooks only a few environment variables, not those npm may need to reach
# its registry (NODE_EXTRA_CA_CERTS, proxies): install the pinned harperdb into the test bed's
# cache here, so setup_harper only starts nodes from it.
timed "harperdb package" python -m tests.testbed install >/dev/null
log "ansible-test integration, $(ansible --version | sed -n 1p), targets: ${targets[*]:-all}"
# --local: this venv already holds the collection's requirements and the test bed's (requests).
timed "ansible-test integration" \
    ansible-test integration --local --python "$ANSIBLE_TEST_PYTHON" --color no "${targets[@]}"
