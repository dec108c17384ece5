#!/usr/bin/env python3
"""Model stand-in for the lab: the OpenAI-compatible model the real gateway is
configured with (/etc/wirebot-lab/openclaw.json), on the host's loopback. The
lab has no model and no internet; with this the drill's chat goes through the
real gateway's /v1/chat/completions and an agent run, and only the model's text
is canned.

  POST /v1/chat/completions  -> "OK from the stand-in model on <host>", as one
                                JSON completion or, when asked to stream, as
                                server-sent chunks (what the gateway asks for)
"""
import json
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("MODEL_PORT", "18791"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, status, content_type, data):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if self.path != "/v1/chat/completions":
            return self.send(404, "application/json", b'{"error":"not found"}')
        text = "OK from the stand-in model on %s" % socket.gethostname()
        base = {"id": "chatcmpl-lab", "created": 0, "model": request.get("model")}
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        if not request.get("stream"):
            body = dict(base, object="chat.completion", usage=usage,
                        choices=[{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}])
            return self.send(200, "application/json", json.dumps(body).encode())
        chunks = [
            dict(base, object="chat.completion.chunk", choices=[{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}]),
            dict(base, object="chat.completion.chunk", choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}], usage=usage),
        ]
        stream = "".join("data: %s\n\n" % json.dumps(c) for c in chunks) + "data: [DONE]\n\n"
        self.send(200, "text/event-stream", stream.encode())

    def log_message(self, fmt, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
