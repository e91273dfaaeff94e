"""Monitoring rules as finance bureaus apply them (issue 16), on the real
daemon with the event clock: the demo plan judged against 序时进度 with colour
bands (the alerts a supervisor expects at month ends, worked out by hand
below), a large payment firing with its event's id, the handling workflow
(steps allowed and refused, reminders stopping, judged_normal staying silent
until a worse band), stalled at the last payment + D days, all surviving a
SIGKILL and a restart; and every message of the stream still read by a strict
version 1 subscriber (new keys are additive)."""

import os
import shutil
import subprocess
import unittest

from harness import CLI, DAEMON, DAY, JAN1, Daemon, drain_alerts, event, load_plan

PLAN = load_plan()
P1 = "130281219RAC9NBCKQYEU"     # 18692 万元, default milestones 03-31:30 ...
P2 = "130281212Z3GP27HDT7WR"     # 2258.32 万元

BANDS = "bands = 黄:5, 红一档:10, 红二档:20, 红三档:30\n"

# The keys and words a version 1 subscriber from before issue 16 knew, and
# what it required (PROTOCOL.md §1.3 as it was).
V1_KINDS = {"lag", "milestone", "overspend", "year_end", "source_gap", "ledger_damaged"}
V1_REQUIRED = {"v": int, "seq": int, "kind": str, "state": str, "severity": str, "at": int}
V1_PROJECT = {"unit": str, "unit_name": str, "project": str, "project_name": str, "budget": int,
              "paid": int, "shortfall": int, "rate_bp": int, "planned_bp": int, "lag_bp": int,
              "pace_bp": int}


def v1_reads(test, m):
    """Reads m as a strict v1 subscriber would: the keys it knows with their
    types and words; any other key is ignored, as §1 says."""
    for k, t in V1_REQUIRED.items():
        test.assertIsInstance(m.get(k), t, (k, m))
    test.assertEqual(m["v"], 1)
    test.assertIn(m["state"], ("firing", "acknowledged", "resolved"))
    test.assertIn(m["severity"], ("warning", "critical"))
    if m["kind"] in V1_KINDS - {"source_gap", "ledger_damaged"}:
        for k, t in V1_PROJECT.items():
            test.assertIsInstance(m.get(k), t, (k, m))
    if m["state"] == "acknowledged":
        test.assertIsInstance(m.get("by"), str)


