"""The edge-triggered ZMQ_FD under load: a burst of 1,000,000 events on the
reliable path, every one acknowledged and counted, none lost or doubled."""

import unittest

import msgpack

from harness import DAY, JAN1, DaemonTest, load_plan

PLAN = load_plan()
N = 1000000


class Burst(DaemonTest):
    def test_million_events(self):
        codes = sorted(PLAN)
        pack = msgpack.Packer()
        evs = [pack.pack({"v": 1, "type": "disbursement", "src": "burst", "id": str(i),
                          "project": codes[i % len(codes)], "amount": 1 + i % 7,
                          "ts": JAN1 + DAY + i % 86400}) for i in range(N)]
        acks = self.d.send_reliable(evs, window=5000, timeout=600)
        self.assertEqual(len(acks), N)
        self.assertTrue(all(a["status"] == "accepted" for a in acks.values()))
        stats = self.d.ok("stats")
        self.assertEqual(stats["accepted"], N)
        self.assertEqual(stats["events_in_ledger"], N)
        total = self.d.ok("status")["total"]["paid"]
        self.assertEqual(total, sum(1 + i % 7 for i in range(N)))
        self.assertTrue(self.d.ok("verify")["consistent"])


if __name__ == "__main__":
    unittest.main()
