"""A ledger written by the release before schema 4 (tests/fixtures/ledger-v3.db,
made by tests/fixtures/make_ledger_v3.py with bc5b873's budgetwatchd) opened by
this budgetwatchd: upgraded to schema 4, 5 (the daily sums backfilled from
the events, keyed by the plan's local days) and 6, its totals digest still adding up
(else the daemon refuses to start), verify consistent, the totals those events
sum to, the very alerts that release listed (ledger-v3.json), and an ack that
works and survives a restart."""

import json
import os
import shutil
import sqlite3
import unittest

from harness import DAEMON, Daemon, daily_of_events, load_plan

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


class UpgradeFromV3(unittest.TestCase):
    def setUp(self):
        if not DAEMON:
            self.fail("BW_DAEMON is not set; run the integration tests through ctest")
        self.d = Daemon()
        self.ledger = os.path.join(self.d.dir, "ledger.db")
        shutil.copy(os.path.join(FIXTURES, "ledger-v3.db"), self.ledger)
        with open(os.path.join(FIXTURES, "ledger-v3.json"), encoding="utf-8") as f:
            self.before = json.load(f)

    def tearDown(self):
        self.d.cleanup()

    def sql(self, q):
        db = sqlite3.connect(self.ledger)
        try:
            return db.execute(q).fetchone()
        finally:
            db.close()

    def test_opens_upgraded_with_every_alert(self):
        self.assertEqual(self.sql("PRAGMA user_version")[0], 3)
        fiscal, other = self.sql(
            "SELECT sum(CASE fund WHEN 0 THEN CASE type WHEN 0 THEN amount ELSE -amount END"
            " ELSE 0 END), sum(CASE fund WHEN 1 THEN CASE type WHEN 0 THEN amount ELSE -amount"
            " END ELSE 0 END) FROM events")
        self.d.start()
        self.assertEqual(self.sql("PRAGMA user_version")[0], 6)
        self.assertIn("slots", [r for r in self.sql("SELECT group_concat(name) FROM"
                                                    " pragma_table_info('projects')")[0].split(",")])
        self.assertTrue(self.d.ok("verify")["consistent"])
        # Schema 5: the daily sums backfilled from the events, by local day.
        want, got = daily_of_events(self.ledger)
        self.assertTrue(want)
        self.assertEqual(got, want)
        total = self.d.ok("status")["total"]
        self.assertEqual((total["paid_fiscal"], total["paid_other"], total["paid"]),
                         (fiscal, other, fiscal + other))
        # The keys the fixture was written with; later keys (plan_budget, 预算数:
        # the plan's budget before adjustments; issue 16's) are additive.
        self.assertEqual(total["plan_budget"], sum(p["budget"] for p in load_plan().values()))
        self.assertEqual({k: total[k] for k in self.before["total"]}, self.before["total"])
        alerts = self.d.ok("alerts")
        del alerts["ok"], self.before["alerts"]["ok"]
        self.assertEqual(alerts["seq"], self.before["alerts"]["seq"])
        self.assertEqual([{k: a[k] for k in b} for a, b in zip(alerts["alerts"],
                                                                self.before["alerts"]["alerts"])],
                         self.before["alerts"]["alerts"])
        self.assertEqual(len(alerts["alerts"]), len(self.before["alerts"]["alerts"]))
        # Acknowledged before handling existed: the step followed_up, in the
        # snapshot and in the log alike.
        for a in alerts["alerts"]:
            self.assertEqual(a["handling"], "followed_up" if a["state"] == "acknowledged"
                             else "unhandled", a)
        for a in self.d.ok("history")["alerts"]:
            if a["state"] == "acknowledged":
                self.assertEqual(a["handling"], "followed_up", a)
        kinds = {(a["kind"], a["state"]) for a in alerts["alerts"]}
        self.assertTrue({("lag", "firing"), ("lag", "acknowledged"), ("milestone", "firing"),
                         ("overspend", "firing")} <= kinds, kinds)

        # An ack of a firing alert works, and the slot keeps it across a restart.
        over = next(a for a in alerts["alerts"] if a["kind"] == "overspend")
        r = self.d.ok("ack", project=over["project"], kind="overspend", by="王科长",
                      note="已核实")
        self.assertEqual((r["alert"]["state"], r["alert"]["by"]), ("acknowledged", "王科长"))
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        after = self.d.ok("alerts")["alerts"]
        self.assertEqual(len(after), len(alerts["alerts"]))
        states = {(a["project"], a["kind"]): a["state"] for a in after}
        self.assertEqual(states[(over["project"], "overspend")], "acknowledged")
        for a in alerts["alerts"]:
            if (a["project"], a["kind"]) != (over["project"], "overspend"):
                self.assertEqual(states[(a["project"], a["kind"])], a["state"])
        self.assertTrue(self.d.ok("verify")["consistent"])
        self.assertEqual(self.d.ok("status")["total"]["paid"], fiscal + other)

    def test_a_slot_edited_before_the_upgrade_is_still_refused(self):
        # The digest covers the slots through the upgrade: an acknowledgement
        # taken back in the version 3 columns does not add up in version 4.
        db = sqlite3.connect(self.ledger)
        db.execute("UPDATE projects SET lag_acked = 0 WHERE lag_acked = 1")
        db.commit()
        db.close()
        self.d.start(expect_ready=False)
        self.assertEqual(self.d.proc.wait(60), 65)      # EX_DAMAGED, budgetwatchd(8)
        self.d.close_notify()
        self.assertIn("do not add up to the digest", self.d.logtext())
        self.assertEqual(self.sql("PRAGMA user_version")[0], 6)


if __name__ == "__main__":
    unittest.main()
