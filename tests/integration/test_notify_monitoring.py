"""budgetwatch-notify with issue 16's monitoring rules, against the real
daemon: a daemon with `[alerts] bands` whose lag alerts reach the WeCom test
server with their band in the title and the Alertmanager `band` label; a
large payment whose message carries its event id and its amount in 万元; and
handling steps (`handle`) that arrive with the step and the handler's name."""

import json
import os
import shutil
import tempfile
import unittest
import urllib.request

from harness import DAY, JAN1, Daemon, event, load_plan
from notify_harness import Robots, Notifier, storm_plan
import test_notify_receivers as receivers

BANDS = "bands = 黄:5, 红一档:10, 红二档:20\n"
# One payment of 10 万元 or more is large (the projects have 100 万元).
LARGE = "large_payment_wan = 10\n"


def wan(fen):
    h = fen // 10000
    return "%d.%02d" % (h // 100, h % 100)


class MonitoringToWecomTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bwn-m-")
        plan = os.path.join(self.tmp, "plan.csv")
        self.codes = storm_plan(plan, 1, 3)
        self.plan = load_plan(plan)
        self.d = Daemon(plan=plan, directory=self.tmp,
                        extra="repeat_interval = 0\n" + BANDS + LARGE).start()
        self.robots = Robots()
        self.n = None

    def tearDown(self):
        try:
            if self.n:
                self.n.stop()
        finally:
            self.robots.close()
            self.d.cleanup()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def contents(self):
        with self.robots.lock:
            return [m["markdown"]["content"] for _, m in self.robots.got["wecom"]]

    def message_with(self, *parts):
        """The one WeCom message that holds every part; fails with them all."""
        got = [c for c in self.contents() if all(p in c for p in parts)]
        self.assertEqual(len(got), 1, "messages with %r:\n%s" % (parts, "\n---\n".join(self.contents())))
        return got[0]

    def test_bands_large_payment_and_handling_reach_the_robot(self):
        body = ("[receiver wecom]\ntype = wecom\nurl = %s\nformat = markdown\n"
                "[route all]\nreceivers = wecom\ngroup_by = project, kind\n"
                "group_wait = 50ms\ngroup_interval = 50ms\n" % self.robots.url("wecom"))
        self.n = Notifier(self.d, body).start()
        p = self.codes[0]
        name = self.plan[p]["name"]
        # The projects pass through the bands as the plan grows and nothing
        # is paid: each band is a message of its own.
        for day in (20, 31, 60):
            self.d.ok("advance", to=JAN1 + day * DAY)
            n = len(self.d.ok("history")["alerts"])
            self.n.wait_for("day %d delivered" % day, lambda: self.n.delivered(n))
        # A payment of 20 万元 to p: a large_payment alert (and less lag).
        amount = 20 * 1000000
        acks = self.d.send_reliable([event("guoku", "big-2022-001", p, amount, JAN1 + 60 * DAY, ref="HT-7")])
        self.assertEqual([a["status"] for a in acks.values()], ["accepted"])
        # Handling steps: the large payment judged normal (which concludes
        # it), another project's lag followed up.
        q = self.codes[1]
        self.d.ok("handle", project=p, kind="large_payment", state="judged_normal", by="王科长",
                  note="合同约定的预付款")
        self.d.ok("handle", project=q, kind="lag", state="followed_up", by="李处长", note="已电话督办")
        hist = self.d.ok("history")["alerts"]
        self.n.wait_for("every alert delivered", lambda: self.n.delivered(len(hist)))
        self.assertEqual(self.robots.errors, [])

        # Every lag firing message went out with its band in the title.
        lag = [a for a in hist if a["kind"] == "lag" and a["state"] == "firing"]
        self.assertTrue({a["band"] for a in lag} >= {"黄", "红一档"}, lag)
        for a in lag:
            title = "预算执行告警 · %s · " % self.plan[a["project"]]["name"]
            msg = [c for c in self.contents() if c.startswith("### " + title) and a["band"] in
                   c.split("\n")[0] and "（%s）" % a["project"] in c and "· %s 告警" % a["band"] in c]
            self.assertTrue(msg, "no message for %s's band %s" % (a["project"], a["band"]))
            self.assertIn("对照计划", msg[0])       # the basis (lag_basis = plan)

        # The large payment: its event id and amount in 万元, once.
        big = [a for a in hist if a["kind"] == "large_payment"]
        self.assertEqual([a["state"] for a in big], ["firing", "acknowledged", "resolved"])
        self.assertEqual((big[0]["src"], big[0]["id"], big[0]["amount"]), ("guoku", "big-2022-001", amount))
        m = self.message_with("（%s）" % p, "guoku/big-2022-001", "金额 %s 万元" % wan(amount), "关联 HT-7",
                              "】大额支付 告警")
        self.assertTrue(m.startswith("### 预算执行告警 · %s · 大额支付" % name), m)
        # Its handling step: the step's word and who took it, in the title too.
        m = self.message_with("（%s）" % p, "认定正常：王科长，合同约定的预付款")
        # (alone, or in one digest with the alert's other messages)
        self.assertIn("大额支付" if "】大额支付 告警" in m else "大额支付 认定正常", m.split("\n")[0])
        self.assertIn("guoku/big-2022-001", m)
        # The lag followed up: 已督办 by 李处长 (a route with repeat's
        # default sends steps; they are never reminders).
        m = self.message_with("（%s）" % q, "已督办：李处长，已电话督办")
        self.assertIn("进度滞后 %s 已督办" % [a for a in hist if a["project"] == q and a["kind"] == "lag"][-1]["band"],
                      m.split("\n")[0])
        # Nothing twice: one message per alert message (grouped by project
        # and kind, each arrived alone or with its own alert's).
        alerts_in_msgs = sum(c.count("**【") for c in self.contents())
        self.assertEqual(alerts_in_msgs, len(hist))


class BandsInAlertmanagerTest(receivers.AlertmanagerTest):
    """The `band` label is the daemon's band name when it has `[alerts] bands`."""

    # Its base's test runs in test_notify_receivers, not twice.
    test_fires_and_resolves_in_alertmanager = None

    def test_band_label_is_the_band_name(self):
        self.start_alertmanager()
        sub = os.path.join(self.tmp, "bands")
        os.mkdir(sub)
        d = Daemon(plan=self.d.plan, directory=sub, extra="repeat_interval = 0\n" + BANDS).start()
        self.cleanups.append(d.cleanup)
        body = ("[receiver am]\ntype = alertmanager\nurl = %s\nresolve_timeout = 1m\n"
                "[route all]\nreceivers = am\ngroup_wait = 50ms\ngroup_interval = 100ms\n" % self.am)
        self.n = Notifier(d, body).start()
        d.ok("advance", to=JAN1 + 31 * DAY)
        lag = {a["project"]: a for a in d.ok("history")["alerts"] if a["kind"] == "lag"}
        band = lag[self.codes[0]]["band"]
        self.assertIn(band, ("黄", "红一档", "红二档"))
        self.assertEqual({a["band"] for a in lag.values()}, {band})    # alike projects

        def bands():
            return {a["labels"]["project"]: a["labels"].get("band") for a in self.am_alerts()
                    if a["labels"].get("alertname") == "budgetwatch_lag" and a["status"]["state"] == "active"}
        self.n.wait_for("every lag alert in alertmanager", lambda: len(bands()) == len(self.codes))
        self.assertEqual(bands(), {p: band for p in self.codes})
        a = [x for x in self.am_alerts() if x["labels"].get("project") == self.codes[0]][0]
        self.assertEqual(a["labels"]["severity"], lag[self.codes[0]]["severity"])
        self.assertEqual(a["annotations"]["basis"], "计划")


if __name__ == "__main__":
    unittest.main()
