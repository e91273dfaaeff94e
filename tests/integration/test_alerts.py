"""Alerts for the Zunhua 2022 plan in event-clock mode, received by a real
subscriber at the right instants; heartbeats, the snapshot, acks, history."""

import unittest

from harness import DAY, JAN1, MAR31_END, DaemonTest, drain_alerts, event, load_plan

PLAN = load_plan()
P1 = "130281219RAC9NBCKQYEU"   # 18692 万元


class ZunhuaAlerts(DaemonTest):
    def test_milestone_to_the_fen_and_second(self):
        sub = self.d.subscriber()
        codes = sorted(PLAN)
        exact, short = codes[0], codes[1]
        evs = []
        for i, code in enumerate(codes):
            b = PLAN[code]["budget"]
            # Everyone pays 30 % on Jan 1; `short` one fen less.
            evs.append(event("t", "m%d" % i, code, b * 30 // 100 - (code == short), JAN1))
        acks = self.d.send_reliable(evs)
        self.assertTrue(all(a["status"] == "accepted" for a in acks.values()), acks)
        # Budgets whose 30 % is not a whole fen are under by the rounding: only
        # those and `short` miss the milestone.
        missing = {c for c in codes if c == short or PLAN[c]["budget"] * 30 % 100}
        before = self.d.ok("advance", to=MAR31_END - 1)
        self.assertEqual(before["alerts"], 0)
        r = self.d.ok("advance", to=MAR31_END)
        self.assertEqual(r["alerts"], len(missing))
        alerts = drain_alerts(sub, self.d.ok("alerts")["seq"])
        got = {a["project"] for a in alerts if a["kind"] == "milestone"}
        self.assertEqual(got, missing)
        self.assertNotIn(exact, got)
        for a in alerts:
            self.assertEqual((a["state"], a["severity"], a["milestone"]), ("firing", "critical", "03-31"))
            self.assertEqual(a["at"], MAR31_END)
            self.assertEqual(a["_topic"], "alert.%s.%s" % (PLAN[a["project"]]["unit"], a["project"]))
        s = next(a for a in alerts if a["project"] == short)
        self.assertEqual((s["rate_bp"], s["planned_bp"], s["shortfall"]), (2999, 3000, 1))
        self.assertEqual(s["project_name"], PLAN[short]["name"])

    def test_never_paid_sequence_and_heartbeat(self):
        sub = self.d.subscriber()
        r = self.d.ok("advance", to=MAR31_END)
        n = len(PLAN)
        # Every project: lag warning (day 30), critical (day 60), milestone; plus
        # daily reminders of the firing lag alert in between.
        alerts = drain_alerts(sub, self.d.ok("alerts")["seq"])
        self.assertEqual(len(alerts), r["alerts"])
        first = [a for a in alerts if a["project"] == P1]
        starts = [(a["kind"], a["severity"], a["at"]) for a in first
                  if a["at"] == a["since"] or a["kind"] != "lag" or a["severity"] == "critical"
                  and a["at"] == JAN1 + 60 * DAY]
        self.assertEqual(starts, [("lag", "warning", JAN1 + 30 * DAY),
                                  ("lag", "critical", JAN1 + 60 * DAY),
                                  ("milestone", "critical", MAR31_END)])
        self.assertEqual(sum(1 for a in alerts if a["kind"] == "milestone"), n)
        ats = [a["at"] for a in alerts]
        self.assertEqual(ats, sorted(ats))
        seqs = [a["seq"] for a in alerts]
        self.assertEqual(seqs, list(range(1, len(alerts) + 1)))
        # The heartbeat carries the last seq, so a subscriber can see a gap.
        while True:
            topic, body = sub.recv_multipart()
            if topic == b"hb":
                import msgpack
                hb = msgpack.unpackb(body)
                self.assertEqual(hb["seq"], seqs[-1])
                break

    def test_snapshot_ack_history(self):
        self.d.ok("advance", to=JAN1 + 31 * DAY)
        snap = self.d.ok("alerts")
        self.assertEqual(len(snap["alerts"]), len(PLAN))       # one lag warning each
        self.assertTrue(all(a["kind"] == "lag" and a["severity"] == "warning" for a in snap["alerts"]))
        sub = self.d.subscriber()
        ack = self.d.ok("ack", project=P1, kind="lag", by="王科长", note="已电话督办")
        self.assertEqual(ack["alert"]["state"], "acknowledged")
        got = drain_alerts(sub, snap["seq"] + 1)
        self.assertEqual((got[-1]["state"], got[-1]["by"], got[-1]["note"]),
                         ("acknowledged", "王科长", "已电话督办"))
        # Acknowledged: no reminder for P1 the next day, reminders for the others.
        r = self.d.ok("advance", to=JAN1 + 32 * DAY)
        got = drain_alerts(sub, snap["seq"] + 1 + r["alerts"])
        self.assertEqual(len(got), len(PLAN) - 1)
        self.assertNotIn(P1, {a["project"] for a in got})
        h = self.d.ok("history", project=P1)
        self.assertEqual([a["state"] for a in h["alerts"]], ["firing", "firing", "acknowledged"])
        self.assertEqual(len(self.d.ok("history", limit=5)["alerts"]), 5)
        since = self.d.ok("history", since=JAN1 + 31 * DAY + 1)["alerts"]
        self.assertTrue(all(a["at"] > JAN1 + 31 * DAY for a in since))
        bad = self.d.control("ack", project=P1, kind="overspend", by="x")
        self.assertFalse(bad["ok"])
        self.assertIn("no firing overspend alert", bad["error"])

    def test_history_after_seq_reads_forward(self):
        # A notifier that took alerts up to some seq reads on from it, in
        # pages: every message once, oldest first, `truncated` until the end.
        self.d.ok("advance", to=MAR31_END)
        everything = self.d.ok("history")["alerts"]
        self.assertGreater(len(everything), 50)
        start = everything[10]["seq"]
        got, after, pages = [], start, 0
        while True:
            r = self.d.ok("history", after_seq=after, limit=7)
            pages += 1
            self.assertLessEqual(len(r["alerts"]), 7)
            got.extend(r["alerts"])
            if not r["truncated"]:
                break
            self.assertEqual(len(r["alerts"]), 7)
            after = r["alerts"][-1]["seq"]
        self.assertEqual([a["seq"] for a in got], [a["seq"] for a in everything[11:]])
        self.assertEqual(got, everything[11:])
        self.assertEqual(pages, -(-(len(everything) - 11) // 7))    # a full last page is not truncated
        # With the other filters, and past the end.
        p1 = self.d.ok("history", after_seq=start, project=P1)["alerts"]
        self.assertEqual(p1, [a for a in everything[11:] if a["project"] == P1])
        end = self.d.ok("history", after_seq=everything[-1]["seq"])
        self.assertEqual((end["alerts"], end["truncated"]), ([], False))
        bad = self.d.control("history", after_seq=-1)
        self.assertFalse(bad["ok"])
        self.assertIn("after_seq", bad["error"])

    def test_overspend_and_adjust(self):
        sub = self.d.subscriber()
        b = PLAN[P1]["budget"]
        acks = self.d.send_reliable([event("t", "big", P1, b + 1, JAN1 + DAY)])
        self.assertEqual(acks[("t", "big")]["status"], "accepted")
        a = drain_alerts(sub, 1)[0]
        self.assertEqual((a["kind"], a["severity"], a["paid"], a["budget"]), ("overspend", "critical", b + 1, b))
        r = self.d.ok("adjust", project=P1, budget=b + 100, reason="追加预算（测试）")
        self.assertEqual(r["old_budget"], b)
        self.assertEqual(r["project"]["budget"], b + 100)
        a = drain_alerts(sub, 2)[-1]
        self.assertEqual((a["kind"], a["state"]), ("overspend", "resolved"))
        bad = self.d.control("adjust", project=P1, budget=0, reason="x")
        self.assertFalse(bad["ok"])

    def test_advance_rules(self):
        self.d.ok("advance", to=JAN1 + 10 * DAY)
        r = self.d.control("advance", to=JAN1)
        self.assertFalse(r["ok"])
        self.assertIn("only moves forward", r["error"])
        r = self.d.control("nonsense")
        self.assertFalse(r["ok"])


if __name__ == "__main__":
    unittest.main()
