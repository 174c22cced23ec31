#!/usr/bin/env bash
# Build the collection's HTML docsite: every module, the inventory plugin, the role's argument
# specs and the guides (the Markdown files of docs/), with antsibull-docs and Sphinx.
# Any Sphinx warning fails the build, and the built pages are checked (tests/lib/check_docsite.py).
#   bash docs/build-site.sh [--venv DIR] [--output DIR]
# Without --venv it first runs tests/setup-env.sh main, which makes or updates .venv (or
# $HARPER_VENV), so it works from a fresh clone. The site lands in DIR/html, by default
# tests/output/docsite/html (open index.html there).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/common.sh"

venv=""
output="$REPO_ROOT/tests/output/docsite"
while (($#)); do
    case "$1" in
        --venv) venv="$(cd "$2" && pwd)"; shift 2 ;;
        --output) mkdir -p "$2"; output="$(cd "$2" && pwd)"; shift 2 ;;
        *) die "usage: $0 [--venv DIR] [--output DIR]" ;;
    esac
done
if [[ -z "$venv" ]]; then
    bash "$REPO_ROOT/tests/setup-env.sh" main
    venv="$MAIN_VENV"
fi
require_venv "$venv"
export PATH="$venv/bin:$PATH"
cd "$REPO_ROOT"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT
# antsibull-docs reads the collection through ansible-doc: from a copy of this checkout, and only
# from there.
export ANSIBLE_COLLECTIONS_PATH="$work_dir/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
collection_tree copy "$ANSIBLE_COLLECTIONS_PATH" >/dev/null

# The site's sources: its root page (docs/site/rst/index.rst), the pages antsibull-docs writes
# for the collection (collections/...; it wants its output folder writable by its owner only),
# and the guides, the Markdown files of docs/ with their images, rendered by MyST. antsibull-docs
# takes only RST as a collection's extra docs, so the guides are pages of the site instead.
sources="$work_dir/rst"
mkdir -m 700 "$sources"
cp docs/site/rst/index.rst "$sources/"
timed "antsibull-docs collection" \
    antsibull-docs --config-file docs/site/antsibull-docs.cfg collection \
    --use-current --fail-on-error --cleanup everything \
    --dest-dir "$sources" "$COLLECTION_NAMESPACE.$COLLECTION_NAME"
mkdir "$sources/guides"
find docs -maxdepth 1 -type f \( -name '*.md' -o -name '*.png' -o -name '*.svg' \) \
    -exec cp -t "$sources/guides/" {} +

rm -rf "$output/html"
mkdir -p "$output"
# -W: a warning is an error; --keep-going: report all of them first. -E: no cached environment.
timed "sphinx-build" \
    sphinx-build -b html -W --keep-going -E -q -c docs/site "$sources" "$output/html"

timed "check the built pages" \
    python tests/lib/check_docsite.py "$output/html"
log "docsite: $output/html/index.html"
