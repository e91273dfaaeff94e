"""The wire as PROTOCOL.md says, where independent clients tripped over it: a
refused event's ack names it by (src, id); the `alerts` snapshot carries each
alert's own seq; milestone messages carry the deadline in `at`; replay never
turns a message refused for its framing into an event; `history.truncated`;
the life of a source_gap."""

import os
import sqlite3
import unittest

import msgpack

from harness import DAY, JAN1, MAR31_END, DaemonTest, drain_alerts, event, load_plan

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


if __name__ == "__main__":
    unittest.main()
