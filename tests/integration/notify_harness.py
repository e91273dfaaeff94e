"""Harness for budgetwatch-notify's integration tests: the real notifier next
to the real daemon (harness.Daemon) in a temporary directory, a plan of many
projects for storms, and local HTTP servers that implement the documented
contracts of the WeCom group robot, the DingTalk custom robot and a webhook
that dedupes by notification id. Readiness comes from NOTIFY_SOCKET."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.parse

from harness import SANITIZED

NOTIFY = os.environ.get("BW_NOTIFY", "")
if not NOTIFY and os.environ.get("BW_DAEMON"):
    NOTIFY = os.path.join(os.path.dirname(os.environ["BW_DAEMON"]), "..", "clients", "notify",
                          "budgetwatch-notify")

WECOM_KEY = "6a8f-test-key"
DING_TOKEN = "dt-test-token"
DING_SECRET = "SEC0123456789abcdef"
HOOK_SECRET = "hook-secret"


def storm_plan(path, units=10, per_unit=100):
    """A plan of units x per_unit projects of 100 万元 each; returns the codes."""
    codes = []
    with open(path, "w", encoding="utf-8") as f:
        f.write("unit_code,unit_name,project_code,project_name,budget_wan,fiscal_wan,milestones,target_pct\n")
        for u in range(units):
            for p in range(per_unit):
                code = "P%02d%03d" % (u, p)
                codes.append(code)
                f.write("U%02d,第%d单位,%s,第%d单位第%d号项目,100,100,,95\n" % (u, u, code, u, p))
    return codes


class Robots:
    """One HTTP server for the three contracts; everything received is kept
    with the instant it arrived. `fail_next` makes the next N answers of a
    path the robot's rate-limit code."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = {"wecom": [], "dingtalk": [], "hook": []}
        self.errors = []            # contract violations the notifier made
        self.limit_next = {"wecom": 0, "dingtalk": 0, "hook": 0}
        self.hook_ids = set()
        self.hook_delay = 0.0       # seconds the webhook takes to answer
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query)
                code, answer = outer.handle(u.path, q, self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A client closing its kept-alive connection is no error.
                import sys
                if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def url(self, what):
        base = "http://127.0.0.1:%d" % self.port
        return {"wecom": base + "/cgi-bin/webhook/send?key=" + WECOM_KEY,
                "dingtalk": base + "/robot/send?access_token=" + DING_TOKEN,
                "hook": base + "/hook"}[what]

    def _bad(self, what):
        with self.lock:
            self.errors.append(what)

    def handle(self, path, q, headers, body):
        t = time.monotonic()
        try:
            msg = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            self._bad("%s: not UTF-8 JSON: %s" % (path, e))
            return 400, {"errcode": 40000, "errmsg": "bad json"}
        if path == "/cgi-bin/webhook/send":
            return self.wecom(t, q, msg)
        if path == "/robot/send":
            return self.dingtalk(t, q, msg)
        if path == "/hook":
            return self.hook(t, headers, body, msg)
        self._bad("unknown path " + path)
        return 404, {}

    def _limited(self, name):
        with self.lock:
            if self.limit_next[name] > 0:
                self.limit_next[name] -= 1
                return True
        return False

    def wecom(self, t, q, msg):
        # https://developer.work.weixin.qq.com/document/path/91770
        if q.get("key") != [WECOM_KEY]:
            self._bad("wecom: key %r" % q.get("key"))
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        kind = msg.get("msgtype")
        if kind not in ("text", "markdown") or not isinstance(msg.get(kind), dict):
            self._bad("wecom: msgtype %r" % kind)
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        content = msg[kind].get("content", "")
        limit = 2048 if kind == "text" else 4096
        if len(content.encode()) > limit:
            self._bad("wecom: %s content of %d bytes" % (kind, len(content.encode())))
            return 200, {"errcode": 40058, "errmsg": "content exceed max length"}
        if self._limited("wecom"):
            return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
        with self.lock:
            self.got["wecom"].append((t, msg))
        return 200, {"errcode": 0, "errmsg": "ok"}

    def dingtalk(self, t, q, msg):
        # https://open.dingtalk.com/document/robots/customize-robot-security-settings
        if q.get("access_token") != [DING_TOKEN]:
            self._bad("dingtalk: access_token %r" % q.get("access_token"))
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        ts = q.get("timestamp", [""])[0]
        sign = q.get("sign", [""])[0]       # parse_qs has URL-decoded it once
        want = base64.b64encode(hmac.new(DING_SECRET.encode(), ("%s\n%s" % (ts, DING_SECRET)).encode(),
                                         hashlib.sha256).digest()).decode()
        if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > 3600 * 1000 or sign != want:
            self._bad("dingtalk: timestamp %r sign %r (want %r)" % (ts, sign, want))
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        md = msg.get("markdown")
        if msg.get("msgtype") != "markdown" or not isinstance(md, dict) or not md.get("title") \
                or not md.get("text"):
            self._bad("dingtalk: not a markdown message with title and text: %r" % msg)
            return 200, {"errcode": 40035, "errmsg": "missing parameter"}
        if self._limited("dingtalk"):
            return 200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        with self.lock:
            self.got["dingtalk"].append((t, msg))
        return 200, {"errcode": 0, "errmsg": "ok"}

    def hook(self, t, headers, body, msg):
        if self.hook_delay:
            time.sleep(self.hook_delay)
        sig = headers.get("X-Budgetwatch-Signature", "")
        want = "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if sig != want:
            self._bad("hook: signature %r, want %r" % (sig, want))
            return 401, {"error": "bad signature"}
        if str(msg.get("notification_id")) != headers.get("X-Budgetwatch-Notification"):
            self._bad("hook: notification id header and body differ")
        if self._limited("hook"):
            return 503, {"error": "try later"}
        with self.lock:
            if msg["notification_id"] in self.hook_ids:
                return 200, {"duplicate": True}      # deduped by notification id
            self.hook_ids.add(msg["notification_id"])
            self.got["hook"].append((t, msg))
        return 200, {"ok": True}


class Notifier:
    """One budgetwatch-notify process over a daemon's endpoints."""

    def __init__(self, daemon, body, directory=None, notify_extra=""):
        self.d = daemon
        self.dir = directory or daemon.dir
        self.conf = os.path.join(self.dir, "notify.conf")
        self.outbox = os.path.join(self.dir, "outbox.db")
        self.log_path = os.path.join(self.dir, "notify.log")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write("[notify]\nalerts = %s\ncontrol = %s\noutbox = %s\ntick = 20ms\n"
                    "min_backoff = 200ms\nmax_backoff = 1s\n%s\n%s"
                    % (daemon.pub_ep, daemon.ctl_ep, self.outbox, notify_extra, body))
        self.proc = None

    def start(self, timeout=60):
        nsock_path = os.path.join(self.dir, "notify-n.sock")
        if os.path.exists(nsock_path):
            os.unlink(nsock_path)
        self.nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.nsock.bind(nsock_path)
        env = dict(os.environ, NOTIFY_SOCKET=nsock_path)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([NOTIFY, "-c", self.conf], env=env, stdout=self.log, stderr=self.log)
        self.nsock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = self.nsock.recv(4096).decode()
            except socket.timeout:
                break
            if "READY=1" in data.split("\n"):
                return self
        raise AssertionError("budgetwatch-notify did not say READY=1; log:\n" + self.logtext())

    def logtext(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._close()

    def stop(self):
        rc = 0
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(60)
        self._close()
        log = self.logtext() if os.path.exists(self.log_path) else ""
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if mark in log:
                raise AssertionError("sanitizer report in the notifier's log:\n" + log[-6000:])
        if rc != 0:
            raise AssertionError("budgetwatch-notify exited %d on SIGTERM; log:\n%s" % (rc, log[-3000:]))

    def _close(self):
        if getattr(self, "nsock", None):
            self.nsock.close()
            self.nsock = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def sql(self, q, *args):
        db = sqlite3.connect(self.outbox, timeout=30)
        try:
            return db.execute(q, args).fetchall()
        finally:
            db.close()

    def wait_for(self, what, cond, timeout=180):
        """Polls cond() (a state, not a sleep-as-assertion) until it is true."""
        deadline = time.monotonic() + timeout * (3 if SANITIZED else 1)
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.05)
        raise AssertionError("%s: not reached; notifier log:\n%s" % (what, self.logtext()[-4000:]))

    def settled(self):
        """Every alert taken is in a notification and none is pending."""
        q = self.sql("SELECT (SELECT count(*) FROM queue WHERE notification IS NULL),"
                     " (SELECT count(*) FROM notifications WHERE state = 'pending')")[0]
        return q == (0, 0)

    def delivered(self, n):
        """n alerts taken and every one of them delivered. The count comes
        first: alerts and their queue rows are taken in one transaction, so
        once the count is n, settled() speaks of all of them."""
        return self.sql("SELECT count(*) FROM alerts")[0][0] == n and self.settled()

    def run(self, *args):
        return subprocess.run([NOTIFY] + list(args), capture_output=True, text=True, timeout=120)
