"""budgetwatch-notify benchmarks (bench/RESULTS.md, "Notifications"):

1. latency at low load: one overspend alert at a time, from the daemon's ack
   of the payment that causes it to the robot's receipt of the POST (WeCom
   contract server on loopback; group_wait 0, no rate limit hit), p50/p99;
2. a 10,000-alert storm (100 units x 100 projects lagging at once) drained
   to one robot within its limit: the messages it takes and the time, at a
   limit of 20 per 2 s (the test time base) — at the robots' real 20 a
   minute the same messages take 30 times as long, which is printed too.

usage: /usr/bin/python3 bench/notify_bench.py BUILD_DIR [samples]"""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
samples = int(sys.argv[2]) if len(sys.argv) > 2 else 200
os.environ["BW_DAEMON"] = os.path.join(build, "daemon", "budgetwatchd")
os.environ["BW_NOTIFY"] = os.path.join(build, "clients", "notify", "budgetwatch-notify")

from harness import DAY, JAN1, Daemon, event  # noqa: E402
import notify_harness  # noqa: E402
from notify_harness import Notifier, Robots, storm_plan  # noqa: E402

notify_harness.NOTIFY = os.environ["BW_NOTIFY"]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def latency():
    tmp = tempfile.mkdtemp(prefix="bwn-bench-")
    plan = os.path.join(tmp, "plan.csv")
    codes = storm_plan(plan, 1, samples)
    d = Daemon(plan=plan, directory=tmp, extra="repeat_interval = 0\n").start()
    robots = Robots()
    n = Notifier(d, "[receiver wecom]\ntype = wecom\nurl = %s\nrate_limit = 0\n"
                 "[route all]\nreceivers = wecom\ngroup_wait = 0\ngroup_interval = 0\n" % robots.url("wecom"),
                 notify_extra="tick = 5ms\n").start()
    out = []
    try:
        for i, code in enumerate(codes):
            before = len(robots.got["wecom"])
            # 100 万元 + 1 fen: an overspend, published when the payment commits.
            d.send_reliable([event("b", "o%d" % i, code, 100 * 1000000 + 1, JAN1)])
            t0 = time.monotonic()
            while len(robots.got["wecom"]) == before:
                if time.monotonic() - t0 > 30:
                    raise AssertionError("no robot message for %s within 30 s:\n%s" % (code, n.logtext()[-2000:]))
                time.sleep(0.0005)
            out.append((robots.got["wecom"][before][0] - t0) * 1000)
    finally:
        n.stop()
        robots.close()
        d.cleanup()
    return out


def storm():
    tmp = tempfile.mkdtemp(prefix="bwn-bench-")
    plan = os.path.join(tmp, "plan.csv")
    storm_plan(plan, 100, 100)
    d = Daemon(plan=plan, directory=tmp, extra="repeat_interval = 0\n").start()
    robots = Robots()
    n = Notifier(d, "[receiver wecom]\ntype = wecom\nurl = %s\nrate_limit = 20/2s\n"
                 "[route all]\nreceivers = wecom\ngroup_by = unit\ngroup_wait = 1s\ngroup_interval = 1s\n"
                 % robots.url("wecom")).start()
    try:
        t0 = time.monotonic()
        r = d.ok("advance", to=JAN1 + 31 * DAY)
        assert r["alerts"] == 10000, r
        n.wait_for("drained", lambda: n.delivered(10000), timeout=3600)
        took = time.monotonic() - t0
        msgs = len(robots.got["wecom"])
        assert not robots.errors, robots.errors[:3]
    finally:
        n.stop()
        robots.close()
        d.cleanup()
    return took, msgs


lat = latency()
print("latency, alert -> robot POST, %d samples: p50 %.1f ms, p99 %.1f ms, max %.1f ms"
      % (len(lat), pct(lat, 50), pct(lat, 99), max(lat)))
took, msgs = storm()
print("storm of 10,000 alerts: %d messages (%.1f alerts each) drained in %.1f s at 20/2s; "
      "at 20/min: %.1f min" % (msgs, 10000 / msgs, took, msgs / 20))
