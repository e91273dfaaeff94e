"""budgetwatch-notify against the real daemon and real or contract-true
receivers: a storm of 1,000 alerts to WeCom and DingTalk robots (local
servers implementing their documented contracts: URL, JSON, size limits,
DingTalk's signature) within the configured limit and grouped into digests,
every alert once; rate-limit answers obeyed; SIGKILL mid-storm and a daemon
restart without loss or duplicates; the configuration check and the log."""

import collections
import json
import os
import re
import shutil
import tempfile
import unittest

from harness import DAY, JAN1, Daemon
from notify_harness import DING_SECRET, HOOK_SECRET, NOTIFY, Notifier, Robots, storm_plan

CODE = re.compile(r"（(P\d{5})）")
NOTE_ID = re.compile(r"通知编号 #(\d+)")
WINDOW_S = 2.0


def robots_conf(robots, receivers=("wecom", "ding", "hook"), wait="1s"):
    parts = []
    if "wecom" in receivers:
        parts.append("[receiver wecom]\ntype = wecom\nurl = %s\nformat = markdown\nrate_limit = 20/2s\n"
                     "rate_limited_wait = %s\n" % (robots.url("wecom"), wait))
    if "ding" in receivers:
        parts.append("[receiver ding]\ntype = dingtalk\nurl = %s\nsecret = %s\nrate_limit = 20/2s\n"
                     "rate_limited_wait = %s\n" % (robots.url("dingtalk"), DING_SECRET, wait))
    if "hook" in receivers:
        parts.append("[receiver hook]\ntype = webhook\nurl = %s\nsecret = %s\n" % (robots.url("hook"), HOOK_SECRET))
    parts.append("[route all]\nreceivers = %s\ngroup_by = unit\ngroup_wait = 300ms\ngroup_interval = 1s\n"
                 "mention = 13800000000\n" % ", ".join(receivers))
    return "".join(parts)


class NotifyTest(unittest.TestCase):
    units, per_unit = 10, 100

    def setUp(self):
        if not NOTIFY or not os.path.exists(NOTIFY):
            self.fail("budgetwatch-notify not found (BW_NOTIFY / next to BW_DAEMON): build it first")
        self.tmp = tempfile.mkdtemp(prefix="bwn-")
        plan = os.path.join(self.tmp, "plan.csv")
        self.codes = storm_plan(plan, self.units, self.per_unit)
        self.d = Daemon(plan=plan, directory=self.tmp, extra="repeat_interval = 0\n").start()
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

    def history(self):
        out, after = [], 0
        while True:
            r = self.d.ok("history", after_seq=after, limit=5000)
            out.extend(r["alerts"])
            if not r["truncated"]:
                return out
            after = r["alerts"][-1]["seq"]

    def assert_within_limit(self, times, what):
        times = sorted(times)
        # As the robot counts: by arrival. (The notifier counts a message at
        # its answer, which comes after the arrival, so this holds exactly;
        # 10 ms for the clocks' resolution.)
        for i in range(len(times) - 20):
            if times[i + 20] - times[i] < WINDOW_S - 0.01:
                self.fail("%s: 21 messages within %.3f s (limit 20/%gs)" % (what, times[i + 20] - times[i], WINDOW_S))

    def assert_outbox_within_limit(self, receiver):
        # A message arrives between its attempt's start and its answer: the
        # 21st must start a whole window after the 1st was answered.
        rows = self.n.sql("SELECT started_at, coalesce(ended_at, started_at) FROM attempts"
                          " WHERE receiver = ? ORDER BY started_at", receiver)
        for i in range(len(rows) - 20):
            self.assertGreaterEqual(rows[i + 20][0] - rows[i][1], int(WINDOW_S * 1000),
                                    "%s: attempts %d..%d within one window" % (receiver, i, i + 20))
        return rows

    def robot_codes(self, name, key):
        """(notification id, [project codes]) per message, deduped by id."""
        seen = {}
        for _, msg in self.robots.got[name]:
            text = msg["markdown"][key]
            nid = int(NOTE_ID.search(text).group(1))
            seen.setdefault(nid, CODE.findall(text))
        return seen


