#!/usr/bin/env python3
"""A writer killed between its commit and publishing it.

SQLite commits a transaction by appending its frames to the WAL, then
publishes the new end of the WAL in the shared wal-index (the -shm file). A
writer killed in between leaves a durable transaction that readers sharing the
index do not see while another connection (Litestream's) keeps the index
open, yet Litestream, which reads the WAL itself, ships it. This commits one
event and puts the index back as it was before the commit.

Usage: killed-writer.py DATABASE EVENT_ID
"""
import sqlite3
import sys

# The two copies of the wal-index header and the checkpoint info after them.
WAL_INDEX_HEADER_BYTES = 136


def main() -> None:
    database, event_id = sys.argv[1], sys.argv[2]
    with open(database + "-shm", "rb") as shm:
        published = shm.read(WAL_INDEX_HEADER_BYTES)
    connection = sqlite3.connect(database)
    connection.execute("insert into events (id, kind) values (?, 'unpublished')", (event_id,))
    connection.commit()
    connection.close()
    with open(database + "-shm", "r+b") as shm:
        shm.write(published)


if __name__ == "__main__":
    main()
