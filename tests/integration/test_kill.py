"""Crash safety: 100,000 events on the reliable path with retries while the
daemon is killed with SIGKILL at random moments (seeded) at least 5 times. At
the end every acked event is in the ledger, nothing is counted twice, and the
totals equal the sum of the distinct events."""

import os
import random
import sqlite3
import time
import unittest

import msgpack
import zmq

from harness import DAY, JAN1, Daemon, load_plan

PLAN = load_plan()
N = 100000
KILLS = 6


class KillNine(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(sub=False)

    def tearDown(self):
        self.d.cleanup()

    def test_sigkill_during_ingest(self):
        rnd = random.Random(20221231)
        codes = sorted(PLAN)
        events = {str(i): msgpack.packb({"v": 1, "type": "disbursement", "src": "kill", "id": str(i),
                                         "project": codes[i % len(codes)], "amount": 100 + i % 97,
                                         "ts": JAN1 + DAY + i}) for i in range(N)}
        kill_at = sorted(rnd.sample(range(1000, N - 1000), KILLS))
        acked = set()
        kills = 0
        window = 2000
        while len(acked) < N:
            self.d.start()
            s = self.d.dealer()
            todo = [i for i in events if i not in acked]
            inflight = set()
            killed = False
            pos = 0
            deadline = time.monotonic() + 300
            while (pos < len(todo) or inflight) and not killed:
                while pos < len(todo) and len(inflight) < window:
                    s.send(events[todo[pos]])
                    inflight.add(todo[pos])
                    pos += 1
                self.assertTrue(s.poll(max(1, int((deadline - time.monotonic()) * 1000))),
                                "no acks; log:\n" + self.d.logtext())
                while s.poll(0):
                    a = msgpack.unpackb(s.recv(), raw=False)
                    self.assertIn(a["status"], ("accepted", "duplicate"), a)
                    acked.add(a["id"])
                    inflight.discard(a["id"])
                    if kills < KILLS and len(acked) >= kill_at[kills]:
                        self.d.kill()
                        kills += 1
                        killed = True
                        break
            s.close()
        self.assertEqual(kills, KILLS)
        self.d.stop()                               # then a clean restart
        self.d.start()
        stats = self.d.ok("stats")
        self.assertEqual(stats["events_in_ledger"], N)
        total = self.d.ok("status")["total"]["paid"]
        self.assertEqual(total, sum(100 + i % 97 for i in range(N)))
        self.assertTrue(self.d.ok("verify")["consistent"])
        self.d.stop()
        db = sqlite3.connect(os.path.join(self.d.dir, "ledger.db"))
        ids = {r[0] for r in db.execute("SELECT id FROM events WHERE src = 'kill'")}
        db.close()
        self.assertEqual(ids, set(events))          # every acked event is in the ledger


if __name__ == "__main__":
    unittest.main()
