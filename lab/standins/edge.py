#!/usr/bin/env python3
"""Cloudflare edge stand-in for the lab, on each host's loopback.

The connector (the real cloudflared, pointed here by TUNNEL_EDGE) reaches an
edge that never answers: TCP connections are accepted and held silent, QUIC
datagrams are read and dropped. cloudflared then waits out each handshake and
retries, as it does against an unreachable edge, instead of failing at once and
retrying in a tight loop. Nothing here leaves the host.
"""
import os
import socket
import threading

ADDRESS = os.environ.get("EDGE_ADDRESS", "127.0.0.1")
PORT = int(os.environ.get("EDGE_PORT", "7844"))


def hold(conn):
    with conn:
        while conn.recv(65536):
            pass


def serve_tcp():
    server = socket.create_server((ADDRESS, PORT), reuse_port=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=hold, args=(conn,), daemon=True).start()


def drop_udp():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ADDRESS, PORT))
    while True:
        sock.recv(65536)


if __name__ == "__main__":
    threading.Thread(target=drop_udp, daemon=True).start()
    serve_tcp()
