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


if __name__ == "__main__":
    unittest.main()
