"""The console's read operations against the real daemon: status paging,
filters and sorting by a column (checked against a model computed here from
the unpaged rows), a project's payments paged by cursor, its adjustments,
and the index events_project (ledger schema 5)."""

import random
import sqlite3
import unittest

from harness import DAY, JAN1, DaemonTest, event, load_plan

PLAN = load_plan()


class ConsoleOps(DaemonTest):
    def setUp(self):
        super().setUp()
        self.seed = random.randrange(1 << 30)
        self.rng = random.Random(self.seed)

    def msg(self, text):
        return "%s (seed %d)" % (text, self.seed)

    def test_status_pages_equal_the_sorted_model(self):
        codes = sorted(PLAN)
        evs = []
        for i, code in enumerate(codes):
            for k in range(self.rng.randrange(4)):
                evs.append(event("t", "s%d-%d" % (i, k), code,
                                 PLAN[code]["budget"] // self.rng.randrange(3, 50) + 1,
                                 JAN1 + DAY * self.rng.randrange(1, 80)))
        acks = self.d.send_reliable(evs)
        self.assertTrue(all(a["status"] == "accepted" for a in acks.values()))
        self.d.ok("advance", to=JAN1 + 90 * DAY)
        full = self.d.ok("status")
        rows = full["projects"]
        self.assertEqual(full["matched"], len(rows))
        for col, desc in (("paid", True), ("rate_bp", False), ("project", False), ("budget", True)):
            # Descending by value; ties in plan order either way.
            order = sorted(range(len(rows)),
                           key=lambda i: (-rows[i][col] if desc else rows[i][col], i))
            want = [rows[i]["project"] for i in order]
            got, offset = [], 0
            while True:
                page = self.d.ok("status", sort=col, desc=desc, offset=offset, limit=13)
                self.assertEqual(page["matched"], len(rows))
                self.assertEqual(page["total"], full["total"])
                if not page["projects"]:
                    break
                got += [r["project"] for r in page["projects"]]
                offset += 13
            self.assertEqual(got, want, self.msg("sort %s desc=%s" % (col, desc)))
        # Filters: search, alert state.
        needle = rows[2]["project"][3:9]
        want = [r["project"] for r in rows if needle in r["project"] or needle in r["project_name"]]
        r = self.d.ok("status", q=needle)
        self.assertEqual([x["project"] for x in r["projects"]], want)
        self.assertEqual(r["matched"], len(want))
        firing = [x["project"] for x in rows if x["firing"] > 0]
        self.assertTrue(firing, self.msg("some project is lagging by day 90"))
        r = self.d.ok("status", alert="firing", limit=5)
        self.assertEqual(r["matched"], len(firing))
        self.assertEqual([x["project"] for x in r["projects"]], firing[:5])
        self.assertEqual(self.d.ok("status", alert="none")["matched"], len(rows) - len(firing))
        bad = self.d.control("status", alert="maybe")
        self.assertFalse(bad["ok"])
        self.assertIn("'alert'", bad["error"])
        bad = self.d.control("status", sort="colour")
        self.assertIn("colour", bad["error"])

    def test_payments_and_adjustments(self):
        code = sorted(PLAN)[4]
        other = sorted(PLAN)[5]
        n = self.rng.randrange(30, 120)
        evs = [event("bank", "p%d" % k, code, 1000 + k, JAN1 + DAY * (k % 200), fund="other" if k % 4 == 0 else None)
               for k in range(n)]
        evs += [event("bank", "o%d" % k, other, 7, JAN1) for k in range(10)]
        # One at a time, so the rowids follow k.
        for e in evs:
            self.d.send_reliable([e])
        evs.append(event("bank", "r1", code, 500, JAN1 + DAY, type="refund", ref="p1"))
        self.d.send_reliable([evs[-1]])
        seen, before, pages = [], None, 0
        while True:
            args = {"project": code, "limit": 25}
            if before is not None:
                args["before"] = before
            r = self.d.ok("payments", **args)
            self.assertEqual(r["total"], n + 1)
            seen += r["payments"]
            pages += 1
            if "next" not in r:
                break
            before = r["next"]
        self.assertEqual(pages, (n + 1 + 24) // 25)
        self.assertEqual([p["id"] for p in seen], ["r1"] + ["p%d" % k for k in reversed(range(n))])
        rows = [p["row"] for p in seen]
        self.assertEqual(rows, sorted(rows, reverse=True))
        p7 = next(p for p in seen if p["id"] == "p8")
        self.assertEqual((p7["amount"], p7["fund"], p7["type"], p7["src"], p7["ts"]),
                         (1008, "other", "disbursement", "bank", JAN1 + 8 * DAY))
        self.assertEqual((seen[0]["type"], seen[0]["ref"]), ("refund", "p1"))
        self.assertFalse(self.d.control("payments", project=code, limit=1001)["ok"])
        self.assertIn("needs 'project'", self.d.control("payments")["error"])

        b0 = PLAN[code]["budget"]
        self.d.ok("adjust", project=code, budget=b0 + 100, reason="追加 <i>一</i>")
        self.d.ok("adjust", project=code, budget=b0 - 5, reason="压减")
        adj = self.d.ok("adjustments", project=code)["adjustments"]
        self.assertEqual([(a["old_budget"], a["new_budget"], a["reason"]) for a in adj],
                         [(b0, b0 + 100, "追加 <i>一</i>"), (b0 + 100, b0 - 5, "压减")])
        self.assertEqual(self.d.ok("adjustments", project=other)["adjustments"], [])
        self.assertIn("unknown project", self.d.control("adjustments", project="nope")["error"])

        self.d.stop()
        db = sqlite3.connect(self.d.dir + "/ledger.db")
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'index'")]
        db.close()
        self.assertIn("events_project", names)


if __name__ == "__main__":
    unittest.main()