class Storm(NotifyTest):
    def test_storm_reaches_robots_within_limits_once_each(self):
        self.n = Notifier(self.d, robots_conf(self.robots)).start()
        r = self.d.ok("advance", to=JAN1 + 31 * DAY)
        fired = [a for a in self.history() if a["kind"] == "lag"]
        self.assertEqual(len(fired), 1000)
        self.assertEqual(r["alerts"], 1000)
        self.n.wait_for("every alert delivered", lambda: self.n.delivered(1000))
        self.assertEqual(self.robots.errors, [])
        for name, key in (("wecom", "content"), ("dingtalk", "text")):
            msgs = self.robots.got[name]
            per_note = self.robot_codes(name, key)
            self.assertEqual(len(per_note), len(msgs), "%s: a notification came twice" % name)
            got = collections.Counter(c for codes in per_note.values() for c in codes)
            self.assertEqual(set(got), set(self.codes), name)
            self.assertEqual(max(got.values()), 1, "%s: an alert twice" % name)
            # Digests: one unit per message, many alerts each.
            self.assertLessEqual(len(msgs), 1000 // 5, name)
            for codes in per_note.values():
                self.assertEqual(len({c[:3] for c in codes}), 1, "%s: a digest mixes units: %s" % (name, codes))
            self.assert_within_limit([t for t, _ in msgs], name)
        for receiver, name in (("wecom", "wecom"), ("ding", "dingtalk")):
            starts = self.assert_outbox_within_limit(receiver)
            sent = self.n.sql("SELECT count(*) FROM notifications WHERE receiver = ? AND state = 'sent'",
                              receiver)[0][0]
            self.assertEqual(sent, len(self.robots.got[name]))
            self.assertEqual(len(starts), sent)     # no failed attempt in a clean run
        # The webhook has the alerts as the daemon published them, each once.
        seqs = collections.Counter(a["seq"] for _, m in self.robots.got["hook"] for a in m["alerts"])
        self.assertEqual(set(seqs), {a["seq"] for a in fired})
        self.assertEqual(max(seqs.values()), 1)
        one = next(a for _, m in self.robots.got["hook"] for a in m["alerts"])
        want = next(a for a in fired if a["seq"] == one["seq"])
        self.assertEqual(one, want)
        # Mentions: WeCom markdown has none to give; DingTalk @s in text and at.
        m = self.robots.got["dingtalk"][0][1]
        self.assertEqual(m["at"]["atMobiles"], ["13800000000"])
        self.assertIn("@13800000000", m["markdown"]["text"])
        self.assertIn("序时进度", m["markdown"]["text"])
        self.assertIn("万元", m["markdown"]["text"])


class RateLimited(NotifyTest):
    units, per_unit = 2, 10

    def test_rate_limit_answers_are_obeyed(self):
        self.robots.limit_next.update(wecom=1, dingtalk=1, hook=1)
        self.n = Notifier(self.d, robots_conf(self.robots)).start()
        self.d.ok("advance", to=JAN1 + 31 * DAY)
        self.n.wait_for("delivered after the answers", lambda: self.n.delivered(20))
        self.assertEqual(self.robots.errors, [])
        for receiver, code in (("wecom", "45009"), ("ding", "130101")):
            rows = self.n.sql("SELECT a.notification, a.result, a.started_at, a.ended_at, a.answer"
                              " FROM attempts a WHERE a.receiver = ? ORDER BY a.id", receiver)
            limited = [r for r in rows if r[1] == "limited"]
            self.assertEqual(len(limited), 1, rows)
            self.assertIn(code, limited[0][4])
            after = [r for r in rows if r[2] > limited[0][3]]
            self.assertTrue(after)
            # Nothing goes to that robot before the wait it was told (1 s).
            self.assertGreaterEqual(min(r[2] for r in after) - limited[0][3], 1000)
            self.assertTrue(all(r[1] == "sent" for r in after), rows)
        hook = self.n.sql("SELECT result, answer FROM attempts WHERE receiver = 'hook' ORDER BY id")
        self.assertEqual(hook[0][0], "retry")
        self.assertIn("HTTP 503", hook[0][1])
        got = collections.Counter(c for codes in self.robot_codes("wecom", "content").values() for c in codes)
        self.assertEqual(set(got), set(self.codes))
        self.assertEqual(max(got.values()), 1)


class Failures(NotifyTest):
    units, per_unit = 1, 3

    def test_gives_up_after_max_age_and_keeps_the_record(self):
        self.robots.limit_next["hook"] = 10 ** 6          # always 503
        self.n = Notifier(self.d, robots_conf(self.robots, receivers=("hook",)),
                          notify_extra="max_age = 1500ms\n").start()
        self.d.ok("advance", to=JAN1 + 31 * DAY)
        self.n.wait_for("failed", lambda: self.n.sql(
            "SELECT count(*) FROM notifications WHERE state = 'failed'")[0][0] == 1)
        self.assertEqual(self.n.sql("SELECT count(*) FROM notifications WHERE state <> 'failed'"), [(0,)])
        rows = self.n.sql("SELECT result, answer FROM attempts ORDER BY id")
        self.assertGreaterEqual(len(rows), 2)
        self.assertEqual([r[0] for r in rows[:-1]], ["retry"] * (len(rows) - 1))
        self.assertEqual(rows[-1][0], "failed")
        self.assertTrue(all("HTTP 503" in r[1] for r in rows))
        self.assertIn("FAILED after %d attempts" % len(rows), self.n.logtext())
        log = self.n.run("log", "-c", self.n.conf).stdout
        self.assertIn("\tfailed\tattempts=%d\talerts=3\t" % len(rows), log)

    def test_sigterm_mid_delivery_then_sent_again_once(self):
        self.robots.hook_delay = 2.0
        self.n = Notifier(self.d, robots_conf(self.robots, receivers=("hook",))).start()
        self.d.ok("advance", to=JAN1 + 31 * DAY)
        self.n.wait_for("a delivery under way", lambda: self.n.sql(
            "SELECT count(*) FROM attempts WHERE result = 'sending'")[0][0] == 1)
        self.n.stop()           # exits 0, nothing leaked, the attempt left 'sending'
        self.robots.hook_delay = 0.0
        self.n = Notifier(self.d, robots_conf(self.robots, receivers=("hook",))).start()
        self.n.wait_for("sent again", lambda: self.n.delivered(3))
        self.assertEqual([r[0] for r in self.n.sql("SELECT result FROM attempts ORDER BY id")],
                         ["interrupted", "sent"])
        self.assertIn("cut short by the last stop", self.n.logtext())
        self.assertEqual(len(self.robots.hook_ids), 1)      # the receiver saw one notification

    def test_mute_delays_warnings_never_critical(self):
        import time as _t
        now_min = int(_t.time() // 60)
        start, end = (now_min - 60) % 1440, (now_min + 120) % 1440
        window = "%02d:%02d-%02d:%02d" % (start // 60, start % 60, end // 60, end % 60)
        conf = robots_conf(self.robots, receivers=("hook",)).replace(
            "group_by = unit", "group_by = unit\nmute = " + window)
        self.n = Notifier(self.d, conf, notify_extra="utc_offset = +00:00\n").start()
        self.d.ok("advance", to=JAN1 + 31 * DAY)        # warnings: muted
        self.d.ok("advance", to=JAN1 + 61 * DAY)        # critical: never muted
        crit = [a["seq"] for a in self.history() if a["severity"] == "critical"]
        warn = [a["seq"] for a in self.history() if a["severity"] == "warning"]
        self.assertEqual((len(crit), len(warn)), (3, 3))
        self.n.wait_for("critical delivered", lambda: sorted(
            a["seq"] for _, m in self.robots.got["hook"] for a in m["alerts"]) == crit)
        # The warnings wait, queued, due at the window's end (not dropped).
        due = self.n.sql("SELECT seq, due_at FROM queue WHERE notification IS NULL ORDER BY seq")
        self.assertEqual([d[0] for d in due], warn)
        self.assertTrue(all(d[1] == (now_min + 120) * 60000 for d in due), (due, now_min))


class Crash(NotifyTest):
    def test_sigkill_mid_storm_and_daemon_restart_lose_nothing(self):
        conf = robots_conf(self.robots, receivers=("wecom", "hook"))
        self.n = Notifier(self.d, conf).start()
        self.d.ok("advance", to=JAN1 + 31 * DAY)
        self.n.wait_for("a few messages out", lambda: len(self.robots.got["wecom"]) >= 3 and
                        len(self.robots.got["hook"]) >= 1)
        self.n.kill()
        # While it is down the daemon goes on: the critical escalations at day 60.
        r = self.d.ok("advance", to=JAN1 + 61 * DAY)
        self.assertGreater(r["alerts"], 0)
        self.n = Notifier(self.d, conf)
        self.n.start()
        total = len(self.history())
        self.n.wait_for("caught up and delivered", lambda: self.n.delivered(total))
        # The daemon stops for a while and comes back: the notifier reconnects.
        self.d.stop()
        self.d.start()
        self.d.ok("advance", to=JAN1 + 91 * DAY)
        total = len(self.history())
        self.n.wait_for("after the daemon's restart", lambda: self.n.delivered(total))
        self.assertEqual(self.robots.errors, [])
        everything = self.history()
        # The webhook dedupes by notification id: every alert once.
        seqs = collections.Counter(a["seq"] for _, m in self.robots.got["hook"] for a in m["alerts"])
        self.assertEqual(set(seqs), {a["seq"] for a in everything})
        self.assertEqual(max(seqs.values()), 1)
        hook_sent = self.n.sql("SELECT count(*) FROM notifications WHERE receiver = 'hook' AND state = 'sent'")[0][0]
        self.assertEqual(hook_sent, len(self.robots.got["hook"]))
        # The robot sees every (project, severity, kind) once by notification id.
        per_note = self.robot_codes("wecom", "content")
        ids = [int(NOTE_ID.search(m["markdown"]["content"]).group(1)) for _, m in self.robots.got["wecom"]]
        self.assertEqual(set(ids), {r[0] for r in self.n.sql(
            "SELECT id FROM notifications WHERE receiver = 'wecom' AND state = 'sent'")})
        got = collections.Counter(c for codes in per_note.values() for c in codes)
        self.assertEqual(sum(got.values()), len(everything))
        self.assert_outbox_within_limit("wecom")


class CheckAndLog(NotifyTest):
    units, per_unit = 1, 3

    def test_check_names_file_and_line(self):
        bad = os.path.join(self.tmp, "bad.conf")
        with open(bad, "w") as f:
            f.write("[notify]\nalerts = a\ncontrol = b\n\n[receiver r]\ntype = wecom\nurl = u\n"
                    "rate_limit = lots\n")
        r = self.n_run("--check", "-c", bad)
        self.assertEqual(r.returncode, 1)
        self.assertIn(bad + ":8: [receiver r] rate_limit:", r.stderr)
        conf = os.path.join(self.tmp, "good.conf")
        with open(conf, "w") as f:
            f.write("[notify]\nalerts = a\ncontrol = b\n" + robots_conf(self.robots))
        r = self.n_run("--check", "-c", conf)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, conf + ": ok (3 receivers, 1 routes)"))

    def test_test_message_and_log(self):
        self.n = Notifier(self.d, robots_conf(self.robots)).start()
        r = self.n.run("--test", "ding", "-c", self.n.conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("errcode 0", r.stdout)
        self.assertIn("测试", self.robots.got["dingtalk"][-1][1]["markdown"]["text"])
        self.d.ok("advance", to=JAN1 + 31 * DAY)
        self.n.wait_for("delivered", lambda: self.n.delivered(3))
        log = self.n.run("log", "--project", "P00001", "-c", self.n.conf)
        self.assertEqual(log.returncode, 0, log.stderr)
        lines = log.stdout.strip().split("\n")
        self.assertEqual(sorted(l.split("\t")[3] for l in lines), ["ding", "hook", "wecom"])
        for l in lines:
            self.assertIn("\tsent\t", l)
            self.assertIn("lag firing P00001", l)
            self.assertIn("errcode 0" if "hook" not in l else "HTTP 200", l)
        js = [json.loads(l) for l in self.n.run("log", "--json", "--project", "P00001", "-c",
                                                 self.n.conf).stdout.strip().split("\n")]
        self.assertEqual(sorted(j["receiver"] for j in js), ["ding", "hook", "wecom"])
        self.assertTrue(all(j["state"] == "sent" and j["attempts"] == 1 and "P00001" in j["alerts"] for j in js))
        none = self.n.run("log", "--project", "P00001", "--since", str(2 ** 40), "-c", self.n.conf)
        self.assertEqual(none.stdout, "")

    def test_sighup_reload_keeps_a_good_file_and_takes_a_new_one(self):
        import signal
        self.n = Notifier(self.d, robots_conf(self.robots, receivers=("hook",)))
        self.n.start()
        with open(self.n.conf, encoding="utf-8") as f:
            good = f.read()
        with open(self.n.conf, "w") as f:
            f.write(good + "[route broken]\nreceivers = nobody\n")
        self.n.proc.send_signal(signal.SIGHUP)
        self.n.wait_for("the refusal logged", lambda: "stays in use" in self.n.logtext())
        self.assertIn(self.n.conf + ":", self.n.logtext())
        self.d.ok("advance", to=JAN1 + 31 * DAY)
        self.n.wait_for("delivered under the old file", lambda: self.n.delivered(3))
        self.assertEqual(len(self.robots.got["wecom"]), 0)
        with open(self.n.conf, "w") as f:
            f.write(good.split("[receiver hook]")[0] + robots_conf(self.robots, receivers=("hook", "wecom")))
        self.n.proc.send_signal(signal.SIGHUP)
        self.n.wait_for("reloaded", lambda: "reloaded " in self.n.logtext())
        self.d.ok("advance", to=JAN1 + 61 * DAY)    # the critical escalations
        self.n.wait_for("delivered under the new file", lambda: self.n.delivered(6))
        codes = [c for codes in self.robot_codes("wecom", "content").values() for c in codes]
        self.assertEqual(sorted(codes), sorted(self.codes))     # only the new alerts
        self.assertEqual(self.n.proc.poll(), None)

    def test_starts_while_the_daemon_is_down_and_catches_up(self):
        self.d.ok("advance", to=JAN1 + 31 * DAY)        # made before the notifier ever ran
        self.d.stop()
        self.n = Notifier(self.d, robots_conf(self.robots, receivers=("hook",)))
        self.n.start()                                  # ready, though nobody answers
        self.assertIn("did not answer", self.n.logtext())
        self.d.start()
        self.d.ok("advance", to=JAN1 + 61 * DAY)
        total = len(self.history())
        self.n.wait_for("caught up", lambda: self.n.delivered(total))
        seqs = sorted(a["seq"] for _, m in self.robots.got["hook"] for a in m["alerts"])
        self.assertEqual(seqs, list(range(1, total + 1)))

    def n_run(self, *args):
        import subprocess
        return subprocess.run([NOTIFY] + list(args), capture_output=True, text=True, timeout=60)


if __name__ == "__main__":
    unittest.main()