class Monitoring(unittest.TestCase):
    def setUp(self):
        if not DAEMON:
            self.fail("BW_DAEMON is not set; run the integration tests through ctest")
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.cleanup()

    def start(self, alerts):
        self.d = Daemon()
        with open(self.d.conf, "a", encoding="utf-8") as f:
            f.write(alerts)
        return self.d.start()

    def history(self, project, kind=None):
        return [a for a in self.d.ok("history", project=project)["alerts"]
                if kind is None or a["kind"] == kind]

    def test_demo_year_against_pace_with_bands(self):
        d = self.start("lag_basis = pace\nrepeat_interval = 0\n" + BANDS)
        sub = d.subscriber()
        tenth = PLAN[P1]["budget"] // 10                      # 1869.2 万元, rate 10.00 %
        d.send_reliable([event("treasury", "jan-5", P1, tenth, JAN1 + 4 * DAY + 36000)])
        # End of January: 序时进度 31/365 = 8.49 % is below the rate: nothing.
        d.ok("advance", to=JAN1 + 31 * DAY)
        self.assertEqual(self.history(P1, "lag"), [])
        # 黄 (5 pp below 序时进度) when 序时进度 reaches 15 %: 54.75 days, so at
        # the midnight ending day 55, 2022-02-25 00:00 +08:00.
        d.ok("advance", to=JAN1 + 59 * DAY)
        [yellow] = self.history(P1, "lag")
        self.assertEqual((yellow["state"], yellow["band"], yellow["severity"], yellow["basis"]),
                         ("firing", "黄", "warning", "pace"))
        self.assertEqual(yellow["at"], JAN1 + 55 * DAY)
        self.assertEqual(yellow["pace_bp"], 1506)             # floor(55 * 10000 / 365)
        self.assertEqual(yellow["pace_lag_bp"], 506)
        self.assertEqual(yellow["handling"], "unhandled")
        # 红一档 (10 pp) at 序时进度 20 %: exactly 73 days, 2022-03-15 00:00.
        d.ok("advance", to=JAN1 + 90 * DAY)
        red = self.history(P1, "lag")[-1]
        self.assertEqual((red["band"], red["severity"], red["at"], red["pace_lag_bp"]),
                         ("红一档", "critical", JAN1 + 73 * DAY, 1000))
        # End of March: both distances on the status row, to the fen.
        row = d.ok("status", project=P1)["projects"][0]
        self.assertEqual((row["band"], row["basis"], row["severity"]), ("红一档", "pace", "critical"))
        self.assertEqual((row["pace_bp"], row["pace_lag_bp"]), (2465, 1465))
        self.assertEqual(row["pace_shortfall"], 18692000000 * 90 // 365 - 1869200000)
        self.assertEqual((row["lag_bp"], row["shortfall"]), (2000, 5607600000 - 1869200000))
        total = d.ok("status")["total"]
        self.assertEqual(total["pace_shortfall"],
                         sum(p["pace_shortfall"] for p in d.ok("status")["projects"]))
        # The stream carried the same messages, each one readable by v1.
        last = d.ok("alerts")["seq"]
        for m in drain_alerts(sub, last):
            v1_reads(self, m)
        sub.close()
        if CLI:
            out = subprocess.run([CLI, "--control", d.ctl_ep, "status", "--project", P1],
                                 capture_output=True, text=True, check=True).stdout
            self.assertIn("红一档 (序时进度)", out)
            self.assertIn("pace pp", out)
            self.assertIn("14.65", out)

    def test_demo_year_replayed_month_ends(self):
        # The demo year (examples/zunhua-2022/generate.py) against 序时进度 with
        # the bureau's bands. 建国前老工人工资 never pays, so its lag is 序时进度
        # itself: 5 pp after 18.25 days, 10 after 36.5, 20 after 73, 30 after
        # 109.5; each band from the midnight that ends that day. The bulletin
        # at each month end reads 黄, 红一档, 红二档, 红三档.
        import csv
        import tempfile
        d = self.start("lag_basis = pace\nrepeat_interval = 0\nstalled_days = 30\n" + BANDS)
        out = tempfile.mkdtemp(prefix="bw-demo-")
        gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                           "zunhua-2022")
        subprocess.run(["/usr/bin/python3", os.path.join(gen, "generate.py"), "--plan",
                        os.path.join(gen, "plan.csv"), "--events", os.path.join(out, "ev.csv")],
                       check=True)
        with open(os.path.join(out, "ev.csv"), encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        shutil.rmtree(out)
        d.send_reliable([event(r["src"], r["id"], r["project"], int(r["amount_fen"]), int(r["ts"]),
                               unit=r["unit"], seq=int(r["seq"]), type=r["type"],
                               ref=r["ref"] or None) for r in rows])
        d.ok("advance", to=JAN1 + 365 * DAY)
        never = [c for c, p in PLAN.items() if p["name"] == "建国前老工人工资"][0]
        lag = self.history(never, "lag")
        self.assertEqual([(a["band"], a["at"]) for a in lag],
                         [("黄", JAN1 + 19 * DAY), ("红一档", JAN1 + 37 * DAY),
                          ("红二档", JAN1 + 73 * DAY), ("红三档", JAN1 + 110 * DAY)])
        self.assertEqual({a["basis"] for a in lag}, {"pace"})
        month_end = {"01-31": 31, "02-28": 59, "03-31": 90, "04-30": 120}
        bulletin = {m: [a["band"] for a in lag if a["at"] <= JAN1 + days * DAY][-1]
                    for m, days in month_end.items()}
        self.assertEqual(bulletin, {"01-31": "黄", "02-28": "红一档", "03-31": "红二档",
                                    "04-30": "红三档"})
        # No payment in 30 days while behind: stalled from 2022-01-31 00:00.
        [st] = self.history(never, "stalled")
        self.assertEqual((st["state"], st["at"]), ("firing", JAN1 + 30 * DAY))
        # Every project's status row: the lag against 序时进度 at year end is
        # 100 % less its rate, and the shortfall its budget less what it paid.
        for p in d.ok("status")["projects"]:
            self.assertEqual(p["pace_lag_bp"], 10000 - p["rate_bp"])
            self.assertEqual(p["pace_shortfall"], p["budget"] - p["paid"])
        self.assertTrue(d.ok("verify")["consistent"])

    def test_handling_workflow_survives_sigkill(self):
        d = self.start("lag_basis = pace\n" + BANDS)
        tenth = PLAN[P1]["budget"] // 10
        d.send_reliable([event("treasury", "jan-5", P1, tenth, JAN1 + 4 * DAY)])
        d.ok("advance", to=JAN1 + 80 * DAY)                   # 红一档 since day 73
        # Not allowed: an unknown state, a kind not firing, no `by`.
        r = d.control("handle", project=P1, kind="lag", state="done", by="王科长")
        self.assertIn("state must be followed_up, corrected, judged_normal or judged_violation",
                      r["error"])
        r = d.control("handle", project=P1, kind="overspend", state="followed_up", by="王科长")
        self.assertIn("has no firing overspend alert", r["error"])
        r = d.control("handle", project=P1, kind="lag", state="followed_up")
        self.assertIn("handle needs 'by'", r["error"])
        step = d.ok("handle", project=P1, kind="lag", state="followed_up", by="王科长",
                    note="已电话督办")["alert"]
        self.assertEqual((step["state"], step["handling"], step["by"], step["note"]),
                         ("acknowledged", "followed_up", "王科长", "已电话督办"))
        # Reminders stop once handled: days pass, nothing more about P1's lag.
        n = len(self.history(P1, "lag"))
        d.ok("advance", to=JAN1 + 85 * DAY)
        self.assertEqual(len(self.history(P1, "lag")), n)
        d.ok("handle", project=P1, kind="lag", state="judged_normal", by="李处长",
             note="一季度集中申报，属正常")
        r = d.control("handle", project=P1, kind="lag", state="corrected", by="王科长")
        self.assertIn("is judged_normal; it cannot become corrected", r["error"])
        seq = d.ok("alerts")["seq"]
        d.kill()                                               # SIGKILL: no goodbye

        d.start()
        [active] = [a for a in d.ok("alerts")["alerts"] if a["project"] == P1 and a["kind"] == "lag"]
        self.assertEqual((active["state"], active["handling"], active["band"]),
                         ("acknowledged", "judged_normal", "红一档"))
        r = d.control("handle", project=P1, kind="lag", state="corrected", by="王科长")
        self.assertIn("is judged_normal; it cannot become corrected", r["error"])
        steps = [(a["handling"], a["by"]) for a in self.history(P1, "lag")
                 if a["state"] == "acknowledged"]
        self.assertEqual(steps, [("followed_up", "王科长"), ("judged_normal", "李处长")])
        # judged_normal: silent at 红一档 (no reminder, no message) until 红二档,
        # which 序时进度 30 % brings at 109.5 -> day 110.
        d.ok("advance", to=JAN1 + 110 * DAY - 1)
        self.assertEqual([a for a in self.history(P1, "lag") if a["seq"] > seq], [])
        d.ok("advance", to=JAN1 + 110 * DAY)
        [worse] = [a for a in self.history(P1, "lag") if a["seq"] > seq]
        self.assertEqual((worse["state"], worse["band"], worse["handling"], worse["at"]),
                         ("firing", "红二档", "unhandled", JAN1 + 110 * DAY))
        # ack = handle followed_up, allowed again on the new, worse band.
        self.assertEqual(d.ok("ack", project=P1, kind="lag", by="王科长")["alert"]["handling"],
                         "followed_up")
        self.assertTrue(d.ok("verify")["consistent"])
        if CLI:
            r = subprocess.run([CLI, "--control", d.ctl_ep, "handle", P1, "lag", "judged_violation",
                                "--by", "赵局", "--note", "未按计划执行"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = subprocess.run([CLI, "--control", d.ctl_ep, "history", "--project", P1],
                                 capture_output=True, text=True, check=True).stdout
            self.assertIn("judged_violation by 赵局: 未按计划执行", out)
            self.assertIn("judged_normal by 李处长: 一季度集中申报，属正常", out)

    def test_large_payment_fires_with_its_event_id(self):
        d = self.start("large_payment_pct = 50\n")
        budget = PLAN[P2]["budget"]
        acks = d.send_reliable([event("treasury", "small-1", P2, budget // 10, JAN1 + DAY),
                                event("treasury", "big-1", P2, budget * 6 // 10, JAN1 + 2 * DAY)])
        self.assertEqual({a["status"] for a in acks.values()}, {"accepted"})
        d.ok("advance", to=JAN1 + 2 * DAY)
        [fired] = self.history(P2, "large_payment")
        self.assertEqual((fired["state"], fired["severity"], fired["src"], fired["id"], fired["amount"],
                          fired["ref"], fired["at"]),
                         ("firing", "warning", "treasury", "big-1", budget * 6 // 10, "", JAN1 + 2 * DAY))
        # Its reminder a day later is about the same payment.
        d.ok("advance", to=JAN1 + 3 * DAY)
        reminder = self.history(P2, "large_payment")[-1]
        self.assertEqual((reminder["state"], reminder["id"], reminder["at"]),
                         ("firing", "big-1", JAN1 + 3 * DAY))
        step = d.ok("handle", project=P2, kind="large_payment", state="followed_up", by="王科长")
        self.assertEqual(step["alert"]["id"], "big-1")
        d.kill()
        d.start()
        [active] = [a for a in d.ok("alerts")["alerts"] if a["kind"] == "large_payment"]
        self.assertEqual((active["id"], active["handling"]), ("big-1", "followed_up"))
        d.ok("handle", project=P2, kind="large_payment", state="judged_violation", by="李处长",
             note="拆分合同")
        msgs = self.history(P2, "large_payment")
        self.assertEqual([(m["state"], m["handling"]) for m in msgs],
                         [("firing", "unhandled"), ("firing", "unhandled"),
                          ("acknowledged", "followed_up"),
                          ("acknowledged", "judged_violation"), ("resolved", "judged_violation")])
        self.assertEqual({m["id"] for m in msgs}, {"big-1"})
        self.assertEqual([a for a in d.ok("alerts")["alerts"] if a["kind"] == "large_payment"], [])
        # Restarted: the payment is not announced again.
        d.ok("advance", to=JAN1 + 30 * DAY)
        self.assertEqual(len(self.history(P2, "large_payment")), 5)

    def test_stalled_at_last_payment_plus_days(self):
        d = self.start("stalled_days = 30\nrepeat_interval = 0\n")
        budget = PLAN[P1]["budget"]
        d.send_reliable([event("treasury", "p1", P1, budget // 100, JAN1 + 5 * DAY + 3600)])
        d.ok("advance", to=JAN1 + 35 * DAY + 3599)
        self.assertEqual(self.history(P1, "stalled"), [])
        [never] = self.history(P2, "stalled")                 # never paid: from Jan 1
        self.assertEqual(never["at"], JAN1 + 30 * DAY)
        d.kill()
        d.start()                                              # last payment kept across the kill
        d.ok("advance", to=JAN1 + 35 * DAY + 3600)
        [st] = self.history(P1, "stalled")
        self.assertEqual((st["state"], st["severity"], st["at"]), ("firing", "warning",
                                                                   JAN1 + 35 * DAY + 3600))
        d.send_reliable([event("treasury", "p2", P1, budget // 100, JAN1 + 40 * DAY)])
        self.assertEqual(self.history(P1, "stalled")[-1]["state"], "resolved")

    def test_burst_window_is_read_back_after_a_kill(self):
        d = self.start("burst_payments = 2\nburst_window = 1h\nrepeat_interval = 0\n"
                       "year_end_rush_days = 30\nyear_end_rush_pct = 30\n")
        t = JAN1 + 10 * DAY
        d.send_reliable([event("treasury", "b%d" % i, P2, 1000, t + 600 * i) for i in range(3)])
        [b] = self.history(P2, "burst")
        self.assertEqual((b["state"], b["severity"], b["at"]), ("firing", "warning", t + 1200))
        d.kill()
        d.start()                   # the window is not saved: it is read back from the ledger
        d.ok("advance", to=t + 3599)
        self.assertEqual(len(self.history(P2, "burst")), 1)
        d.ok("advance", to=t + 3600)                          # the first leaves the window
        self.assertEqual(self.history(P2, "burst")[-1]["state"], "resolved")
        self.assertEqual(self.history(P2, "burst")[-1]["at"], t + 3600)
        # 突击支出: 3000 before the window, then 2000 in the last 30 days: 40 %.
        ye = JAN1 + 365 * DAY
        d.send_reliable([event("treasury", "late", P2, 2000, ye - 5 * DAY)])
        [rush] = self.history(P2, "year_end_rush")
        self.assertEqual((rush["state"], rush["at"]), ("firing", ye - 5 * DAY))
        d.kill()
        d.start()
        self.assertEqual([a["kind"] for a in d.ok("alerts")["alerts"] if a["project"] == P2
                          and a["kind"] == "year_end_rush"], ["year_end_rush"])
        d.ok("advance", to=ye - 1)
        self.assertEqual(len(self.history(P2, "year_end_rush")), 1)   # unchanged after restart


if __name__ == "__main__":
    unittest.main()
