#!/usr/bin/env bash
# A three-node Harper cluster on this machine (127.0.0.2-4), laid out by site.yml.
#
#   playbooks/local-cluster.sh [--dir DIR] [--inventory FILE]          create it, or converge it again
#   playbooks/local-cluster.sh --down [--dir DIR] [--inventory FILE]   stop every node and remove DIR
#
# DIR (default ~/.local/share/harperdb-cluster-local, or $HARPER_LOCAL_DIR) holds each
# node's HOME, root path and npm package, and the generated admin password.
# A second run changes nothing (changed=0) and prints each node's view of the mesh.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${HARPER_LOCAL_DIR:-$HOME/.local/share/harperdb-cluster-local}"
INVENTORY="$REPO_ROOT/playbooks/inventory/local.yml"
DOWN=false

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --down) DOWN=true ;;
        --dir) DIR="${2:?--dir needs a directory}"; shift ;;
        --inventory) INVENTORY="${2:?--inventory needs a file}"; shift ;;
        -h | --help) usage 0 ;;
        *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
    esac
    shift
done
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
INVENTORY="$(cd "$(dirname "$INVENTORY")" && pwd)/$(basename "$INVENTORY")"

# Ansible and the modules' Python dependencies, from the project's own venv.
VENV="${HARPER_VENV:-$REPO_ROOT/.venv}"
if ! "$VENV/bin/python" -c 'import ansible, requests' 2>/dev/null; then
    HARPER_VENV="$VENV" bash "$REPO_ROOT/tests/setup-env.sh" main
fi

# Ansible imports the collection from an ansible_collections/harperdb/cluster tree.
COLLECTIONS="$(mktemp -d)"
trap 'rm -rf "$COLLECTIONS"' EXIT
"$VENV/bin/python" "$REPO_ROOT/tests/lib/collection_tree.py" link "$COLLECTIONS" >/dev/null

# A random admin password, made once and kept beside the nodes.
CREDENTIALS="$DIR/credentials.yml"
if [[ ! -f "$CREDENTIALS" ]]; then
    (umask 077 && "$VENV/bin/python" -c \
        'import secrets; print("harper_cluster_admin_password: " + secrets.token_urlsafe(18))' > "$CREDENTIALS")
fi

run_site() {
    ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS" ANSIBLE_STDOUT_CALLBACK="${ANSIBLE_STDOUT_CALLBACK:-default}" \
        "$VENV/bin/ansible-playbook" -i "$INVENTORY" "$REPO_ROOT/playbooks/site.yml" \
        -e "harper_local_dir=$DIR" -e "@$CREDENTIALS" "$@"
}

if [[ "$DOWN" == true ]]; then
    # The role stops every host marked absent; then the files go.
    run_site -e harper_cluster_state=absent
    rm -rf "$DIR"
    echo "Local cluster stopped and $DIR removed."
else
    run_site
    echo "Local cluster up; its files are in $DIR. Stop it with: $0 --down --dir $DIR"
fi
