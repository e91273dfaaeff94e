"""Harness for integration tests: starts the real budgetwatchd on ipc:// sockets
in a temporary directory with its own SQLite ledger, and talks to it over
ZeroMQ. Readiness comes from a real NOTIFY_SOCKET (READY=1), never a sleep."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import msgpack
import zmq

DAEMON = os.environ.get("BW_DAEMON", "")
CLI = os.environ.get("BW_CLI", "")
SOURCE_DIR = os.environ.get("BW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PLAN = os.path.join(SOURCE_DIR, "examples", "zunhua-2022", "plan.csv")
SANITIZED = os.environ.get("BW_SANITIZED") == "1"

# 2022 in Asia/Shanghai (UTC+8, no daylight saving).
JAN1 = 1640966400
DAY = 86400
MAR31_END = 1648742400          # 2022-04-01 00:00 +08:00: the 03-31 deadline
YEAR_END = JAN1 + 365 * DAY


def wan(text):
    """万元 text -> fen, exactly (no float)."""
    whole, _, frac = text.partition(".")
    return int(whole) * 1000000 + int((frac + "000000")[:6])


def local_day(ts, offset=8 * 3600):
    """The Unix s of the local midnight starting the day of ts (UTC+8 by default)."""
    return ts - (ts + offset) % DAY


def daily_of_events(ledger):
    """The daily sums the ledger should hold, computed here from its events:
    {(project, day): (fiscal, other, events)}; and what its daily table holds."""
    import sqlite3
    db = sqlite3.connect(ledger)
    try:
        want = {}
        for project, ts, typ, fund, amount in db.execute(
                "SELECT project, ts, type, fund, amount FROM events"):
            key = (project, local_day(ts))
            f, o, n = want.get(key, (0, 0, 0))
            net = amount if typ == 0 else -amount
            want[key] = (f + net, o, n + 1) if fund == 0 else (f, o + net, n + 1)
        got = {(p, d): (f, o, n) for p, d, f, o, n in
               db.execute("SELECT project, day, fiscal, other, events FROM daily")}
        return want, got
    finally:
        db.close()


def load_plan(path=PLAN):
    import csv
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["project_code"].strip(): {"unit": r["unit_code"].strip(),
                                         "name": r["project_name"].strip(),
                                         "budget": wan(r["budget_wan"].strip())} for r in rows}


def event(src, eid, project, amount, ts, unit=None, seq=None, type="disbursement", fund=None, ref=None):
    m = {"v": 1, "type": type, "src": src, "id": str(eid), "project": project,
         "amount": amount, "ts": ts}
    if unit is not None:
        m["unit"] = unit
    if seq is not None:
        m["seq"] = seq
    if fund is not None:
        m["fund"] = fund
    if ref is not None:
        m["ref"] = ref
    return msgpack.packb(m)


class Daemon:
    """One budgetwatchd process with its own directory, config and ledger."""

    def __init__(self, plan=PLAN, clock="event", extra="", directory=None, sub=True,
                 daemon_extra=""):
        self.dir = directory or tempfile.mkdtemp(prefix="bw-")
        self.plan = plan
        self.ack_ep = "ipc://%s/ack.sock" % self.dir
        self.pub_ep = "ipc://%s/pub.sock" % self.dir
        self.ctl_ep = "ipc://%s/control.sock" % self.dir
        self.sub_ep = "ipc://%s/sub.sock" % self.dir
        self.conf = os.path.join(self.dir, "budgetwatchd.conf")
        with open(self.conf, "w") as f:
            f.write("[daemon]\nplan = %s\nstate_dir = %s\nruntime_dir = %s\nclock = %s\n%s"
                    "[endpoints]\nevents_ack = %s\nalerts_pub = %s\ncontrol = %s\n%s"
                    "[alerts]\nheartbeat_interval = 1s\n%s"
                    % (plan, self.dir, self.dir, clock, daemon_extra, self.ack_ep, self.pub_ep,
                       self.ctl_ep, ("events_sub = bind:%s\n" % self.sub_ep) if sub else "", extra))
        self.ctx = zmq.Context.instance()
        self.proc = None
        self.notices = []
        self.consumed = 0
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.preexec = None     # run in the child before exec (limits, signals)
        self.wrapper = []       # a command the daemon runs under (strace)
        self.env = {}           # more environment for the daemon

    # -- process --
    def start(self, timeout=60, expect_ready=True):
        if self.proc and self.proc.poll() is None:
            raise AssertionError("start: the daemon (pid %d) is still running" % self.proc.pid)
        nsock_path = os.path.join(self.dir, "notify.sock")
        if os.path.exists(nsock_path):
            os.unlink(nsock_path)
        self.notices = []
        self.consumed = 0
        self.nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.nsock.bind(nsock_path)
        self.nsock.settimeout(0.2)
        # Like systemd, keep reading: a full datagram queue would block the
        # daemon's sd_notify.
        self.notified = threading.Condition()
        self.reader = threading.Thread(target=self._read_notices, args=(self.nsock,), daemon=True)
        self.reader.start()
        env = dict(os.environ, NOTIFY_SOCKET=nsock_path)
        self.log = open(self.log_path, "ab")
        env.update(self.env)
        self.proc = subprocess.Popen(self.wrapper + [DAEMON, "-c", self.conf], env=env, stdout=self.log,
                                     stderr=self.log, preexec_fn=self.preexec)
        if expect_ready:
            self.wait_notice("READY=1", timeout)
        return self

    def _read_notices(self, sock):
        while True:
            try:
                data = sock.recv(4096).decode()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.notified:
                self.notices.append(data)
                self.notified.notify_all()

    def wait_notice(self, what, timeout=60):
        """Waits for a notification not seen by an earlier wait, e.g. READY=1."""
        deadline = time.monotonic() + timeout
        with self.notified:
            while True:
                for i in range(self.consumed, len(self.notices)):
                    if what in self.notices[i].split("\n"):
                        self.consumed = i + 1
                        return self.notices[i]
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.notified.wait(0.2)):
                    break
                self.notified.wait(min(left, 0.5))
        raise AssertionError("budgetwatchd did not say %s; log:\n%s" % (what, self.logtext()))

    def logtext(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def set_clock(self, clock):
        """Rewrites the configuration's clock for the next start."""
        with open(self.conf) as f:
            text = f.read()
        text = text.replace("clock = event", "clock = " + clock).replace("clock = wall", "clock = " + clock)
        with open(self.conf, "w") as f:
            f.write(text)

    def stop(self, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(timeout)
        else:
            rc = self.proc.returncode if self.proc else 0
        self.close_notify()
        return rc

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.close_notify()

    def close_notify(self):
        if getattr(self, "nsock", None):
            self.nsock.close()
            self.nsock = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def cleanup(self):
        """Stops the daemon the way systemd does (SIGTERM) and removes its
        directory. Fails if it does not exit 0, or if its log holds a sanitizer
        report: under ASan, LeakSanitizer runs at that exit."""
        try:
            rc = 0
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    rc = self.proc.wait(60)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    raise AssertionError("budgetwatchd did not stop within 60 s of SIGTERM")
            self.close_notify()
            log = self.logtext() if os.path.exists(self.log_path) else ""
            for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if mark in log:
                    raise AssertionError("sanitizer report in the daemon's log:\n" + log[-6000:])
            if rc != 0:
                raise AssertionError("budgetwatchd exited %d on SIGTERM; log:\n%s" % (rc, log[-3000:]))
        finally:
            if self.proc and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.close_notify()
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- sockets --
    def control(self, op, timeout=30, **args):
        s = self.ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.ctl_ep)
        try:
            req = dict(op=op, **args)
            s.send(msgpack.packb(req))
            if not s.poll(timeout * 1000):
                raise AssertionError("no reply to %s; log:\n%s" % (op, self.logtext()))
            return msgpack.unpackb(s.recv(), raw=False)
        finally:
            s.close()

    def ok(self, op, **args):
        r = self.control(op, **args)
        if not r.get("ok"):
            raise AssertionError("%s failed: %s" % (op, r.get("error")))
        return r

    def dealer(self):
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.ack_ep)
        return s

    def send_reliable(self, events, window=1000, timeout=60):
        """Sends packed events on the reliable path with a window in flight;
        returns {(src,id): ack} for every ack."""
        s = self.dealer()
        acks = {}
        try:
            sent = 0
            pending = 0
            deadline = time.monotonic() + timeout
            while sent < len(events) or pending > 0:
                while sent < len(events) and pending < window:
                    s.send(events[sent])
                    sent += 1
                    pending += 1
                if not s.poll(max(1, int((deadline - time.monotonic()) * 1000))):
                    raise AssertionError("acks missing: %d pending" % pending)
                while s.poll(0):
                    a = msgpack.unpackb(s.recv(), raw=False)
                    acks[(a["src"], a["id"])] = a
                    pending -= 1
        finally:
            s.close()
        return acks

    def subscriber(self, prefix=b""):
        """A SUB socket whose subscription is known to be live: it has seen a heartbeat."""
        s = self.ctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.SUBSCRIBE, prefix)
        if prefix:
            s.setsockopt(zmq.SUBSCRIBE, b"hb")
        s.connect(self.pub_ep)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if s.poll(1000):
                topic, body = s.recv_multipart()
                if topic == b"hb":
                    return s
        raise AssertionError("no heartbeat on %s" % self.pub_ep)


def drain_alerts(sub, until_seq, timeout=30):
    """Collects alert messages until one with seq >= until_seq arrives."""
    out = []
    deadline = time.monotonic() + timeout
    last = 0
    while last < until_seq:
        if not sub.poll(max(1, int((deadline - time.monotonic()) * 1000))):
            raise AssertionError("alerts up to seq %d not received (got up to %d)" % (until_seq, last))
        topic, body = sub.recv_multipart()
        if topic == b"hb":
            continue
        a = msgpack.unpackb(body, raw=False)
        a["_topic"] = topic.decode()
        out.append(a)
        last = a["seq"]
    return out


class DaemonTest(unittest.TestCase):
    """Base: one fresh daemon per test, cleaned up afterwards."""
    clock = "event"
    extra = ""

    def setUp(self):
        if not DAEMON:
            self.fail("BW_DAEMON is not set; run the integration tests through ctest")
        self.d = Daemon(clock=self.clock, extra=self.extra).start()

    def tearDown(self):
        self.d.cleanup()
