"""The ledger's promises, each from the state where it used to break: every
acknowledged payment counted once after a SIGKILL or a reload on a fresh
ledger; a project dropped from the plan and put back keeping its payments;
saved totals edited behind the daemon's back refused at start; damage found
by verify; a failing ledger stopping the daemon at once, with no ack for what
was not committed; startup errors that say what and where, each with its own
exit status (budgetwatchd(8))."""

import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import unittest

import msgpack
import zmq

from harness import DAEMON, DAY, JAN1, PLAN, Daemon, drain_alerts, event, load_plan

# budgetwatchd(8), EXIT STATUS
EX_DAMAGED, EX_STORE, EX_IN_USE, EX_CONFIG = 65, 74, 75, 78


class Fixture(unittest.TestCase):
    """A daemon on a copy of the plan that the test may rewrite."""

    def setUp(self):
        self.d = Daemon()
        self.plan_path = os.path.join(self.d.dir, "plan.csv")
        shutil.copy(PLAN, self.plan_path)
        self.use_plan(self.plan_path)
        self.plan = load_plan()
        self.codes = sorted(self.plan)
        self.acked = {}
        self.sent = 0

    def tearDown(self):
        self.d.cleanup()

    def use_plan(self, path):
        with open(self.d.conf) as f:
            text = f.read()
        with open(self.d.conf, "w") as f:
            f.write(text.replace("plan = " + PLAN, "plan = " + path))

    def write_plan(self, without=()):
        with open(PLAN, encoding="utf-8") as f:
            lines = f.read().splitlines(True)
        with open(self.plan_path, "w", encoding="utf-8") as f:
            f.writelines(l for l in lines if not any(("," + c + ",") in l for c in without))

    def pay(self, items, window=1000):
        """Sends (project, fen), all in flight at once by default: one commit,
        which writes only an eighth of the rows it moved (the rest are saved
        lazily, daemon/core/saveq.h); window=1 commits each alone, and every
        row is then saved at once. Keeps what was accepted."""
        evs = []
        for project, fen in items:
            self.sent += 1
            n = self.sent
            evs.append((("t", "e%d" % n), event("t", "e%d" % n, project, fen, JAN1 + DAY + n)))
            self.acked.setdefault(project, 0)
        acks = self.d.send_reliable([e for _, e in evs], window=window)
        for (key, _), (project, fen) in zip(evs, items):
            self.assertEqual(acks[key]["status"], "accepted", acks[key])
            self.acked[project] += fen

    def check(self, present=None):
        """Every project's paid, the department total and verify."""
        st = self.d.ok("status")
        rows = {p["project"]: p["paid"] for p in st["projects"]}
        for code in (present if present is not None else self.codes):
            self.assertEqual(rows.get(code), self.acked.get(code, 0), "project %s" % code)
        want = sum(v for c, v in self.acked.items() if c in rows)
        self.assertEqual(st["total"]["paid"], want)
        self.assertTrue(self.d.ok("verify")["consistent"])

    def reload(self):
        self.d.proc.send_signal(signal.SIGHUP)
        self.d.wait_notice("RELOADING=1")
        self.d.wait_notice("READY=1")


class FreshLedger(Fixture):
    """Defect 1: on a ledger that had not finished one save pass, restore took
    every saved row for current and dropped the rest (27,351 fen became 3,003)."""

    def test_sigkill_after_the_first_commits(self):
        self.d.start()
        self.pay([(c, 1000 + i) for i, c in enumerate(self.codes)])
        self.d.kill()
        self.d.start()
        self.check()
        self.d.kill()           # and again: the loss used to persist
        self.d.start()
        self.check()

    def test_reload_with_the_plan_unchanged(self):
        self.d.start()
        self.pay([(c, 1000 + i) for i, c in enumerate(self.codes)])
        self.reload()
        self.check()
        self.d.kill()
        self.d.start()
        self.check()


    def test_a_ledger_killed_so_by_the_release_before_is_repaired(self):
        # tests/fixtures/ledger-v2-killed.db: schema 2, written by the release
        # before this fix, SIGKILLed after one acknowledged payment to each of
        # the 27 projects; 3 rows saved and no totals_upto.
        fixture = os.path.join(os.path.dirname(PLAN), "..", "..", "tests", "fixtures",
                               "ledger-v2-killed.db")
        shutil.copy(fixture, os.path.join(self.d.dir, "ledger.db"))
        self.d.start()
        self.acked = {c: 1000 + i for i, c in enumerate(self.codes)}
        self.check()
        self.assertEqual(self.d.ok("status")["total"]["paid"], 27351)
        db = sqlite3.connect(os.path.join(self.d.dir, "ledger.db"))
        self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0], 6)
        db.close()


