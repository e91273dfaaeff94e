"""SIGHUP and the reload op: a good plan is swapped in, a broken one is refused
and the old one keeps running; dead letters are replayed after the fix."""

import os
import shutil
import signal
import unittest

from harness import DAY, JAN1, PLAN, Daemon, event, load_plan

NEW = "NEW-2022-001"


class Reload(unittest.TestCase):
    def setUp(self):
        self.d = Daemon()
        self.plan = os.path.join(self.d.dir, "plan.csv")
        shutil.copy(PLAN, self.plan)
        with open(self.d.conf) as f:
            text = f.read()
        with open(self.d.conf, "w") as f:
            f.write(text.replace("plan = " + PLAN, "plan = " + self.plan))
        self.d.start()

    def tearDown(self):
        self.d.cleanup()

    def append(self, line):
        with open(self.plan, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def test_dead_letter_replayed_after_plan_fix(self):
        acks = self.d.send_reliable([event("t", "n1", NEW, 12345, JAN1 + DAY)])
        self.assertEqual(acks[("t", "n1")]["status"], "rejected")
        self.assertEqual(self.d.ok("stats")["dead_letters_pending"], 1)
        self.append("323004,遵化市就业服务中心,%s,新增项目,10.5,,," % NEW)
        self.d.proc.send_signal(signal.SIGHUP)
        self.d.wait_notice("RELOADING=1")
        self.d.wait_notice("READY=1")
        r = self.d.ok("replay_rejected")
        self.assertEqual((r["replayed"], r["accepted"], r["still_rejected"]), (1, 1, 0))
        st = self.d.ok("status", project=NEW)
        self.assertEqual(st["projects"][0]["paid"], 12345)
        self.assertEqual(st["projects"][0]["budget"], 10500000)
        self.assertEqual(self.d.ok("stats")["dead_letters_pending"], 0)
        # Replaying again finds nothing, and totals still equal the ledger.
        self.assertEqual(self.d.ok("replay_rejected")["replayed"], 0)
        self.assertTrue(self.d.ok("verify")["consistent"])

    def test_many_dead_letters_replayed_in_chunks(self):
        # More dead letters than a replay holds in memory at once (1,024).
        n = 2500
        acks = self.d.send_reliable([event("t", "m%d" % i, NEW, 1 + i, JAN1 + DAY) for i in range(n)])
        self.assertTrue(all(a["status"] == "rejected" for a in acks.values()))
        self.append("323004,遵化市就业服务中心,%s,新增项目,10.5,,," % NEW)
        self.assertTrue(self.d.ok("reload")["ok"])
        r = self.d.ok("replay_rejected")
        self.assertEqual((r["replayed"], r["accepted"], r["still_rejected"]), (n, n, 0))
        st = self.d.ok("status", project=NEW)
        self.assertEqual(st["projects"][0]["paid"], sum(1 + i for i in range(n)))
        self.assertEqual(self.d.ok("stats")["dead_letters_pending"], 0)
        self.assertTrue(self.d.ok("verify")["consistent"])

    def test_broken_plan_keeps_the_old_one(self):
        p1 = "130281219RAC9NBCKQYEU"
        self.d.send_reliable([event("t", "a", p1, 777, JAN1 + DAY)])
        # A firing alert, acknowledged: the state rebuilt after a refused plan
        # (from the old plan and the ledger) must not announce anything again.
        small = min(load_plan().items(), key=lambda kv: kv[1]["budget"])
        self.d.send_reliable([event("t", "over", small[0], small[1]["budget"] + 1, JAN1 + DAY)])
        self.d.ok("ack", project=small[0], kind="overspend", by="李科长", note="已核实")
        before = self.d.ok("alerts")
        self.assertEqual([a["state"] for a in before["alerts"]], ["acknowledged"])
        self.append("323004,遵化市就业服务中心,BROKEN,坏行,12.3456789,,,")
        r = self.d.control("reload")
        self.assertFalse(r["ok"])
        self.assertIn("plan.csv:", r["error"])
        self.assertIn("still running the old plan", r["error"])
        self.d.proc.send_signal(signal.SIGHUP)
        self.d.wait_notice("READY=1")
        self.assertIn("reload failed", self.d.logtext())
        st = self.d.ok("status", project=p1)
        self.assertEqual(st["projects"][0]["paid"], 777)
        self.assertEqual(self.d.ok("stats")["projects"], 27)
        self.assertEqual(self.d.ok("alerts"), before)
        self.assertTrue(self.d.ok("verify")["consistent"])

    def test_adjustment_survives_reload_and_restart(self):
        p1 = "130281219RAC9NBCKQYEU"
        self.d.ok("adjust", project=p1, budget=100000000, reason="预算调减")
        self.assertTrue(self.d.ok("reload")["ok"])
        self.assertEqual(self.d.ok("status", project=p1)["projects"][0]["budget"], 100000000)
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        self.assertEqual(self.d.ok("status", project=p1)["projects"][0]["budget"], 100000000)


class Notify(unittest.TestCase):
    def test_ready_status_stopping(self):
        d = Daemon().start()
        try:
            self.assertTrue(any("READY=1" in n for n in d.notices))
            d.proc.send_signal(signal.SIGTERM)
            d.wait_notice("STOPPING=1")
            self.assertEqual(d.proc.wait(60), 0)
        finally:
            d.cleanup()

    def test_check_flag(self):
        import subprocess
        from harness import DAEMON
        d = Daemon()
        try:
            ok = subprocess.run([DAEMON, "-c", d.conf, "--check"], capture_output=True, text=True)
            self.assertEqual(ok.returncode, 0, ok.stderr)
            self.assertIn("valid", ok.stdout)
            bad = os.path.join(d.dir, "bad.csv")
            shutil.copy(os.path.join(os.path.dirname(PLAN), "..", "..", "tests", "fixtures",
                                     "zunhua-2022-raw.csv"), bad)
            with open(d.conf) as f:
                text = f.read()
            with open(d.conf, "w") as f:
                f.write(text.replace("plan = " + PLAN, "plan = " + bad))
            r = subprocess.run([DAEMON, "-c", d.conf, "--check"], capture_output=True, text=True)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("appears twice", r.stderr)
            self.assertIn("bad.csv:", r.stderr)
            v = subprocess.run([DAEMON, "--version"], capture_output=True, text=True)
            self.assertTrue(v.stdout.startswith("budgetwatchd "))
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
