"""Restart: state comes back from the ledger, nothing already announced is
announced again, and alerts that fell due while the daemon was down go out at
start, each at its own instant."""

import calendar
import os
import re
import subprocess
import tempfile
import unittest

from harness import DAEMON, DAY, JAN1, Daemon, drain_alerts, event, load_plan

PLAN = load_plan()
P1 = "130281219RAC9NBCKQYEU"


class Restart(unittest.TestCase):
    def setUp(self):
        self.d = Daemon()

    def tearDown(self):
        self.d.cleanup()

    def test_restart_does_not_reannounce(self):
        d = self.d.start()
        d.send_reliable([event("t", i, P1, 1000 + i, JAN1 + i) for i in range(100)])
        d.ok("advance", to=JAN1 + 70 * DAY)
        before = d.ok("alerts")
        status = d.ok("status")
        self.assertEqual(d.stop(), 0)

        d.start()
        sub = d.subscriber()
        after = d.ok("alerts")
        self.assertEqual(after["seq"], before["seq"])
        self.assertEqual(after["alerts"], before["alerts"])
        self.assertEqual(d.ok("status"), status)
        # The next alert continues the seq; the first thing on the stream is it.
        r = d.ok("advance", to=JAN1 + 71 * DAY)
        self.assertGreater(r["alerts"], 0)
        got = drain_alerts(sub, before["seq"] + r["alerts"])
        self.assertEqual(got[0]["seq"], before["seq"] + 1)
        self.assertTrue(d.ok("verify")["consistent"])

    def test_kill_after_a_burst_re_adds_the_unsaved_totals(self):
        # Totals are saved a few rows per commit; with 3,000 projects and
        # batches of hundreds of events most rows are behind memory when the
        # daemon is killed. The restart must add exactly the events after
        # each row's save: not one lost, not one twice.
        n_proj, n_ev = 3000, 30000
        self.d.cleanup()
        top = tempfile.mkdtemp(prefix="bw-")
        plan = os.path.join(top, "wide.csv")
        with open(plan, "w") as f:
            f.write("unit_code,unit_name,project_code,project_name,budget_wan\n")
            for i in range(n_proj):
                f.write("U%d,单位%d,W%05d,项目%d,1000\n" % (i // 300, i // 300, i, i))
        d = self.d = Daemon(plan=plan, sub=False, directory=top)
        d.start()
        want = {}
        evs = []
        for i in range(n_ev):
            code, amount = "W%05d" % (i * 7 % n_proj), 100 + i % 89
            want[code] = want.get(code, 0) + amount
            evs.append(event("burst", i, code, amount, JAN1 + DAY + i // 100))
        acks = d.send_reliable(evs, window=2000)
        self.assertEqual({a["status"] for a in acks.values()}, {"accepted"})
        d.kill()
        for attempt in range(2):      # the second start is killed before it saved much
            d.start()
            m = re.findall(r"and (\d+) events after their last save", d.logtext())
            self.assertTrue(m, d.logtext())
            if attempt == 0:
                self.assertGreater(int(m[-1]), 0)    # the path under test was taken
            rows = {r["project"]: r["paid"] for r in d.ok("status")["projects"]}
            self.assertEqual(rows, want)
            if attempt == 0:
                d.kill()
        self.assertTrue(d.ok("verify")["consistent"])
        self.assertEqual(d.stop(), 0)
        d.start()                     # a clean stop leaves nothing to re-add
        m = re.findall(r"and (\d+) events after their last save", d.logtext())
        self.assertEqual(m[-1], "0")
        self.assertEqual(d.ok("status")["total"]["paid"], sum(want.values()))

    def test_second_daemon_on_the_same_ledger_refused(self):
        d = self.d.start()
        d.send_reliable([event("t", 1, P1, 500, JAN1 + DAY)])
        r = subprocess.run([DAEMON, "-c", d.conf], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 75, r.stderr)     # EX_TEMPFAIL: budgetwatchd(8)
        self.assertIn("is in use by another budgetwatchd (pid %d)" % d.proc.pid, r.stderr)
        # The first one still owns its sockets and its ledger.
        self.assertEqual(d.send_reliable([event("t", 2, P1, 7, JAN1 + DAY)])[("t", "2")]["status"],
                         "accepted")
        self.assertEqual(d.ok("status", project=P1)["projects"][0]["paid"], 507)
        # A SIGKILL leaves no stale lock behind.
        d.kill()
        d.start()
        self.assertEqual(d.ok("status", project=P1)["projects"][0]["paid"], 507)

    def test_alerts_due_while_down_go_out_at_start(self):
        year = 2026
        jan1 = calendar.timegm((year, 1, 1, 0, 0, 0)) - 8 * 3600
        d = Daemon(daemon_extra="fiscal_year = %d\n" % year)
        try:
            # The same ledger, first with the event clock in early January...
            d.start()
            d.ok("advance", to=jan1 + 5 * DAY)
            self.assertEqual(d.ok("alerts")["seq"], 0)
            self.assertEqual(d.stop(), 0)
            # ...then with the wall clock, which stands months later.
            d.set_clock("wall")
            d.start()
            h = d.ok("history", project=P1)["alerts"]
            firsts = [(a["kind"], a["severity"], a["at"]) for a in h if a["at"] == a["since"]]
            self.assertEqual(firsts[0], ("lag", "warning", jan1 + 30 * DAY))
            self.assertIn(("milestone", "critical", calendar.timegm((year, 4, 1, 0, 0, 0)) - 8 * 3600), firsts)
            # Each at its own instant, in order; a milestone's reminders are
            # about its deadline (PROTOCOL.md §1.3), not the day they go out.
            hist = d.ok("history")["alerts"]
            ats = [a["at"] for a in hist if a["kind"] != "milestone"]
            self.assertEqual(ats, sorted(ats))
            for a in (a for a in hist if a["kind"] == "milestone"):
                month, day = map(int, a["milestone"].split("-"))
                self.assertEqual(a["at"], calendar.timegm((year, month, day, 0, 0, 0)) + DAY - 8 * 3600)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