class DroppedProject(Fixture):
    """Defect 2: a project dropped with payments not yet saved, then put back,
    lost them (110 fen acknowledged, 100 shown)."""

    def dropped_and_back(self, crash):
        p = self.codes[13]
        self.d.start()
        # One at a time: every row saved, and the watermark stands at the end.
        self.pay([(c, 1) for c in self.codes], window=1)
        # One batch: most rows, the dropped one's among them, left unsaved.
        self.pay([(p, 100)] + [(c, 1) for c in self.codes if c != p] + [(p, 10)])
        self.write_plan(without=[p])
        if crash:
            self.d.kill()
            self.d.start()
        else:
            self.reload()
        self.assertIn("unknown project", self.d.control("status", project=p)["error"])
        # Others' payments move the watermark past the dropped one's events.
        self.pay([(c, 2) for c in self.codes if c != p], window=1)
        self.check(present=[c for c in self.codes if c != p])
        self.write_plan()
        self.reload()
        self.check()
        self.d.kill()
        self.d.start()
        self.check()

    def test_dropped_before_its_first_row_was_saved(self):
        # A new ledger, one batch: 3 of the 27 rows saved; 20 projects dropped
        # then have only events, no row.
        self.d.start()
        self.pay([(c, 100 + i) for i, c in enumerate(self.codes)])
        gone = self.codes[:20]
        self.write_plan(without=gone)
        self.reload()
        self.check(present=self.codes[20:])
        self.write_plan()
        self.reload()
        self.check()

    def test_dropped_by_reload(self):
        self.dropped_and_back(crash=False)

    def test_dropped_across_a_crash(self):
        self.dropped_and_back(crash=True)


