"""The notification log end to end: the real daemon, the real
budgetwatch-notify (with a local webhook server as its receiver, answering
with markup) serving its log on [notify] query, and the real budgetwatch-web
reading it ([notify] control). An alert fires and is delivered; the
notifier's endpoint, its `log --json` and the outbox agree on that
notification; the console's JSON and its project and alerts pages show it
with the receiver's name and the receiver's answer, escaped; bad requests to
the endpoint get errors that name what was wrong."""

import http.server
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import threading
import time
import unittest

import msgpack
import zmq

from harness import DAEMON, DAY, JAN1, SOURCE_DIR, Daemon
from notify_harness import Notifier, storm_plan
from test_web import WEB, Http, free_port

BUSY = '{"error":"<b>稍后再试</b>"}'


class Hook:
    """A webhook that keeps what it got; its first answer to each
    notification is a 503 with markup in the body, the next a 200."""

    def __init__(self):
        self.got = []
        self.seen = set()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                msg = json.loads(body.decode("utf-8"))
                busy = msg["notification_id"] not in outer.seen
                outer.seen.add(msg["notification_id"])
                if not busy:
                    outer.got.append(msg)
                data = (BUSY if busy else '{"ok":true}').encode()
                self.send_response(503 if busy else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class NotifyWebTest(unittest.TestCase):
    def setUp(self):
        if not os.access(WEB, os.X_OK):
            self.fail("budgetwatch-web not built at %s" % WEB)
        self.tmp = tempfile.mkdtemp(prefix="bwn-web-")
        plan = os.path.join(self.tmp, "plan.csv")
        self.codes = storm_plan(plan, 1, 2)
        self.d = Daemon(plan=plan, directory=self.tmp, extra="repeat_interval = 0\n").start()
        self.hook = Hook()
        self.query = "ipc://" + os.path.join(self.tmp, "notify-query.sock")
        body = ("[receiver ops-hook]\ntype = webhook\nurl = %s\n"
                "[route all]\nreceivers = ops-hook\ngroup_by = project\ngroup_wait = 100ms\n"
                "group_interval = 200ms\n" % self.hook.url)
        self.n = Notifier(self.d, body, notify_extra="query = %s\n" % self.query).start()
        self.web = None
        self.ctx = zmq.Context()

    def tearDown(self):
        try:
            if self.web:
                self.web.terminate()
                rc = self.web.wait(30)
                self.web_log.close()
                with open(os.path.join(self.tmp, "web.log"), "rb") as f:
                    log = f.read().decode(errors="replace")
                for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                    self.assertNotIn(mark, log, log[-6000:])
                self.assertEqual(rc, 0, "budgetwatch-web exited %d on SIGTERM; log:\n%s" % (rc, log[-3000:]))
            self.n.stop()
        finally:
            self.ctx.destroy(linger=0)
            self.hook.close()
            self.d.cleanup()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def ask(self, raw):
        s = self.ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, 10000)
        s.connect(self.query)
        try:
            s.send(raw)
            return msgpack.unpackb(s.recv(), raw=False)
        finally:
            s.close()

    def start_web(self):
        port = free_port()
        accounts = os.path.join(self.tmp, "accounts")
        subprocess.run([WEB, "passwd", "-f", accounts, "carol", "viewer"], input="carol-secret\n",
                       text=True, check=True, capture_output=True)
        conf = os.path.join(self.tmp, "web.conf")
        with open(conf, "w") as f:
            f.write("[web]\nlisten = 127.0.0.1:%d\naccounts = %s\nstatic_dir = %s\n"
                    "[daemon]\ncontrol = %s\nalerts = %s\n[notify]\ncontrol = %s\n"
                    % (port, accounts, os.path.join(SOURCE_DIR, "clients", "web", "static"),
                       self.d.ctl_ep, self.d.pub_ep, self.query))
        self.web_log = open(os.path.join(self.tmp, "web.log"), "ab")
        self.web = subprocess.Popen([WEB, "-c", conf], stdout=self.web_log, stderr=self.web_log,
                                    env=dict(os.environ, TZ="Asia/Shanghai"))
        deadline = time.monotonic() + 30
        while True:
            try:
                if Http(port).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.web.poll() is not None:
                self.fail("budgetwatch-web did not start; see %s" % os.path.join(self.tmp, "web.log"))
            time.sleep(0.1)
        h = Http(port)
        status, _, _ = h.login("carol", "carol-secret")
        self.assertEqual(status, 303)
        return h

    def test_alert_notification_in_endpoint_and_console(self):
        # The socket file is for the notifier's user and group only.
        mode = stat.S_IMODE(os.stat(self.query[len("ipc://"):]).st_mode)
        self.assertEqual(mode, 0o660)
        # Nothing was told yet: the log is empty, not an error.
        r = self.ask(msgpack.packb({"op": "log"}))
        self.assertEqual(r, {"ok": True, "notifications": [], "more": False})

        self.d.ok("advance", to=JAN1 + 31 * DAY)
        lag = {a["project"]: a for a in self.d.ok("history")["alerts"] if a["kind"] == "lag"}
        self.assertEqual(set(lag), set(self.codes))
        self.n.wait_for("both alerts delivered", lambda: self.n.delivered(len(lag)))
        p, other = self.codes
        seq = lag[p]["seq"]

        # The endpoint: the notification of p's alert, to ops-hook, sent, with the answer.
        r = self.ask(msgpack.packb({"op": "log", "project": p}))
        self.assertTrue(r["ok"], r)
        self.assertFalse(r["more"])
        self.assertEqual(len(r["notifications"]), 1, r)
        note = r["notifications"][0]
        self.assertEqual(note["receiver"], "ops-hook")
        self.assertEqual(note["receiver_type"], "webhook")
        self.assertEqual(note["state"], "sent")
        self.assertEqual([(a["seq"], a["kind"], a["project"]) for a in note["alerts"]], [(seq, "lag", p)])
        # Two attempts: the first answered 503 (kept with its body), the second 200.
        atts = note["attempts"]
        self.assertEqual([(a["result"], a["status"]) for a in atts], [("retry", 503), ("sent", 200)], atts)
        self.assertIn("<b>稍后再试</b>", atts[0]["answer"])
        self.assertEqual(atts[1]["answer"], "HTTP 200")
        self.assertEqual(note["answer"], "HTTP 200")
        for a in atts:
            self.assertLessEqual(a["started_ms"], a["ended_ms"])
        # The receiver got that very notification.
        got = [m for m in self.hook.got if m.get("notification_id") == note["id"]]
        self.assertEqual(len(got), 1, self.hook.got)
        # The filters: by seq, by kind, and one that matches nothing.
        self.assertEqual([x["id"] for x in self.ask(msgpack.packb({"op": "log", "seq": seq}))["notifications"]],
                         [note["id"]])
        both = self.ask(msgpack.packb({"op": "log", "kind": "lag"}))["notifications"]
        self.assertEqual(len(both), 2)
        self.assertGreater(both[0]["id"], both[1]["id"], "newest first")
        self.assertEqual(self.ask(msgpack.packb({"op": "log", "kind": "overspend"}))["notifications"], [])
        one = self.ask(msgpack.packb({"op": "log", "limit": 1}))
        self.assertEqual((len(one["notifications"]), one["more"]), (1, True))
        # The CLI's log reads the same rows (one query for both).
        out = self.n.run("log", "--json", "--project", p, "-c", self.n.conf)
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = [json.loads(x) for x in out.stdout.splitlines()]
        self.assertEqual([(x["id"], x["receiver"], x["state"]) for x in rows],
                         [(note["id"], "ops-hook", "sent")])
        # And the outbox says the same.
        self.assertEqual(self.n.sql("SELECT receiver, state FROM notifications WHERE id = ?", note["id"]),
                         [("ops-hook", "sent")])

        h = self.start_web()
        # The console's JSON twins.
        status, _, body = h.request("GET", "/api/v1/notifications?project=%s&kind=lag" % p)
        self.assertEqual(status, 200, body)
        j = json.loads(body)
        self.assertEqual([x["id"] for x in j["notifications"]], [note["id"]])
        self.assertEqual(j["notifications"][0]["receiver"], "ops-hook")
        self.assertIn("<b>稍后再试</b>", j["notifications"][0]["attempts"][0]["answer"])
        status, _, body = h.request("GET", "/api/v1/project?code=%s" % p)
        self.assertEqual(status, 200, body)
        self.assertEqual([x["id"] for x in json.loads(body)["notifications"]], [note["id"]])
        status, _, body = h.request("GET", "/api/v1/notifications?limit=0")
        self.assertEqual(status, 400, body)
        self.assertIn("limit", json.loads(body)["error"])

        # The project page: that notification, its receiver and its answer, escaped.
        status, _, page = h.request("GET", "/project?code=%s" % p)
        self.assertEqual(status, 200)
        table = re.search(r'<table class="rows" id="notifications">.*?</table>', page, re.S)
        self.assertIsNotNone(table, page[-3000:])
        rows = re.findall(r'<tr class="note-(\w+)" data-note="(\d+)" data-receiver="([^"]*)">(.*?)</tr>',
                          table.group(0), re.S)
        self.assertEqual([(s, int(i), r) for s, i, r, _ in rows], [("sent", note["id"], "ops-hook")])
        cells = rows[0][3]
        self.assertIn('data-seq="%d"' % seq, cells)
        self.assertIn("(webhook)", cells)
        self.assertIn("已送达", cells)
        self.assertIn("&lt;b&gt;稍后再试&lt;/b&gt;", cells)
        self.assertIn("sent: HTTP 200", cells)
        self.assertNotIn("<b>稍后再试</b>", page)
        # The alerts page: both alerts' notifications.
        status, _, page = h.request("GET", "/alerts")
        self.assertEqual(status, 200)
        table = re.search(r'<table class="rows" id="notifications">.*?</table>', page, re.S)
        self.assertIsNotNone(table)
        ids = {int(i) for i in re.findall(r'data-note="(\d+)"', table.group(0))}
        self.assertEqual(ids, {x["id"] for x in both})
        self.assertNotIn("<b>稍后再试</b>", page)

        # With the notifier gone, the page says so and still shows the rest.
        self.n.stop()
        status, _, page = h.request("GET", "/project?code=%s" % p)
        self.assertEqual(status, 200)
        self.assertIn('id="notify-error"', page)
        self.assertIn("budgetwatch-notify did not answer", page)
        self.assertIn('id="history"', page)

    def test_bad_requests_name_what_is_wrong(self):
        cases = [
            (b"\xc1", "not one msgpack value"),
            (msgpack.packb([1, 2]), "must be a msgpack map, got an array"),
            (msgpack.packb({"project": "P00000"}), "has no 'op'"),
            (msgpack.packb({"op": "stats"}), 'unknown op "stats"'),
            (msgpack.packb({"op": "log", "projet": "P00000"}), "unknown key 'projet'"),
            (msgpack.packb({"op": "log", "limit": "ten"}), "key 'limit' must be an integer 1..1000, got a string"),
            (msgpack.packb({"op": "log", "limit": 5000}), "key 'limit' must be an integer 1..1000"),
            (msgpack.packb({"op": "log", "seq": -3}), "key 'seq' must be an alert seq"),
            (msgpack.packb({"op": "log", "since": "2022-01-01"}), "key 'since' must be Unix seconds"),
            (msgpack.packb({"op": "log", "project": 7}), "key 'project' must be a string"),
            (msgpack.packb({"op": "log"}) + b"\x00", "1 bytes after its msgpack map"),
        ]
        for raw, want in cases:
            r = self.ask(raw)
            self.assertEqual(r.get("ok"), False, (raw, r))
            self.assertIn("bad request to " + self.query, r["error"])
            self.assertIn(want, r["error"], raw)
        # The endpoint still answers a good one after them.
        self.assertTrue(self.ask(msgpack.packb({"op": "log"}))["ok"])


if __name__ == "__main__":
    unittest.main()
