"""budgetwatch-web against a daemon whose endpoints are tcp:// with CURVE:
the console reads its supervisor key from the certificate files `budgetwatch
keygen` writes, reads status and follows the alert stream through CURVE, its
live stream (/events) carries the alerts the daemon publishes, and its
acknowledgement is recorded with the user's name; a console whose key the
daemon does not know is told the daemon does not answer (/healthz 503)."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import unittest

import msgpack
import zmq
import zmq.auth

from harness import DAEMON, MAR31_END, SOURCE_DIR, Daemon
from test_security import configure, free_port, issuer, keygen
from test_web import WEB, Http


def start_web(tmp, name, d, server_cert, key):
    port = free_port()
    accounts = os.path.join(tmp, name + ".accounts")
    subprocess.run([WEB, "passwd", "-f", accounts, "alice", "handler"], input="alice-secret\n",
                   text=True, check=True, capture_output=True)
    conf = os.path.join(tmp, name + ".conf")
    with open(conf, "w") as f:
        f.write("[web]\nlisten = 127.0.0.1:%d\naccounts = %s\nstatic_dir = %s\n"
                "[daemon]\ncontrol = %s\nalerts = %s\nserver_cert = %s\nkey = %s\ntimeout = 1000\n"
                % (port, accounts, os.path.join(SOURCE_DIR, "clients", "web", "static"),
                   d.ctl_ep, d.pub_ep, server_cert, key))
    log = open(os.path.join(tmp, name + ".log"), "ab")
    proc = subprocess.Popen([WEB, "-c", conf], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            Http(port).request("GET", "/healthz")
            return proc, port, log
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                proc.wait()
                log.close()
                raise AssertionError("budgetwatch-web %s did not come up" % name)
            time.sleep(0.05)


class WebOverCurve(unittest.TestCase):
    def setUp(self):
        if not DAEMON:
            self.fail("BW_DAEMON is not set; run the integration tests through ctest")
        self.d = Daemon(sub=False)
        self.keys, self.server = issuer(self.d)
        self.cert = {n: keygen(n, self.keys) for n in ("web-console", "adm", "stranger")}
        dirs = {}
        for role, names in (("payment", ()), ("supervisor", ("web-console",)), ("admin", ("adm",))):
            dirs[role] = os.path.join(self.d.dir, "keys", role)
            os.makedirs(dirs[role])
            for n in names:
                shutil.copy(self.cert[n], dirs[role])
        ports = [free_port() for _ in range(3)]
        self.d.ack_ep, self.d.pub_ep, ctl = ["tcp://127.0.0.1:%d" % p for p in ports]
        configure(self.d, {"events_ack": self.d.ack_ep, "alerts_pub": self.d.pub_ep,
                           "control": ctl},
                  "[security]\nserver_key = %s\npayment_keys = %s\nsupervisor_keys = %s\n"
                  "admin_keys = %s\n" % (self.server, dirs["payment"], dirs["supervisor"], dirs["admin"]))
        self.tcp_ctl = ctl
        self.d.start()
        self.procs = []

    def tearDown(self):
        codes = []
        for proc, log in self.procs:
            proc.terminate()
            codes.append(proc.wait(30))
            log.close()
        logs = ""
        for _, log in self.procs:
            with open(log.name, errors="replace") as f:
                logs += f.read()
        self.d.cleanup()
        self.assertEqual(codes, [0] * len(codes), logs)
        self.assertNotIn("Sanitizer", logs)

    def ok(self, op, **args):
        """A control request with the administrator's key, over CURVE."""
        s = self.d.ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        pub, sec = zmq.auth.load_certificate(self.cert["adm"] + "_secret")
        s.curve_serverkey = zmq.auth.load_certificate(self.server)[0]
        s.curve_publickey, s.curve_secretkey = pub, sec
        s.connect(self.tcp_ctl)
        try:
            s.send(msgpack.packb(dict(op=op, **args)))
            self.assertTrue(s.poll(30000), "no reply to %s" % op)
            r = msgpack.unpackb(s.recv(), raw=False)
        finally:
            s.close()
        self.assertTrue(r["ok"], r)
        return r

    def web(self, name, key):
        class Ep:   # the console's view of the daemon: tcp:// control and alerts
            ctl_ep, pub_ep = self.tcp_ctl, self.d.pub_ep
        proc, port, log = start_web(self.d.dir, name, Ep, self.server, self.cert[key] + "_secret")
        self.procs.append((proc, log))
        return port

    def test_console_through_curve(self):
        port = self.web("console", "web-console")
        status, _, body = Http(port).request("GET", "/healthz")
        self.assertEqual((status, json.loads(body)["daemon"]), (200, True), body)
        h = Http(port)
        self.assertEqual(h.login("alice", "alice-secret")[0], 303)
        status, _, body = h.request("GET", "/api/v1/overview")
        self.assertEqual(status, 200, body)
        total = json.loads(body)["status"]["total"]
        self.assertEqual(total["projects"], self.ok("status")["total"]["projects"])

        # The live stream: open it, then make the daemon publish.
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(("GET /events HTTP/1.1\r\nHost: x\r\nCookie: bww_session=%s\r\n\r\n"
                   % h.cookies["bww_session"]).encode())
        got = b""
        while b"event: hello" not in got:
            got += s.recv(65536)
        self.assertIn(b"text/event-stream", got)
        # Wait for the console's SUB to be live (it counts heartbeats).
        deadline = time.monotonic() + 30
        while json.loads(Http(port).request("GET", "/healthz")[2])["stream_heard"] < 0:
            self.assertLess(time.monotonic(), deadline, "the console never heard the stream")
            time.sleep(0.05)
        self.ok("advance", to=MAR31_END)
        while b"event: alert" not in got:
            got += s.recv(65536)
        s.close()
        data = re.search(rb"event: alert\ndata: (.*)\n", got).group(1)
        first = json.loads(data)
        self.assertIn(first["kind"], ("lag", "milestone"))

        _, _, page = h.request("GET", "/alerts")
        csrf = re.search(r'<meta name="csrf" content="([0-9a-f]+)"', page).group(1)
        status, headers, _ = h.request("POST", "/alerts/ack", {"csrf": csrf, "project": first["project"],
                                                               "kind": first["kind"], "note": "curve"})
        self.assertEqual((status, headers.get("Location")), (303, "/alerts?done=ack"))
        acked = [m for m in self.ok("history", project=first["project"])["alerts"]
                 if m["state"] == "acknowledged"]
        self.assertEqual([(m["by"], m["note"]) for m in acked], [("alice", "curve")])

    def test_unknown_key_is_not_answered(self):
        port = self.web("stranger", "stranger")
        status, _, body = Http(port).request("GET", "/healthz")
        self.assertEqual(status, 503)
        self.assertFalse(json.loads(body)["daemon"])
        self.assertIn("did not answer", json.loads(body)["error"])


if __name__ == "__main__":
    unittest.main()
