#!/usr/bin/env bash
# Keep FEEDSERVER_DATABASE (feedserver's database.path, a symlink this script
# owns) pointing at a continuously updated copy of the CMS database, restored by
# `litestream restore -f` from the replica that config/litestream/primary.yml
# writes.
#
# Litestream 0.5.17 cannot resume follow mode on an existing copy once the
# primary has written since its last snapshot ("cannot resume follow mode: saved
# TXID ... is ahead of latest snapshot"), so whenever the follower stops, this
# restores a fresh copy beside the old one and swaps the symlink when the copy is
# complete. feedserver notices the new file by its inode at the next change
# check, reopens and re-renders, and serves the old copy meanwhile: nothing is
# lost and no half-restored file is ever read.
#
#   CMS_DATABASE=/var/lib/cms/cms.sqlite LITESTREAM_REPLICA_URL=s3://... \
#   FEEDSERVER_DATABASE=/var/lib/feedserver/cms.sqlite \
#   config/litestream/follow.sh
# Optional: LITESTREAM (the binary), LITESTREAM_CONFIG (default: replica.yml
# beside this script), FOLLOW_INTERVAL (default 1s).
set -euo pipefail
: "${FEEDSERVER_DATABASE:?set FEEDSERVER_DATABASE to the path feedserver reads}"
: "${CMS_DATABASE:?set CMS_DATABASE to the database path named in the Litestream config}"
litestream=${LITESTREAM:-litestream}
config=${LITESTREAM_CONFIG:-$(dirname "$0")/replica.yml}
interval=${FOLLOW_INTERVAL:-1s}
dir=$(dirname "$FEEDSERVER_DATABASE")
name=$(basename "$FEEDSERVER_DATABASE")
child=

remove_copy() { rm -f "$1" "$1-wal" "$1-shm" "$1-txid"; }
stop() { [ -n "$child" ] && kill "$child" 2>/dev/null; wait || true; exit 0; }
trap stop TERM INT

while true; do
    copy="$dir/$name.$(date +%s%N)"
    "$litestream" restore -f -follow-interval "$interval" -config "$config" -o "$copy" "$CMS_DATABASE" &
    child=$!
    # The -txid file appears once the first restore is complete.
    while kill -0 "$child" 2>/dev/null && [ ! -e "$copy-txid" ]; do sleep 0.1; done
    if [ -e "$copy-txid" ]; then
        old=$(readlink "$FEEDSERVER_DATABASE" 2>/dev/null || true)
        ln -sfn "$(basename "$copy")" "$dir/.$name.next"
        mv -T "$dir/.$name.next" "$FEEDSERVER_DATABASE"  # atomic: readers see the old copy or the new one
        if [ -n "$old" ] && [ "$old" != "$(basename "$copy")" ]; then remove_copy "$dir/$old"; fi
        echo "follow.sh: serving $copy" >&2
    fi
    wait "$child" || echo "follow.sh: litestream restore stopped ($?); restoring afresh" >&2
    child=
    if [ "$(readlink "$FEEDSERVER_DATABASE" 2>/dev/null || true)" != "$(basename "$copy")" ]; then
        remove_copy "$copy"
    fi
    sleep 1
done
