"""The `series` op on the demo year: the department's, a unit's and a
project's cumulative paid money at the end of each local day with payments,
and the plan line at the year's start, the milestone deadlines and the year's
end, each equal to the test's own computation from the events and the plan
(examples/zunhua-2022: every project 30 % by 03-31, 60 % by 06-30, 90 % by
10-31, 100 % by 12-31), after a budget adjustment too."""

import os
import sys
import unittest

from harness import DAEMON, JAN1, DAY, YEAR_END, PLAN, SOURCE_DIR, Daemon, event, load_plan, local_day

sys.path.insert(0, os.path.join(SOURCE_DIR, "examples", "zunhua-2022"))
import generate  # noqa: E402

# The deadlines: the end of 03-31, 06-30, 10-31, 12-31 (local), and their shares.
KNOTS = [(JAN1 + 90 * DAY, 3000), (JAN1 + 181 * DAY, 6000), (JAN1 + 304 * DAY, 9000),
         (YEAR_END, 10000)]


class Series(unittest.TestCase):
    def setUp(self):
        if not DAEMON:
            self.fail("BW_DAEMON is not set; run the integration tests through ctest")
        self.events, _ = generate.generate(generate.read_plan(PLAN), 2022)
        self.d = Daemon().start()
        acks = self.d.send_reliable([
            event("treasury-zunhua", e["id"], e["project"], e["amount_fen"], e["ts"],
                  unit=e["unit"], type=e["type"], ref=e.get("ref") or None) for e in self.events])
        self.assertTrue(all(a["status"] in ("accepted", "duplicate") for a in acks.values()))
        self.plan = load_plan()

    def tearDown(self):
        self.d.cleanup()

    def want_points(self, keep):
        days, seen = {}, set()
        for e in self.events:
            if e["id"] in seen or not keep(e["project"]):
                continue
            seen.add(e["id"])
            end = local_day(e["ts"]) + DAY
            days[end] = days.get(end, 0) + (e["amount_fen"] if e["type"] == "disbursement"
                                            else -e["amount_fen"])
        out, cum = [], 0
        for t in sorted(days):
            cum += days[t]
            out.append([t, cum])
        return out

    def want_plan(self, budgets):
        return [[JAN1, 0]] + [[t, sum(b * bp // 10000 for b in budgets)] for t, bp in KNOTS]

    def check(self, r, keep, budgets):
        self.assertEqual((r["year_start"], r["year_end"]), (JAN1, YEAR_END))
        self.assertEqual(r["budget"], sum(budgets))
        self.assertEqual(r["points"], self.want_points(keep))
        self.assertEqual(r["plan"], self.want_plan(budgets))
        self.assertEqual(r["now"], self.d.ok("ping")["now"])

    def test_department_unit_project(self):
        st = self.d.ok("status")
        r = self.d.ok("series")
        self.check(r, lambda p: True, [v["budget"] for v in self.plan.values()])
        self.assertEqual(r["points"][-1][1], st["total"]["paid"])
        unit = st["units"][2]["unit"]
        self.check(self.d.ok("series", unit=unit), lambda p: self.plan[p]["unit"] == unit,
                   [v["budget"] for v in self.plan.values() if v["unit"] == unit])
        code = st["projects"][3]["project"]
        r = self.d.ok("series", project=code)
        self.check(r, lambda p: p == code, [self.plan[code]["budget"]])
        self.assertEqual(r["points"][-1][1], st["projects"][3]["paid"])
        # The plan line follows the adjusted budget; the paid points do not move.
        self.d.ok("adjust", project=code, budget=self.plan[code]["budget"] + 12345, reason="追加")
        self.check(self.d.ok("series", project=code), lambda p: p == code,
                   [self.plan[code]["budget"] + 12345])

    def test_stats_carry_the_commit_latency_histogram(self):
        # Not a series, but the same figures' surface: every commit is in the
        # histogram once, its buckets cumulative, and the WAL's size is there.
        s = self.d.ok("stats")
        b, c = s["commit_latency_buckets"], s["commit_latency_counts"]
        self.assertEqual(len(b), len(c))
        self.assertEqual(b, sorted(b))
        self.assertEqual(c, sorted(c))
        self.assertGreater(s["batches"], 0)
        self.assertEqual(s["commit_latency_count"], s["batches"])
        self.assertLessEqual(c[-1], s["commit_latency_count"])
        self.assertGreater(c[-1], 0)
        self.assertGreater(s["commit_latency_sum_us"], 0)
        wal = os.path.getsize(os.path.join(self.d.dir, "ledger.db-wal"))
        self.assertEqual(s["wal_bytes"], wal)

    def test_unknown_names_are_refused(self):
        r = self.d.control("series", unit="nope")
        self.assertFalse(r["ok"])
        self.assertIn('unknown unit "nope"', r["error"])
        r = self.d.control("series", project="nope")
        self.assertIn('unknown project "nope"', r["error"])


if __name__ == "__main__":
    unittest.main()