class EditedTotals(Fixture):
    """Defect 4: a totals row edited behind the daemon's back was served."""

    def test_refused_at_start_then_rebuilt(self):
        self.d.start()
        self.pay([(c, 500) for c in self.codes[:5]])
        self.assertEqual(self.d.stop(), 0)
        db = sqlite3.connect(os.path.join(self.d.dir, "ledger.db"))
        db.execute("UPDATE projects SET paid_fiscal = paid_fiscal + 100 WHERE code = ?",
                   (self.codes[0],))
        db.commit()
        db.close()
        self.d.start(expect_ready=False)
        self.assertEqual(self.d.proc.wait(60), EX_DAMAGED)
        log = self.d.logtext()
        self.assertIn("do not add up to the digest", log)
        self.assertIn("budgetwatchd --rebuild-totals", log)
        self.d.close_notify()
        # --verify names the row; --rebuild-totals puts the events' sums back.
        r = subprocess.run([DAEMON, "-c", self.d.conf, "--verify"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("project %s: saved fiscal 600" % self.codes[0], r.stdout)
        r = subprocess.run([DAEMON, "-c", self.d.conf, "--rebuild-totals"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.d.start()
        self.check()

    def test_rebuild_refused_while_the_daemon_runs(self):
        self.d.start()
        r = subprocess.run([DAEMON, "-c", self.d.conf, "--rebuild-totals"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, EX_IN_USE, r.stderr)
        self.assertIn("is in use by another budgetwatchd", r.stderr)


def damage_index(path):
    """Overwrites the end of the (src, id) index's root page, where its cells are."""
    db = sqlite3.connect(path)
    root = db.execute("SELECT rootpage FROM sqlite_schema"
                      " WHERE name = 'sqlite_autoindex_events_1'").fetchone()[0]
    page = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * page + page - 64)
        f.write(b"\x5a" * 64)


class Damage(Fixture):
    """Defect 4: bytes overwritten in an index page went unnoticed by verify."""

    def test_verify_reports_damage_apart_from_totals(self):
        self.d.start()
        self.pay([(self.codes[i % 27], 1) for i in range(3000)], window=500)
        self.assertEqual(self.d.stop(), 0)      # the WAL is copied into the file
        damage_index(os.path.join(self.d.dir, "ledger.db"))
        r = subprocess.run([DAEMON, "-c", self.d.conf, "--verify"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, EX_DAMAGED, r.stdout + r.stderr)
        self.assertIn("IS DAMAGED", r.stdout)
        self.assertIn("damage: ", r.stdout)
        self.assertNotIn("totals equal the ledger", r.stdout)


    def test_background_check_raises_ledger_damaged(self):
        self.d.start()
        self.pay([(self.codes[i % 27], 1) for i in range(3000)], window=500)
        self.assertEqual(self.d.stop(), 0)
        damage_index(os.path.join(self.d.dir, "ledger.db"))
        with open(self.d.conf, "a") as f:
            f.write("[store]\nintegrity_check_interval = 1s\n")
        self.d.start()
        sub = self.d.subscriber(b"alert._daemon")
        try:
            a = drain_alerts(sub, self.d.ok("stats")["alert_seq"] + 1)[-1]
        finally:
            sub.close()
        self.assertEqual((a["kind"], a["state"], a["severity"], a["_topic"]),
                         ("ledger_damaged", "firing", "critical", "alert._daemon.ledger"))
        self.assertTrue(a["note"])
        self.assertGreaterEqual(self.d.ok("stats")["integrity_failures"], 1)
        self.assertIn("ledger_damaged", [h["kind"] for h in self.d.ok("history")["alerts"]])
        # verify, asked of the running daemon, says damaged, apart from totals.
        v = self.d.ok("verify")
        self.assertEqual((v["consistent"], v["damaged"]), (False, True))
        self.assertTrue(v["damage"])
        self.assertNotIn("\n", v["damage"][0])


class Durability(Fixture):
    """Defect 3: with synchronous = normal the ack left before the commit was
    on the disk. Traced with strace: after the WAL is written, an fdatasync of
    it must come before the ack's send."""

    def trace(self, extra=""):
        if extra:
            with open(self.d.conf, "a") as f:
                f.write(extra)
        path = os.path.join(self.d.dir, "trace")
        self.d.wrapper = ["strace", "-f", "-qq", "-s", "256", "-e",
                          "trace=openat,pwrite64,fdatasync,fsync,sendto",
                          "-o", path]
        if os.environ.get("BW_SANITIZED") == "1":
            self.d.env = {"ASAN_OPTIONS": "detect_leaks=0"}   # LeakSanitizer cannot run under ptrace
        self.d.start()
        self.pay([(self.codes[0], 5)])
        with open(os.path.join(self.d.dir, "budgetwatchd.lock")) as f:
            os.kill(int(f.read()), signal.SIGTERM)
        self.assertEqual(self.d.proc.wait(60), 0)
        self.d.close_notify()
        with open(path) as f:
            lines = f.read().splitlines()
        # SQLite writes the WAL through its descriptor; the daemon may sync it
        # through one of its own (on a worker thread): any descriptor of the
        # file will do, a sync is of the file.
        wal = {l.rsplit("= ", 1)[1] for l in lines
               if "openat(" in l and 'ledger.db-wal"' in l and "= -1" not in l}
        self.assertTrue(wal, "the trace shows no open of the WAL")
        ack = next(i for i, l in enumerate(lines) if "sendto(" in l and "accepted" in l)
        last_write = max(i for i, l in enumerate(lines[:ack])
                         if any("pwrite64(%s," % fd in l for fd in wal))
        return any(("fdatasync(%s)" % fd in l or "fsync(%s)" % fd in l)
                   for l in lines[last_write:ack] for fd in wal)

    def test_ack_follows_the_fdatasync_of_its_commit(self):
        self.assertTrue(self.trace())

    def test_normal_does_not_sync_before_the_ack(self):
        # The trace tells the two apart: what the default promises, normal does not.
        self.assertFalse(self.trace("[store]\nsynchronous = normal\n"))


class FailingLedger(Fixture):
    """Defect 5: after a failed write the daemon went on (57 log lines) and
    pushed an ack it had never filled. Here the ledger's files may not grow
    past a limit (RLIMIT_FSIZE; SIGXFSZ ignored, so the write fails EFBIG)."""

    def test_stops_at_once_and_loses_nothing_acknowledged(self):
        self.d.start()
        self.d.kill()           # the ledger exists; its size is what it may keep
        limit = os.path.getsize(os.path.join(self.d.dir, "ledger.db")) + 256 * 1024

        def cap():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        self.d.preexec = cap
        self.d.start()
        evs = [event("t", "f%d" % i, self.codes[i % 27], 1 + i, JAN1 + DAY + i) for i in range(20000)]
        s = self.d.dealer()
        s.setsockopt(zmq.SNDTIMEO, 2000)    # once the daemon is gone, sends block
        acks = {}
        try:
            for e in evs:
                try:
                    s.send(e)
                except zmq.Again:
                    break
                while s.poll(0):
                    a = msgpack.unpackb(s.recv(), raw=False)
                    acks[a["id"]] = a
            while s.poll(2000):
                a = msgpack.unpackb(s.recv(), raw=False)
                acks[a["id"]] = a
        finally:
            s.close()
        self.assertEqual(self.d.proc.wait(60), EX_STORE)
        self.d.close_notify()
        log = self.d.logtext()
        self.assertEqual(log.count("stopping so that no unrecorded event is acknowledged"), 1, log)
        self.assertLess(len(acks), len(evs))
        # The events of the batch whose commit failed are answered with the
        # cause; every other answer is an acceptance.
        failed = {i for i, a in acks.items() if a["status"] != "accepted"}
        self.assertTrue(failed, "no sender heard that its batch was not recorded")
        for i in failed:
            self.assertEqual(acks[i]["status"], "rejected", acks[i])
            self.assertTrue(acks[i]["reason"].startswith("not recorded: the ledger failed ("),
                            acks[i])
            self.assertIn("disk I/O error", acks[i]["reason"])
        # Every acknowledged event is in the ledger. An ack may also be lost
        # after its commit (the daemon's linger ran out while this sender was
        # blocked in a send): the protocol's answer is the resend, so every
        # event goes again, as a payment system would send what it is unsure
        # of. Each acknowledged one must come back a duplicate, none may be
        # refused, and each must count exactly once.
        self.d.preexec = None
        self.d.start()
        again = self.d.send_reliable(evs)
        for i in range(len(evs)):
            status = again[("t", "f%d" % i)]["status"]
            if "f%d" % i in failed:
                # Not recorded means not recorded: nothing of it was kept.
                self.assertEqual(status, "accepted", "f%d was said not recorded, yet kept" % i)
            elif "f%d" % i in acks:
                self.assertEqual(status, "duplicate", "f%d was acknowledged, then lost" % i)
            else:
                self.assertIn(status, ("accepted", "duplicate"), again[("t", "f%d" % i)])
            self.acked[self.codes[i % 27]] = self.acked.get(self.codes[i % 27], 0) + 1 + i
        self.check()
        self.assertEqual(self.d.ok("stats")["events_in_ledger"], len(evs))


    def stop_growing(self):
        """From now on the running daemon's WAL may not grow: its next commit,
        which appends to it, fails (EFBIG; SIGXFSZ was ignored from the start).
        The WAL only starts over after a checkpoint of 1,000 frames or more,
        far more than these tests write."""
        limit = os.path.getsize(os.path.join(self.d.dir, "ledger.db-wal"))
        resource.prlimit(self.d.proc.pid, resource.RLIMIT_FSIZE, (limit, limit))

    def start_ignoring_sigxfsz(self):
        self.d.preexec = lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        self.d.start()
        self.d.preexec = None

    def test_a_control_change_whose_commit_fails_is_not_answered_ok(self):
        p = self.codes[0]
        for op, args, what in (("adjust", dict(project=p, budget=123456789, reason="追加"),
                                "budget adjustment"),
                               ("ack", dict(project=p, kind="overspend", by="王科长"),
                                "acknowledgement")):
            self.start_ignoring_sigxfsz()
            budget = self.d.ok("status", project=p)["projects"][0]["budget"]
            if op == "ack":     # something to acknowledge: an overspend
                self.pay([(p, budget + 1)])
                self.assertTrue(self.d.ok("status", project=p)["projects"][0]["firing"])
            self.stop_growing()
            r = self.d.control(op, **args)
            self.assertFalse(r["ok"], r)
            self.assertIn("could not commit the %s, so it was not recorded" % what, r["error"])
            self.assertEqual(self.d.proc.wait(60), EX_STORE)
            self.d.close_notify()
            # After a restart nothing of it is there, and nothing else is lost.
            self.d.start()
            row = self.d.ok("status", project=p)["projects"][0]
            self.assertEqual(row["budget"], budget)
            acked = [a for a in self.d.ok("history", project=p)["alerts"]
                     if a["state"] == "acknowledged"]
            self.assertEqual(acked, [])
            self.check()
            self.assertEqual(self.d.stop(), 0)


class StartupErrors(Fixture):
    """Defect 6: each startup error says what and where, with its own status."""

    def run_daemon(self, conf):
        return subprocess.run([DAEMON, "-c", conf], capture_output=True, text=True, timeout=60)

    def test_tcp_address_in_use(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        url = "tcp://127.0.0.1:%d" % busy.getsockname()[1]
        with open(self.d.conf) as f:
            text = f.read()
        with open(self.d.conf, "w") as f:
            f.write(text.replace("events_ack = " + self.d.ack_ep, "events_ack = " + url))
        try:
            r = self.run_daemon(self.d.conf)
        finally:
            busy.close()
        self.assertEqual(r.returncode, EX_IN_USE, r.stderr)
        self.assertIn("cannot bind %s: Address already in use; another process" % url, r.stderr)

    def test_missing_and_bad_plan_are_configuration_errors(self):
        os.unlink(self.plan_path)
        r = self.run_daemon(self.d.conf)
        self.assertEqual(r.returncode, EX_CONFIG, r.stderr)
        self.assertIn("%s: cannot open" % self.plan_path, r.stderr)
        with open(self.plan_path, "w") as f:
            f.write("unit_code,unit_name,project_code,project_name,budget_wan\nU,u,P,p,abc\n")
        r = self.run_daemon(self.d.conf)
        self.assertEqual(r.returncode, EX_CONFIG, r.stderr)
        self.assertIn("%s:2" % self.plan_path, r.stderr)

    def test_second_daemon_cannot_take_the_first_ones_sockets(self):
        self.d.start()
        self.pay([(self.codes[0], 5)])
        other = os.path.join(self.d.dir, "other-state")
        os.mkdir(other)
        conf = os.path.join(self.d.dir, "other.conf")
        with open(self.d.conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace("state_dir = %s\n" % self.d.dir, "state_dir = %s\n" % other))
        r = self.run_daemon(conf)
        self.assertEqual(r.returncode, EX_IN_USE, r.stderr)
        self.assertIn("another process (another budgetwatchd?) is listening on that socket", r.stderr)
        # The first one still has every socket.
        self.pay([(self.codes[0], 6)])
        self.check()

    def test_a_dead_daemons_socket_files_are_taken(self):
        self.d.start()
        self.d.kill()           # leaves its ipc:// files behind
        self.assertTrue(os.path.exists(self.d.ack_ep[len("ipc://"):]))
        self.d.start()
        self.pay([(self.codes[0], 5)])
        self.check()


if __name__ == "__main__":
    unittest.main()
