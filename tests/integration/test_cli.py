"""The budgetwatch command against the real daemon: each subcommand's normal
path and its error paths, the retry path, watch's re-sync after a gap, and the
demo's year ending on the generator's known totals to the fen."""

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import msgpack
import zmq

from harness import CLI, DAY, JAN1, MAR31_END, SOURCE_DIR, Daemon, DaemonTest, load_plan

PLAN = load_plan()
P1 = "130281219RAC9NBCKQYEU"


def run(d, *args, input=None, timeout=120, env_extra=None):
    env = dict(os.environ, BUDGETWATCH_CONTROL=d.ctl_ep, BUDGETWATCH_EVENTS=d.ack_ep,
               BUDGETWATCH_ALERTS=d.pub_ep, TZ="Asia/Shanghai")
    env.update(env_extra or {})
    return subprocess.run([CLI, *args], input=input, capture_output=True, text=True, timeout=timeout, env=env)


def csv_events(rows, header="src,id,project,amount_fen,ts"):
    return header + "\n" + "".join(r + "\n" for r in rows)


class Commands(DaemonTest):
    def test_push_csv_with_bad_lines(self):
        text = csv_events(["t,1,%s,100,%d" % (P1, JAN1 + DAY),
                           "t,2,%s,12x,%d" % (P1, JAN1 + DAY),             # bad amount
                           "t,3,NOPE,5,%d" % (JAN1 + DAY),                  # rejected by the daemon
                           "t,4,%s,250,2022-01-05T10:00:00+08:00" % P1,
                           "t,5,%s,1,yesterday" % P1])                      # bad time
        r = run(self.d, "push", "-", input=text)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("-:3:4: amount_fen \"12x\" is not a valid amount", r.stderr)
        self.assertIn("-:6:5: ts \"yesterday\" is not Unix seconds or ISO 8601", r.stderr)
        self.assertIn("-:4: event \"3\" rejected: unknown project \"NOPE\"", r.stderr)
        self.assertIn("3 events: 2 accepted, 0 duplicate, 1 rejected, 0 unanswered; 2 input lines not sent",
                      r.stdout)
        self.assertEqual(self.d.ok("status", project=P1)["projects"][0]["paid"], 350)
        # Pushing the same file again counts nothing twice.
        r = run(self.d, "push", "-", input=text)
        self.assertIn("0 accepted, 2 duplicate", r.stdout)
        self.assertEqual(self.d.ok("status", project=P1)["projects"][0]["paid"], 350)

    def test_push_yuan_and_unknown_column(self):
        r = run(self.d, "push", "--src", "s", "-",
                input=csv_events(["1,%s,1234.56,%d" % (P1, JAN1 + DAY)], "id,project,amount_yuan,ts"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.d.ok("status", project=P1)["projects"][0]["paid"], 123456)
        r = run(self.d, "push", "-", input=csv_events([], "id,project,amount,ts"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("-:1:3: unknown column \"amount\"", r.stderr)
        r = run(self.d, "push", "--src", "s", "-",
                input=csv_events(['2,"%s,1,%d' % (P1, JAN1 + DAY)], "id,project,amount_fen,ts"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("-:2: a quoted field is still open at the end of the input", r.stderr)
        self.assertEqual(self.d.ok("status", project=P1)["projects"][0]["paid"], 123456)

    def test_push_json_lines(self):
        ev = lambda **kw: json.dumps(dict(kw, project=kw.get("project", P1), ts=kw.get("ts", JAN1 + DAY)),
                                     ensure_ascii=False)
        lines = [ev(src="j", id="1", amount_yuan=12.30),                  # a JSON decimal: 1230 fen
                 ev(src="j", id="2", amount_yuan="0.07", fund="other"),
                 "",                                                        # blank lines are skipped
                 ev(src="j", id=3, amount_fen=100, ts="2022-01-05T10:00:00+08:00", seq=7),
                 ev(src="j", id="4", amount_fen=1.5),                     # fen must be whole
                 '{"src":"j","id":"5","project":"%s","amount_fen":1,}' % P1,  # not JSON
                 ev(src="j", id="6", amount=1),                           # an unknown field
                 ev(src="j", id="7", amount_yuan="0.001"),                # more decimals than a fen
                 ev(src="j", id="8", amount_fen=5, project="NOPE")]       # rejected by the daemon
        r = run(self.d, "push", "-", input="\n".join(lines) + "\n")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("-:5: amount_fen 1.5 is not a whole number", r.stderr)
        self.assertIn("-:6:%d: not JSON" % (lines[5].index(",}") + 2), r.stderr)  # at the }
        self.assertIn("-:7: unknown field \"amount\"", r.stderr)
        self.assertIn("-:8: amount_yuan \"0.001\" is not a valid amount", r.stderr)
        self.assertIn("-:9: event \"8\" rejected: unknown project \"NOPE\"", r.stderr)
        self.assertIn("4 events: 3 accepted, 0 duplicate, 1 rejected, 0 unanswered; 4 input lines not sent",
                      r.stdout)
        p = self.d.ok("status", project=P1)["projects"][0]
        self.assertEqual(p["paid"], 1230 + 7 + 100)
        self.assertEqual(p["paid_other"], 7)
        # --format csv reads the same text as CSV: its first quote is out of place.
        r = run(self.d, "push", "--format", "csv", "-", input="\n".join(lines) + "\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("-:1:2: not CSV: a quote inside an unquoted field", r.stderr)

    def test_status_table_json_csv(self):
        run(self.d, "push", "--src", "s", "-",
            input=csv_events(["%d,%s,%d,%d" % (i, c, 1000 * (i + 1), JAN1 + DAY) for i, c in enumerate(PLAN)],
                             "id,project,amount_fen,ts"))
        self.d.ok("advance", to=JAN1 + 100 * DAY)
        j = json.loads(run(self.d, "status", "--json").stdout)
        self.assertEqual(sum(p["paid"] for p in j["projects"]), j["total"]["paid"])
        self.assertEqual(sum(u["shortfall"] for u in j["units"]), j["total"]["shortfall"])
        lags = [p["lag_bp"] for p in j["projects"]]
        self.assertEqual(lags, sorted(lags, reverse=True))                 # --sort lag is the default
        table = run(self.d, "status").stdout
        self.assertIn("部门整体", table)
        self.assertIn("遵化市社保服务中心", table)
        lines = run(self.d, "status", "--csv").stdout.strip().split("\n")
        self.assertEqual(len(lines), 1 + 27 + 3 + 1)
        total = lines[-1].split(",")
        self.assertEqual(int(total[5]), j["total"]["paid"])
        r = run(self.d, "status", "--project", "NOPE")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown project \"NOPE\"", r.stderr)

    def test_adjust_ack_history_stats_verify(self):
        r = run(self.d, "adjust", P1, "20000.5", "--reason", "追加预算")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.d.ok("status", project=P1)["projects"][0]["budget"], 20000500000)
        self.assertEqual(run(self.d, "adjust", P1, "1.0000001", "--reason", "x").returncode, 2)
        self.assertEqual(run(self.d, "advance", "--to", "2022-02-01T00:00:00+08:00").returncode, 0)
        r = run(self.d, "ack", P1, "lag", "--by", "王科长", "--note", "已督办")
        self.assertEqual(r.returncode, 0, r.stderr)
        h = run(self.d, "history", "--project", P1, "--json").stdout.strip().split("\n")
        self.assertEqual(json.loads(h[-1])["state"], "acknowledged")
        self.assertEqual(json.loads(h[-1])["by"], "王科长")
        self.assertIn("acknowledged by 王科长: 已督办", run(self.d, "history", "--project", P1).stdout)
        r = run(self.d, "ack", P1, "overspend", "--by", "x")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no firing overspend alert", r.stderr)
        self.assertIn("accepted", run(self.d, "stats").stdout)
        r = run(self.d, "verify")
        self.assertEqual(r.returncode, 0)
        self.assertIn("totals equal the ledger", r.stdout)
        self.assertEqual(run(self.d, "bogus").returncode, 2)

    def test_unreachable(self):
        r = run(self.d, "status", "--control", "ipc:///nonexistent/budgetwatch.sock", "--timeout-ms", "300")
        self.assertEqual(r.returncode, 3)
        self.assertIn("daemon not reachable at ipc:///nonexistent/budgetwatch.sock", r.stderr)

    def test_watch_count_and_exec(self):
        out = os.path.join(self.d.dir, "exec.out")
        ready = os.path.join(self.d.dir, "ready")
        w = subprocess.Popen([CLI, "--control", self.d.ctl_ep, "--alerts", self.d.pub_ep, "watch", "--json",
                              "--count", "3", "--kind", "lag", "--ready-file", ready,
                              "--exec", "echo $BW_SEQ $BW_PROJECT $BW_LAG_BP >> %s" % out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            while not os.path.exists(ready):
                self.assertIsNone(w.poll(), w.stderr.read() if w.poll() is not None else "")
                self.d.ok("ping")
            self.d.ok("advance", to=JAN1 + 31 * DAY)
            stdout, stderr = w.communicate(timeout=60)
        finally:
            w.kill()
        self.assertEqual(w.returncode, 0, stderr)
        alerts = [json.loads(l) for l in stdout.strip().split("\n")]
        self.assertEqual(len(alerts), 3)
        self.assertTrue(all(a["kind"] == "lag" and a["lag_bp"] == 1000 for a in alerts))
        with open(out) as f:
            lines = f.read().strip().split("\n")
        self.assertEqual([l.split()[0] for l in lines], [str(a["seq"]) for a in alerts])


class WatchGap(unittest.TestCase):
    """watch follows a stream whose heartbeat is ahead of it: a gap. A fake
    publisher stands in for the alert stream so the gap is certain; the
    snapshot comes from the real daemon."""

    def test_resync_after_gap(self):
        d = Daemon().start()
        try:
            d.ok("advance", to=JAN1 + 31 * DAY)
            seq = d.ok("alerts")["seq"]
            ctx = zmq.Context.instance()
            pub = ctx.socket(zmq.PUB)
            fake = "ipc://%s/fake-alerts.sock" % d.dir
            pub.bind(fake)
            w = subprocess.Popen([CLI, "--control", d.ctl_ep, "--alerts", fake, "watch", "--json",
                                  "--timeout", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                gap_said = []
                def read_err():
                    for line in w.stderr:
                        gap_said.append(line)
                threading.Thread(target=read_err, daemon=True).start()
                # Heartbeats at the daemon's seq until watch has printed its
                # snapshot (27 lag warnings), then one 5 alerts ahead.
                hb_seq = [seq]
                stop = threading.Event()
                def beat():
                    while not stop.is_set():
                        pub.send_multipart([b"hb", msgpack.packb({"v": 1, "seq": hb_seq[0], "at": JAN1})])
                        stop.wait(0.05)
                threading.Thread(target=beat, daemon=True).start()
                try:
                    first = w.stdout.readline()
                    self.assertEqual(json.loads(first)["kind"], "lag")
                    hb_seq[0] = seq + 5
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and not any("missed alerts" in l for l in gap_said):
                        stop.wait(0.05)
                finally:
                    stop.set()
                self.assertTrue(any("missed alerts %d..%d; re-reading the active alerts" % (seq + 1, seq + 5)
                                    in l for l in gap_said), gap_said)
            finally:
                w.kill()
                w.wait()
                pub.close()
        finally:
            d.cleanup()


class RetryPath(unittest.TestCase):
    def test_daemon_started_late_and_restarted(self):
        d = Daemon()
        try:
            n = 3000
            text = csv_events(["late,%d,%s,%d,%d" % (i, P1, 1 + i % 5, JAN1 + DAY + i) for i in range(n)])
            env = dict(os.environ, BUDGETWATCH_CONTROL=d.ctl_ep, BUDGETWATCH_EVENTS=d.ack_ep, TZ="Asia/Shanghai")
            path = os.path.join(d.dir, "events.csv")
            with open(path, "w") as f:
                f.write(text)
            p = subprocess.Popen([CLI, "push", "--window", "50", "--retry-for", "120", path],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            d.start()                       # the daemon appears after push started
            while d.ok("stats")["accepted"] < n // 3:
                pass
            d.kill()                        # and dies in the middle
            d.start()
            out, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, err)
            self.assertIn("0 rejected, 0 unanswered", out)
            self.assertEqual(d.ok("status", project=P1)["projects"][0]["paid"], sum(1 + i % 5 for i in range(n)))
            self.assertEqual(d.ok("stats")["events_in_ledger"], n)
        finally:
            d.cleanup()


class DemoYear(DaemonTest):
    """The demo's generated year ends on the generator's known totals."""

    def test_year_totals_to_the_fen(self):
        gen = os.path.join(SOURCE_DIR, "examples", "zunhua-2022", "generate.py")
        events = os.path.join(self.d.dir, "events.csv")
        expected = os.path.join(self.d.dir, "expected.json")
        subprocess.run(["/usr/bin/python3", gen, "--plan", self.d.plan, "--events", events,
                        "--expected", expected], check=True)
        r = run(self.d, "push", "--quiet", events)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1 duplicate, 0 rejected", r.stdout)
        run(self.d, "advance", "--to", "2023-01-01T00:00:00+08:00")
        with open(expected) as f:
            want = json.load(f)
        got = json.loads(run(self.d, "status", "--json").stdout)
        self.assertEqual({p["project"]: p["paid"] for p in got["projects"]}, want["projects"])
        self.assertEqual(got["total"]["paid"], want["total"])
        kinds = {a["kind"] for a in self.d.ok("history")["alerts"]}
        self.assertEqual(kinds, {"lag", "milestone", "overspend", "year_end"})


if __name__ == "__main__":
    unittest.main()
