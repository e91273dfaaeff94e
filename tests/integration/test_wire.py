"""The wire as PROTOCOL.md says, where independent clients tripped over it: a
refused event's ack names it by (src, id); the `alerts` snapshot carries each
alert's own seq; milestone messages carry the deadline in `at`; replay never
turns a message refused for its framing into an event; `history.truncated`;
the life of a source_gap."""

import os
import sqlite3
import subprocess
import unittest

import msgpack
import zmq

from harness import CLI, DAY, JAN1, MAR31_END, DaemonTest, drain_alerts, event, load_plan

PLAN = load_plan()
P1 = "130281219RAC9NBCKQYEU"          # 18692 万元
P2 = "130281212Z3GP27HDT7WR"


def packed(**fields):
    """An event map with the given fields (None leaves a key out)."""
    m = {"v": 1, "type": "disbursement", "src": "bank", "project": P1, "amount": 100,
         "ts": JAN1 + DAY}
    m.update(fields)
    return msgpack.packb({k: v for k, v in m.items() if v is not None})


def dead_letters(d):
    """(src, evid, reason) of every dead letter, oldest first, read from the
    ledger itself (WAL: a reader beside the daemon sees what it committed)."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.dir, "ledger.db"), uri=True)
    try:
        return db.execute("SELECT src, evid, reason FROM rejects ORDER BY id").fetchall()
    finally:
        db.close()


class RefusedEventsNamed(DaemonTest):
    def test_decode_rejects_carry_src_and_id(self):
        # Many in flight at once: only (src, id) tells the sender which ack is whose.
        cases = {
            "amount0": (packed(id="amount0", amount=0), "key 'amount' must be an integer number of fen > 0"),
            "noamount": (packed(id="noamount", amount=None), "missing key 'amount'"),
            "v2": (packed(id="v2", v=2), "unsupported protocol version 2"),
            "trailing": (packed(id="trailing") + b"\x01", "trailing bytes"),
            "control": (packed(id="control", unit="32\x1b3003"), "control character 0x1b"),
            "fund": (packed(id="fund", fund="state"), "key 'fund' must be"),
        }
        good = event("bank", "ok", P1, 100, JAN1 + DAY)
        acks = self.d.send_reliable([c[0] for c in cases.values()] + [good])
        self.assertEqual(acks[("bank", "ok")]["status"], "accepted")
        for eid, (_, words) in cases.items():
            a = acks.get(("bank", eid))
            self.assertIsNotNone(a, "%s: no ack names it; acks: %r" % (eid, acks))
            self.assertEqual(a["status"], "rejected")
            self.assertIn(words, a["reason"])
        self.assertNotIn(("", ""), acks)
        # The dead letters keep the names too.
        named = {(src, evid) for src, evid, _ in dead_letters(self.d)}
        self.assertEqual(named, {("bank", eid) for eid in cases})

    def test_unreadable_parts_stay_empty(self):
        acks = self.d.send_reliable([
            packed(id="x", src="a\nb"),                # src unreadable, id readable
            packed(id=None, src="bank2"),               # id missing
            b"\x93\x01\x02\x03",                       # not a map: nothing readable
        ])
        self.assertEqual(acks[("", "x")]["status"], "rejected")
        self.assertIn("key 'src' contains the control character", acks[("", "x")]["reason"])
        self.assertEqual(acks[("bank2", "")]["status"], "rejected")
        self.assertIn("top level must be a map", acks[("", "")]["reason"])


def last_seq_by_alert(history):
    """(project, kind) -> seq of its last message in the alert log."""
    last = {}
    for a in history:
        if a["kind"] != "source_gap":
            last[(a["project"], a["kind"])] = a["seq"]
    return last


class Snapshot(DaemonTest):
    def test_each_alert_carries_the_seq_it_was_last_published_with(self):
        sub = self.d.subscriber()
        self.d.ok("advance", to=JAN1 + 31 * DAY)        # lag warnings (day 30), reminders (day 31)
        self.d.ok("ack", project=P1, kind="lag", by="王科长")
        snap = self.d.ok("alerts")
        streamed = drain_alerts(sub, snap["seq"])
        sub.close()
        self.assertEqual(len(snap["alerts"]), len(PLAN))
        want = last_seq_by_alert(streamed)
        got = {(a["project"], a["kind"]): a["seq"] for a in snap["alerts"]}
        self.assertEqual(got, want)
        self.assertEqual(got[(P1, "lag")], snap["seq"])            # the acknowledgement, last out
        self.assertEqual(len(set(got.values())), len(got))
        # The recipe of §1.4: what the snapshot holds is exactly what was
        # streamed up to its seq; later messages are newer than every entry.
        self.d.ok("advance", to=JAN1 + 32 * DAY)
        later = self.d.ok("alerts")
        for a in later["alerts"]:
            before = got[(a["project"], a["kind"])]
            if a["project"] == P1:
                self.assertEqual(a["seq"], before)                # acknowledged: no reminder
            else:
                self.assertGreater(a["seq"], snap["seq"])
        self.assertEqual({(a["project"], a["kind"]): a["seq"] for a in later["alerts"]},
                         last_seq_by_alert(self.d.ok("history")["alerts"]))

    def test_milestone_messages_are_about_the_deadline(self):
        self.d.ok("advance", to=MAR31_END + 2 * DAY)
        ms = [a for a in self.d.ok("history", project=P1)["alerts"] if a["kind"] == "milestone"]
        self.assertEqual(len(ms), 3)                  # missed on 03-31, reminded on 04-01 and 04-02
        self.assertEqual({a["at"] for a in ms}, {MAR31_END})
        snap = [a for a in self.d.ok("alerts")["alerts"]
                if a["project"] == P1 and a["kind"] == "milestone"]
        self.assertEqual([(a["at"], a["seq"]) for a in snap], [(MAR31_END, ms[-1]["seq"])])


def status_paid(d, code):
    return d.ok("status", project=code)["projects"][0]["paid"]


class FramingRejectsNotReplayed(DaemonTest):
    def test_wrong_frames_stay_dead_letters(self):
        # On the ROUTER: [junk][event] from a DEALER. The daemon keeps the
        # last frame, which here is a whole valid event.
        s = self.d.dealer()
        try:
            s.send_multipart([b"junk", event("bank", "framed", P1, 700, JAN1 + DAY)])
            self.assertTrue(s.poll(30000), "no ack for a message of two frames")
            ack = msgpack.unpackb(s.recv(), raw=False)
        finally:
            s.close()
        self.assertEqual(ack["status"], "rejected")
        self.assertIn("expected one frame [event] from a DEALER, got 2 frames", ack["reason"])
        # On SUB: [topic][event][extra], once the daemon's subscription is live.
        pub = self.d.ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 1000)
        pub.connect(self.d.sub_ep)
        try:
            probe = 0
            while status_paid(self.d, P2) == 0:
                probe += 1
                pub.send_multipart([b"disb.x.y", event("probe", probe, P2, 1, JAN1 + DAY)])
            pub.send_multipart([b"disb.x.y", event("bank", "framed-sub", P1, 900, JAN1 + DAY), b"x"])
            while self.d.ok("stats")["bad_frames"] < 2:
                pass
        finally:
            pub.close()
        # And one dead letter that a replay may take: a refund before its original.
        acks = self.d.send_reliable([event("bank", "r1", P1, 40, JAN1 + DAY, type="refund", ref="d1")])
        self.assertEqual(acks[("bank", "r1")]["status"], "rejected")
        self.d.send_reliable([event("bank", "d1", P1, 100, JAN1 + DAY)])

        r = self.d.ok("replay_rejected")
        self.assertEqual(status_paid(self.d, P1), 60)       # 100 - 40: neither framed event
        self.assertEqual((r["replayed"], r["accepted"], r["still_rejected"], r["not_replayable"]),
                         (1, 1, 0, 2))
        why = r["not_replayable_reason"]
        self.assertIn("refused for their framing", why)
        self.assertIn("expected one frame [event] from a DEALER, got 2 frames", why)
        self.assertIn("send each event again as one frame", why)
        self.assertEqual(self.d.ok("stats")["dead_letters_pending"], 2)
        reasons = [reason for _, _, reason in dead_letters(self.d)]
        self.assertTrue(any(x.startswith("expected two frames [topic][event] on SUB, got 3")
                            for x in reasons), reasons)
        # Still there, and still refused, the next time.
        again = self.d.ok("replay_rejected")
        self.assertEqual((again["replayed"], again["accepted"], again["not_replayable"]), (0, 0, 2))
        self.assertEqual(status_paid(self.d, P1), 60)
        self.assertTrue(self.d.ok("verify")["consistent"])


class HistoryTruncated(DaemonTest):
    def test_truncated_means_older_matching_alerts_were_left_out(self):
        self.d.ok("advance", to=JAN1 + 30 * DAY)         # one lag warning per project
        n = len(PLAN)
        everything = self.d.ok("history")
        self.assertEqual((len(everything["alerts"]), everything["truncated"]), (n, False))
        exact = self.d.ok("history", limit=n)
        self.assertEqual((len(exact["alerts"]), exact["truncated"]), (n, False))
        cut = self.d.ok("history", limit=n - 1)
        self.assertEqual((len(cut["alerts"]), cut["truncated"]), (n - 1, True))
        # The newest, oldest first.
        self.assertEqual([a["seq"] for a in cut["alerts"]], list(range(2, n + 1)))
        one = self.d.ok("history", project=P1, limit=1)
        self.assertEqual((len(one["alerts"]), one["truncated"]), (1, False))
        none = self.d.ok("history", project="NO-SUCH", limit=1)
        self.assertEqual((none["alerts"], none["truncated"]), ([], False))
        # The command says so on stderr, and only then.
        if not CLI:
            self.skipTest("BW_CLI is not set: the budgetwatch command was not built")
        env = dict(os.environ, BUDGETWATCH_CONTROL=self.d.ctl_ep, TZ="Asia/Shanghai")
        for limit, note in ((n - 1, True), (n, False)):
            r = subprocess.run([CLI, "history", "--limit", str(limit), "--json"], env=env,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(r.stdout.splitlines()), limit)
            self.assertEqual("older ones match too" in r.stderr, note, r.stderr)


class SourceGapLife(DaemonTest):
    def test_a_gap_is_a_one_time_notice(self):
        acks = self.d.send_reliable([event("bank", i, P1, 1, JAN1 + DAY, seq=s)
                                     for i, s in enumerate([1, 2, 5])])
        self.assertTrue(all(a["status"] == "accepted" for a in acks.values()))
        gaps = [a for a in self.d.ok("history")["alerts"] if a["kind"] == "source_gap"]
        self.assertEqual([(a["state"], a["expected_seq"], a["got_seq"]) for a in gaps],
                         [("firing", 3, 5)])
        # The missing events arriving late do not resolve it: nothing does.
        self.d.send_reliable([event("bank", "late%d" % s, P1, 1, JAN1 + DAY, seq=s) for s in (3, 4)])
        self.d.ok("advance", to=JAN1 + 2 * DAY)
        self.assertEqual([a["state"] for a in self.d.ok("history")["alerts"]
                          if a["kind"] == "source_gap"], ["firing"])
        # Never active: not in the snapshot, nothing to acknowledge.
        self.assertEqual([a for a in self.d.ok("alerts")["alerts"] if a["kind"] == "source_gap"], [])
        r = self.d.control("ack", project=P1, kind="source_gap", by="王科长")
        self.assertFalse(r["ok"])
        self.assertIn("one-time notice", r["error"])


if __name__ == "__main__":
    unittest.main()
