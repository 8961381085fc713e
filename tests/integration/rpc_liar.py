#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A JSON-RPC proxy in front of a real node that lies on request.

rpc_liar.py UPSTREAM_URL PORT_FILE LIE_FILE: listens on 127.0.0.1 (a free
port, written to PORT_FILE) and forwards every request to UPSTREAM_URL.
While LIE_FILE holds "VALUE COUNT", the next COUNT eth_getTransactionCount
answers become VALUE (the file is rewritten with the count left, removed
at 0); each lie is appended to LIE_FILE.log. While LIE_FILE.from holds an
address, every eth_getTransactionByHash answer names it as `from`.
"""
import http.server
import json
import os
import sys
import urllib.request

UPSTREAM, PORT_FILE, LIE_FILE = sys.argv[1], sys.argv[2], sys.argv[3]


def take_lie():
    try:
        with open(LIE_FILE) as f:
            value, count = f.read().split()
    except (OSError, ValueError):
        return None
    left = int(count) - 1
    if left > 0:
        with open(LIE_FILE, "w") as f:
            f.write("%s %d\n" % (value, left))
    else:
        os.unlink(LIE_FILE)
    return int(value)


class Proxy(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        req = urllib.request.Request(UPSTREAM, data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            answer = r.read()
        try:
            method = json.loads(body).get("method")
        except ValueError:
            method = None
        if method == "eth_getTransactionCount":
            lie = take_lie()
            if lie is not None:
                doc = json.loads(answer)
                with open(LIE_FILE + ".log", "a") as f:
                    f.write("%s %s -> %d\n" % (json.loads(body)["params"][1], doc.get("result"), lie))
                doc["result"] = hex(lie)
                answer = json.dumps(doc).encode()
        if method == "eth_getTransactionByHash":
            try:
                with open(LIE_FILE + ".from") as f:
                    sender = f.read().strip()
            except OSError:
                sender = None
            doc = json.loads(answer)
            if sender and isinstance(doc.get("result"), dict):
                doc["result"]["from"] = sender
                answer = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Proxy)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
