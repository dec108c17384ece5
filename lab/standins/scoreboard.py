#!/usr/bin/env python3
"""Scoreboard stand-in for the lab: the real scoreboard is private.

Appends UUID-keyed events to a SQLite database in WAL mode (as Litestream needs)
and acknowledges each write only after it is committed. Events are append-only:
a repeated id is ignored, never overwritten.
  POST /v1/events {"id", "kind", "payload"}   -> 200 {"ack": id} after commit
  GET  /v1/events                             -> {"ids": [...]}
  GET  /health                                -> {"ok", "host", "db", "count"}
Header X-Tenant: <id> selects <tenants dir>/<id>/events.db.
"""
import json
import os
import signal
import socket
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DB = os.environ.get("SCOREBOARD_DB", "/data/wirebot/scoreboard/events.db")
TENANTS = os.environ.get("SCOREBOARD_TENANTS", "/data/wirebot/scoreboard/tenants")
PORT = int(os.environ.get("SCOREBOARD_PORT", "8100"))
SCHEMA = """CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, tenant TEXT, kind TEXT,
    created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), payload TEXT)"""

# Writes go through one connection per database, opened once and used only
# under that database's lock: a thread per request, each opening its database
# again, or one lock for all, could not keep up with hundreds of tenants
# writing every second.
_writers = {}
_locks = {}
_locks_guard = threading.Lock()
_stopping = threading.Event()


def lock_for(path):
    with _locks_guard:
        if path not in _locks:
            _locks[path] = threading.Lock()
        return _locks[path]


def open_database(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    conn = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(SCHEMA)
    return conn


def inode(path):
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def writer(path):
    """The database's write connection, opened again if its file was removed or
    replaced (a restore, a tenant removed); the caller holds lock_for(path)."""
    cached = _writers.get(path)
    if cached is None or cached[1] != inode(path):
        if cached is not None:
            cached[0].close()
        conn = open_database(path)
        _writers[path] = (conn, inode(path))
    return _writers[path][0]


def read(path, query):
    conn = open_database(path)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


class Handler(BaseHTTPRequestHandler):
    def db_path(self):
        tenant = self.headers.get("X-Tenant")
        if tenant is None:
            return DB, None
        if not tenant.replace("-", "").isalnum():
            raise ValueError("bad tenant")
        return os.path.join(TENANTS, tenant, "events.db"), tenant

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path != "/v1/events":
            return self.reply(404, {"error": "not found"})
        try:
            length = int(self.headers.get("Content-Length", "0"))
            event = json.loads(self.rfile.read(length))
            path, tenant = self.db_path()
            with lock_for(path):
                if _stopping.is_set():
                    return self.reply(503, {"error": "stopping"})
                writer(path).execute(
                    "INSERT OR IGNORE INTO events (id, tenant, kind, payload) VALUES (?, ?, ?, ?)",
                    (str(event["id"]), tenant, event.get("kind", "event"), json.dumps(event.get("payload"))),
                )
            self.reply(200, {"ack": event["id"]})
        except (ValueError, KeyError) as err:
            self.reply(400, {"error": str(err)})

    def do_GET(self):
        path, _ = self.db_path()
        if self.path == "/health":
            count = read(path, "SELECT count(*) FROM events")[0][0]
            return self.reply(200, {"ok": True, "host": socket.gethostname(), "db": path, "count": count})
        if self.path.startswith("/v1/events"):
            ids = [row[0] for row in read(path, "SELECT id FROM events ORDER BY rowid")]
            return self.reply(200, {"ids": ids})
        self.reply(404, {"error": "not found"})

    def log_message(self, fmt, *args):
        if args and str(args[1]).startswith(("4", "5")):
            super().log_message(fmt, *args)


def stop_cleanly(server):
    """SIGTERM stops the service as a well-behaved one stops: a write in progress
    finishes and is acknowledged, none starts after. (Killed in the middle of a
    commit, SQLite can leave a transaction in the WAL that readers of the live
    file do not see until the next recovery, while Litestream, which reads the
    WAL itself, ships it.)"""
    def handler(signum, frame):
        _stopping.set()
        # Each database's lock once: a write under way finishes (and is acknowledged) first.
        with _locks_guard:
            locks = list(_locks.values())
        for lock in locks:
            with lock:
                pass
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, handler)


class Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops connections under a few hundred requests a second.
    request_queue_size = 1024
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("0.0.0.0", PORT), Handler)
    stop_cleanly(server)
    server.serve_forever()
