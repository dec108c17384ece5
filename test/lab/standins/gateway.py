#!/usr/bin/env python3
"""Gateway stand-in for the lab: answers on the OpenClaw gateway's port."""
import json
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("GATEWAY_PORT", "18789"))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        data = json.dumps({"ok": True, "service": "gateway", "host": socket.gethostname()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
