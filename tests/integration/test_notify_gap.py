"""budgetwatch-notify catching up after a gap while it runs (not only at its
start). A forwarder between the daemon's PUB and the notifier (XSUB/XPUB on
ipc://, subscriptions passed up) drops the alerts the test names, so the
notifier's SUB misses them while it keeps running: once with the heartbeat
the only sign (the last alerts of a burst dropped, nothing after them), once
with heartbeats dropped too, so only the jump in seq on the stream shows the
gap. Every alert reaches the webhook exactly once either way, and the
notifier says it caught up the range it missed."""

import os
import re
import shutil
import tempfile
import threading
import types
import unittest

import msgpack
import zmq

from harness import DAY, JAN1, Daemon, event, load_plan
from notify_harness import Notifier, Robots, storm_plan

HOOK = "[receiver hook]\ntype = webhook\nurl = %s\nsecret = hook-secret\n" \
       "[route all]\nreceivers = hook\ngroup_wait = 50ms\ngroup_interval = 100ms\n"


class LossyForwarder:
    """Forwards the daemon's alert stream to its own endpoint, except the
    alerts whose seq is in `drop_seqs` (and every heartbeat while `drop_hb`);
    what it dropped is kept in `dropped`."""

    def __init__(self, upstream, directory):
        self.endpoint = "ipc://%s/lossy.sock" % directory
        self.lock = threading.Lock()
        self.drop_seqs, self.drop_hb, self.dropped, self.forwarded = set(), False, [], []
        ctx = zmq.Context.instance()
        self.xsub = ctx.socket(zmq.XSUB)
        self.xsub.connect(upstream)
        self.xpub = ctx.socket(zmq.XPUB)
        self.xpub.bind(self.endpoint)
        self.stop_r, self.stop_w = os.pipe()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        poller = zmq.Poller()
        poller.register(self.xsub, zmq.POLLIN)
        poller.register(self.xpub, zmq.POLLIN)
        poller.register(self.stop_r, zmq.POLLIN)
        while True:
            ready = dict(poller.poll())
            if self.stop_r in ready:
                break
            if self.xpub in ready:          # a subscription, passed up
                self.xsub.send_multipart(self.xpub.recv_multipart())
            if self.xsub in ready:
                frames = self.xsub.recv_multipart()
                self.pass_on(frames)
        self.xsub.close(0)
        self.xpub.close(0)

    def pass_on(self, frames):
        topic, body = frames[0], frames[1]
        seq = msgpack.unpackb(body, raw=False).get("seq")
        with self.lock:
            if topic == b"hb":
                drop = self.drop_hb
            else:
                drop = seq in self.drop_seqs
                (self.dropped if drop else self.forwarded).append(seq)
        if not drop:
            self.xpub.send_multipart(frames)

    def set(self, seqs=(), hb=False):
        with self.lock:
            self.drop_seqs, self.drop_hb = set(seqs), hb

    def close(self):
        os.write(self.stop_w, b"x")
        self.thread.join(10)
        os.close(self.stop_r)
        os.close(self.stop_w)


class GapWhileRunningTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bwn-g-")
        plan = os.path.join(self.tmp, "plan.csv")
        self.codes = storm_plan(plan, 2, 5)
        self.plan = load_plan(plan)
        self.d = Daemon(plan=plan, directory=self.tmp, extra="repeat_interval = 0\n").start()
        self.robots = Robots()
        self.fwd = LossyForwarder(self.d.pub_ep, self.tmp)
        self.n = None

    def tearDown(self):
        try:
            if self.n:
                self.n.stop()
        finally:
            self.fwd.close()
            self.robots.close()
            self.d.cleanup()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def last_seq(self):
        return self.d.ok("history", after_seq=0, limit=5000)["alerts"][-1]["seq"]

    def caught_up(self, since):
        """The seqs the notifier said it caught up from history, in the log
        after offset `since`."""
        out = []
        for a, b in re.findall(r"caught up alerts (\d+)\.\.(\d+)", self.n.logtext()[since:]):
            out.extend(range(int(a), int(b) + 1))
        return out

    def pay_half(self, codes, day, tag):
        acks = self.d.send_reliable([event("t", "%s-%s" % (tag, c), c, self.plan[c]["budget"] // 2, JAN1 + day * DAY)
                                     for c in codes])
        self.assertTrue(all(a["status"] == "accepted" for a in acks.values()), acks)
        self.d.ok("advance", to=JAN1 + (day + 1) * DAY)

    def test_every_alert_once_after_gaps_while_running(self):
        # The notifier reads the stream through the forwarder; history and
        # the heartbeat's seq come from the daemon itself.
        via = types.SimpleNamespace(pub_ep=self.fwd.endpoint, ctl_ep=self.d.ctl_ep, dir=self.tmp)
        self.n = Notifier(via, HOOK % self.robots.url("hook")).start()
        # Everything passes while the subscription goes live: the notifier
        # takes the first alerts from the stream.
        self.d.ok("advance", to=JAN1 + 31 * DAY)
        first = self.last_seq()
        self.assertEqual(first, len(self.codes))
        self.n.wait_for("the first alerts", lambda: self.n.delivered(first))
        mark = len(self.n.logtext())

        # Gap 1: the next burst (resolutions of half the projects) is dropped
        # whole; nothing follows it, so only the heartbeat shows it.
        seqs = range(first + 1, first + 6)
        self.fwd.set(seqs=seqs)
        self.pay_half(self.codes[:5], 31, "a")
        second = self.last_seq()
        self.assertEqual(second, first + 5)
        self.n.wait_for("the burst caught up", lambda: self.n.delivered(second))
        self.assertEqual(self.caught_up(mark), list(seqs))
        mark = len(self.n.logtext())
        with self.fwd.lock:
            self.assertEqual(self.fwd.dropped, list(seqs))

        # Gap 2: heartbeats dropped as well, and only the first two of the
        # next burst: the jump to the third one on the stream shows the gap.
        self.fwd.set(seqs=(second + 1, second + 2), hb=True)
        self.pay_half(self.codes[5:], 32, "b")
        third = self.last_seq()
        self.assertEqual(third, second + 5)
        self.n.wait_for("the jump caught up", lambda: self.n.delivered(third))
        # From history: the two dropped, and those of the burst published
        # by the time it asked (the stream's are then passed over).
        got = self.caught_up(mark)
        self.assertEqual(got[:2], [second + 1, second + 2])
        self.assertEqual(got, list(range(second + 1, second + 1 + len(got))))
        self.assertLessEqual(len(got), 5)
        with self.fwd.lock:
            self.assertEqual(self.fwd.dropped, list(seqs) + [second + 1, second + 2])
        self.fwd.set()

        # Every alert in exactly one webhook message, in seq order per
        # message; the outbox took each once.
        got = sorted(a["seq"] for _, m in self.robots.got["hook"] for a in m["alerts"])
        self.assertEqual(got, list(range(1, third + 1)))
        self.assertEqual(self.n.sql("SELECT count(*) FROM alerts")[0][0], third)
        self.assertEqual(self.robots.errors, [])


if __name__ == "__main__":
    unittest.main()
