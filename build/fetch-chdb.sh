#!/usr/bin/env bash
# Makes sure the embedded engine (libchdb.so from the npm package @chdb/lib-linux-x64-gnu) is in the per-user
# cache, verified against the package's published sha512 integrity. Prints the library's path.
# SEGMENTMCP_CHDB_LIBRARY=/path/to/libchdb.so skips the download and uses that copy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(tr -d '[:space:]' < "$here/chdb.version")
integrity="sha512-XP97mMqnc5tZpKQywR8N7cLTsHNiTmHr30pC5mzo3jWmukjKn2IBa60c2B/gWUNcuFjOMjWoorQICCqBVj5wpw=="

if [ -n "${SEGMENTMCP_CHDB_LIBRARY:-}" ]; then
  [ -f "$SEGMENTMCP_CHDB_LIBRARY" ] || { echo "SEGMENTMCP_CHDB_LIBRARY points at '$SEGMENTMCP_CHDB_LIBRARY', which does not exist" >&2; exit 1; }
  echo "$SEGMENTMCP_CHDB_LIBRARY"; exit 0
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/segmentmcp/chdb/$version"
lib="$cache/libchdb.so"
if [ -f "$lib" ] && [ -f "$cache/.verified" ]; then echo "$lib"; exit 0; fi

command -v npm >/dev/null || { echo "npm is needed to fetch the embedded ClickHouse engine (or set SEGMENTMCP_CHDB_LIBRARY)" >&2; exit 1; }
mkdir -p "$cache"
work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetching @chdb/lib-linux-x64-gnu@$version (about 180 MB) into $cache" >&2
(cd "$work" && npm pack --silent "@chdb/lib-linux-x64-gnu@$version" >/dev/null)
tgz=$(ls "$work"/*.tgz)
actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$actual" != "$integrity" ]; then
  echo "integrity mismatch for $tgz: expected $integrity, got $actual" >&2; exit 1
fi
tar -xzf "$tgz" -C "$work" package/libchdb.so
mv -f "$work/package/libchdb.so" "$lib"
echo "$integrity" > "$cache/.verified"
echo "$lib"
