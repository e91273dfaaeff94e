"""`status` with `at`: every row as it stood at an instant, from the daily
sums. Daemon A takes the demo year (examples/zunhua-2022/generate.py) with a
budget adjustment in the middle, then answers `status` as of a dozen
instants; for each, a fresh daemon B is given only the events with ts <= that
instant (in A's order) and the adjustment if A made it by then, and advanced
to it: B's live status must equal A's as-of status, row for row, to the fen
and the basis point. Severity is compared wherever it depends on the figures
alone: not for a lag inside the hysteresis band just below a threshold,
where B keeps the level it reached on the way (PROTOCOL.md, status `at`)."""

import os
import sys
import unittest

from harness import DAEMON, JAN1, DAY, MAR31_END, YEAR_END, PLAN, SOURCE_DIR, Daemon, event

sys.path.insert(0, os.path.join(SOURCE_DIR, "examples", "zunhua-2022"))
import generate  # noqa: E402

FIGURES = ("budget", "paid", "paid_fiscal", "paid_other", "shortfall", "rate_bp", "planned_bp",
           "lag_bp", "pace_bp", "projects", "unit", "unit_name", "project", "project_name",
           "plan_budget")
WARN, CRIT, HYST = 1000, 2000, 100


def packed(e):
    return event("treasury-zunhua", e["id"], e["project"], e["amount_fen"], e["ts"],
                 unit=e["unit"], type=e["type"], ref=e.get("ref") or None)


def in_hysteresis(lag):
    return WARN - HYST <= lag < WARN or CRIT - HYST <= lag < CRIT


class StatusAt(unittest.TestCase):
    def setUp(self):
        if not DAEMON:
            self.fail("BW_DAEMON is not set; run the integration tests through ctest")
        events, _ = generate.generate(generate.read_plan(PLAN), 2022)
        seen, self.events = set(), []
        for e in events:                 # the demo's one resend counts once
            if e["id"] not in seen:
                seen.add(e["id"])
                self.events.append(e)
        self.half = len(self.events) // 2
        self.a = Daemon().start()
        self.bs = []

    def tearDown(self):
        self.a.cleanup()
        for b in self.bs:
            b.cleanup()

    def feed(self, d, events, upto, adjust):
        """Sends the events with ts <= upto, the adjustment after the first
        half when adjust, and advances the clock to upto."""
        first = [packed(e) for e in self.events[:self.half] if e["ts"] <= upto]
        rest = [packed(e) for e in self.events[self.half:] if e["ts"] <= upto]
        for batch in (first, rest):
            acks = d.send_reliable(batch) if batch else {}
            self.assertTrue(all(a["status"] == "accepted" for a in acks.values()), acks)
            if batch is first and adjust:
                d.ok("adjust", project=self.adj_project, budget=self.adj_budget,
                     reason="预算调整（测试）")
        d.ok("advance", to=upto)

    def compare(self, want, got, at):
        self.assertEqual(got["at"], at)
        self.assertEqual(got["pace_bp"], want["pace_bp"])
        zone_units = set()
        self.assertEqual(len(got["projects"]), len(want["projects"]))
        for w, g in zip(want["projects"], got["projects"]):
            for k in FIGURES:
                self.assertEqual(g[k], w[k], "at %d, project %s, %s" % (at, w["project"], k))
            if in_hysteresis(w["lag_bp"]):
                zone_units.add(w["unit"])
            else:
                self.assertEqual((g["severity"], g["firing"]), (w["severity"], w["firing"]),
                                 "at %d, project %s" % (at, w["project"]))
        for w, g in zip(want["units"], got["units"]):
            for k in FIGURES:
                self.assertEqual(g[k], w[k], "at %d, unit %s, %s" % (at, w["unit"], k))
            if w["unit"] not in zone_units:
                self.assertEqual(g["severity"], w["severity"], "at %d, unit %s" % (at, w["unit"]))
        for k in FIGURES:
            self.assertEqual(got["total"][k], want["total"][k], "at %d, total %s" % (at, k))

    def test_a_dozen_instants_equal_a_replay(self):
        a = self.a
        st = a.ok("status")
        self.adj_project = st["projects"][4]["project"]
        self.adj_budget = st["projects"][4]["budget"] * 4 // 5 + 7
        self.feed(a, self.events, YEAR_END, adjust=True)
        x = max(e["ts"] for e in self.events[:self.half])   # A's clock at the adjustment
        some_ts = self.events[self.half + 17]["ts"]          # exactly an event's ts: it counts
        instants = [JAN1, JAN1 + 3 * DAY + 5, MAR31_END - 1, MAR31_END, x - 1, x, x + 1,
                    some_ts, some_ts - 1, JAN1 + 181 * DAY - 1, JAN1 + 304 * DAY, YEAR_END - 1,
                    YEAR_END]
        for at in instants:
            with self.subTest(at=at):
                want = a.ok("status", at=at)
                b = Daemon().start()
                self.bs.append(b)
                self.feed(b, self.events, at, adjust=at >= x)
                self.assertEqual(want["total"]["paid"],
                                 sum(e["amount_fen"] * (1 if e["type"] == "disbursement" else -1)
                                     for e in self.events if e["ts"] <= at))
                self.compare(want, b.ok("status"), at)
                # The same query through unit and project filters and a sort.
                u = want["units"][1]["unit"]
                self.assertEqual(a.ok("status", at=at, unit=u)["units"], [want["units"][1]])
                p = want["projects"][4]
                self.assertEqual(a.ok("status", at=at, project=p["project"])["projects"], [p])
                lag = a.ok("status", at=at, sort="lag", limit=3)["projects"]
                self.assertEqual([r["lag_bp"] for r in lag],
                                 sorted((r["lag_bp"] for r in want["projects"]), reverse=True)[:3])
                b.cleanup()
                self.bs.remove(b)

    def test_the_future_is_refused(self):
        self.feed(self.a, self.events, JAN1 + 200 * DAY, adjust=False)
        now = self.a.ok("ping")["now"]
        self.assertEqual(now, JAN1 + 200 * DAY)
        r = self.a.control("status", at=now + 1)
        self.assertFalse(r["ok"])
        self.assertIn("after the daemon's clock", r["error"])
        self.assertEqual(self.a.ok("status", at=now)["total"], self.a.ok("status")["total"])


if __name__ == "__main__":
    unittest.main()
