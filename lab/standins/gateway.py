#!/usr/bin/env python3
"""Gateway stand-in for the lab: answers on the OpenClaw gateway's port.

  GET  /                      -> {"ok", "service", "host"}
  POST /v1/chat/completions   -> an OpenAI-shaped reply with canned text (no model
                                 runs here: the drill checks that the gateway
                                 answers, not what a model says)
"""
import json
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("GATEWAY_PORT", "18789"))


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, {"ok": True, "service": "gateway", "host": socket.gethostname()})

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            return self.reply(404, {"error": "not found"})
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        text = "OK from the stand-in gateway on %s" % socket.gethostname()
        self.reply(200, {"model": request.get("model"), "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})

    def log_message(self, fmt, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
