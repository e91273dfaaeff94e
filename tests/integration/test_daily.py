"""The daily sums (schema 5) after seeded random histories: disbursements and
refunds of both funds, late (out-of-order) events, duplicates, refunds that
are refused after their insert (the event taken back), and a SIGKILL in the
middle followed by a restart. The ledger's daily table must equal the sums the
test computes from its own model of what was accepted, and what the events
table holds, per project and local day (Asia/Shanghai)."""

import os
import random
import sqlite3
import subprocess
import unittest

from harness import DAEMON, JAN1, DAY, Daemon, daily_of_events, event, load_plan, local_day


class DailySums(unittest.TestCase):
    def setUp(self):
        if not DAEMON:
            self.fail("BW_DAEMON is not set; run the integration tests through ctest")
        self.d = Daemon()

    def tearDown(self):
        self.d.cleanup()

    def history(self, rng, projects, n, start_id, paid):
        """n events in random order of time; paid: the model's net paid per
        (project, fund), updated as the daemon will (in the order sent)."""
        out = []
        for i in range(start_id, start_id + n):
            p = rng.choice(projects)
            fund = "other" if rng.random() < 0.2 else "fiscal"
            ts = JAN1 + rng.randrange(0, 365 * DAY)
            have = paid.get((p, fund), 0)
            if have > 0 and rng.random() < 0.25:
                # A refund: most within what was paid, some beyond (refused).
                amount = rng.randint(1, have) if rng.random() < 0.8 else have + rng.randint(1, 999)
                ok = amount <= have
                out.append((event("s", i, p, amount, ts, type="refund", fund=fund), ok,
                            (p, ts, fund, -amount)))
            else:
                amount = rng.randint(1, 5000000)
                ok = True
                out.append((event("s", i, p, amount, ts, fund=fund), ok, (p, ts, fund, amount)))
            if ok:
                paid[(p, fund)] = have + out[-1][2][3]
        return out

    def send(self, hist, model):
        acks = self.d.send_reliable([h[0] for h in hist])
        for i, (raw, ok, (p, ts, fund, net)) in enumerate(hist):
            a = next(v for (src, eid), v in acks.items() if eid == str(self.first + i))
            self.assertEqual(a["status"], "accepted" if ok else "rejected", a)
            if ok:
                key = (p, local_day(ts))
                f, o, k = model.get(key, (0, 0, 0))
                model[key] = (f + net, o, k + 1) if fund == "fiscal" else (f, o + net, k + 1)

    def check(self, model):
        want, got = daily_of_events(os.path.join(self.d.dir, "ledger.db"))
        self.assertEqual(want, model)
        self.assertEqual(got, model)

    def test_random_histories_with_a_kill(self):
        for seed in (19, 1919, 191919):
            with self.subTest(seed=seed):
                rng = random.Random(seed)
                projects = sorted(load_plan())
                self.d.cleanup()
                self.d = Daemon().start()
                paid, model = {}, {}
                first = self.history(rng, projects, 400, 1, paid)
                self.first = 1
                self.send(first, model)
                # Duplicates count once: no day moves.
                acks = self.d.send_reliable([h[0] for h in first[:50] if h[1]])
                self.assertEqual({a["status"] for a in acks.values()}, {"duplicate"})
                self.d.kill()
                self.check(model)
                self.d.start()
                second = self.history(rng, projects, 300, 401, paid)
                self.first = 401
                self.send(second, model)
                self.check(model)
                self.assertTrue(self.d.ok("verify")["consistent"])
                # Each day's sums also give the status totals.
                total = self.d.ok("status")["total"]
                self.assertEqual(total["paid"], sum(f + o for f, o, _ in model.values()),
                                 "seed %d" % seed)

    def test_verify_finds_an_edited_day_and_rebuild_repairs_it(self):
        rng = random.Random(7)
        self.d = Daemon().start()
        paid, model = {}, {}
        hist = self.history(rng, sorted(load_plan()), 120, 1, paid)
        self.first = 1
        self.send(hist, model)
        self.assertEqual(self.d.ok("verify")["daily_differences"], 0)
        self.assertEqual(self.d.stop(), 0)
        db = sqlite3.connect(os.path.join(self.d.dir, "ledger.db"))
        db.execute("UPDATE daily SET fiscal = fiscal + 1 WHERE (project, day) ="
                   " (SELECT project, day FROM daily ORDER BY project, day LIMIT 1)")
        db.execute("DELETE FROM daily WHERE (project, day) ="
                   " (SELECT project, day FROM daily ORDER BY project DESC, day DESC LIMIT 1)")
        db.commit()
        db.close()
        self.d.start()
        v = self.d.ok("verify")
        self.assertEqual((v["consistent"], v["daily_differences"]), (False, 2))
        self.assertIn("daily sum(s) differ from the events", self.d.logtext())
        self.assertEqual(self.d.stop(), 0)
        r = subprocess.run([DAEMON, "-c", self.d.conf, "--rebuild-totals"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check(model)
        self.d.start()
        v = self.d.ok("verify")
        self.assertEqual((v["consistent"], v["daily_differences"]), (True, 0))


if __name__ == "__main__":
    unittest.main()
