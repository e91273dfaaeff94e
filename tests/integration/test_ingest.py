"""Reliable ingest with acks, SUB ingest with topics, duplicates, rejections
with reasons and dead letters, refunds, and source seq gaps."""

import unittest

import msgpack
import zmq

from harness import JAN1, DAY, DaemonTest, drain_alerts, event, load_plan

PLAN = load_plan()
P1 = "130281219RAC9NBCKQYEU"          # 18692 万元, unit 323003
P1_UNIT = PLAN[P1]["unit"]


def row(status, code):
    return next(r for r in status["projects"] if r["project"] == code)


class ReliableIngest(DaemonTest):
    def test_accepted_duplicate_rejected(self):
        evs = [event("treasury", i, P1, 100 + i, JAN1 + DAY + i) for i in range(50)]
        evs.append(event("treasury", 7, P1, 107, JAN1 + DAY + 7))            # resend
        evs.append(event("treasury", "x1", "NO-SUCH-PROJECT", 5, JAN1 + DAY))
        evs.append(b"\x93\x01\x02\x03")                                        # not a map
        acks = self.d.send_reliable(evs)
        # Acks are keyed by (src, id): the resend's "duplicate" replaced event 7's "accepted".
        self.assertEqual(sum(1 for a in acks.values() if a["status"] == "accepted"), 49)
        self.assertEqual(acks[("treasury", "7")]["status"], "duplicate")
        self.assertEqual(acks[("treasury", "x1")]["status"], "rejected")
        self.assertIn("unknown project \"NO-SUCH-PROJECT\"", acks[("treasury", "x1")]["reason"])
        self.assertIn("replay_rejected", acks[("treasury", "x1")]["reason"])
        garbage = acks[("", "")]
        self.assertEqual(garbage["status"], "rejected")
        self.assertIn("map", garbage["reason"])
        st = self.d.ok("status", project=P1)
        self.assertEqual(row(st, P1)["paid"], sum(100 + i for i in range(50)))
        stats = self.d.ok("stats")
        self.assertEqual(stats["accepted"], 50)
        self.assertEqual(stats["duplicates"], 1)
        self.assertEqual(stats["rejected"]["unknown_project"], 1)
        self.assertEqual(stats["rejected"]["malformed"], 1)
        self.assertEqual(stats["events_in_ledger"], 50)
        self.assertEqual(stats["dead_letters_pending"], 2)
        self.assertTrue(self.d.ok("verify")["consistent"])

    def test_duplicate_ack_after_resend(self):
        ev = event("treasury", "a", P1, 5000, JAN1 + DAY)
        self.assertEqual(self.d.send_reliable([ev])[("treasury", "a")]["status"], "accepted")
        self.assertEqual(self.d.send_reliable([ev])[("treasury", "a")]["status"], "duplicate")
        self.assertEqual(row(self.d.ok("status", project=P1), P1)["paid"], 5000)

    def test_rejections_name_what_is_wrong(self):
        cases = {
            "unit": (event("s", "u", P1, 1, JAN1 + DAY, unit="999999"), "does not match the plan"),
            "year": (event("s", "y", P1, 1, JAN1 - 1), "outside fiscal year 2022"),
            "refund": (event("s", "r", P1, 1, JAN1 + DAY, type="refund"), "below zero"),
            "ref": (event("s", "r2", P1, 1, JAN1 + DAY, type="refund", ref="nope"),
                    "not a disbursement"),
            "amount": (msgpack.packb({"v": 1, "type": "disbursement", "src": "s", "id": "z",
                                      "project": P1, "amount": 0, "ts": JAN1}), "amount"),
        }
        acks = self.d.send_reliable([c[0] for c in cases.values()])
        for name, (_, words) in cases.items():
            reasons = [a["reason"] for a in acks.values() if words in a.get("reason", "")]
            self.assertTrue(reasons, "%s: no ack reason contains %r: %r" % (name, words, acks))
        self.assertEqual(row(self.d.ok("status", project=P1), P1)["paid"], 0)

    def test_refund_against_original(self):
        acks = self.d.send_reliable([
            event("s", "d1", P1, 1000, JAN1 + DAY),
            event("s", "r1", P1, 400, JAN1 + DAY + 1, type="refund", ref="d1"),
            event("s", "r2", P1, 601, JAN1 + DAY + 2, type="refund", ref="d1"),
        ])
        self.assertEqual(acks[("s", "r1")]["status"], "accepted")
        self.assertEqual(acks[("s", "r2")]["status"], "rejected")
        self.assertIn("more than the 600 fen left", acks[("s", "r2")]["reason"])
        # A resent refund is a duplicate, not a refund past zero.
        again = self.d.send_reliable([event("s", "r1", P1, 400, JAN1 + DAY + 1, type="refund", ref="d1")])
        self.assertEqual(again[("s", "r1")]["status"], "duplicate")
        self.assertEqual(row(self.d.ok("status", project=P1), P1)["paid"], 600)


class DeadLetterLimit(DaemonTest):
    extra = "[limits]\nmax_dead_letters = 3\n"

    def test_past_the_limit_answered_and_counted_not_kept(self):
        # A refund before its original (kept), then unknown projects: two
        # kept, two past the limit.
        bad = [event("s", "r1", P1, 40, JAN1 + DAY, type="refund", ref="d1")]
        bad += [event("s", "u%d" % i, "NO-SUCH-%d" % i, 1, JAN1 + DAY) for i in range(4)]
        acks = self.d.send_reliable(bad, window=1)
        ids = ["r1", "u0", "u1", "u2", "u3"]
        self.assertTrue(all(acks[("s", i)]["status"] == "rejected" for i in ids))
        self.assertEqual(["not kept" in acks[("s", i)]["reason"] for i in ids],
                         [False, False, False, True, True])
        stats = self.d.ok("stats")
        self.assertEqual(sum(stats["rejected"].values()), 5)
        self.assertEqual(stats["dead_letters_pending"], 3)
        self.assertEqual(stats["dead_letters_dropped"], 2)
        self.assertIn("max_dead_letters", self.d.logtext())
        # The original arrives; replaying takes the refund out of the dead
        # letters, which makes room for the next reject.
        self.d.send_reliable([event("s", "d1", P1, 100, JAN1 + DAY)])
        r = self.d.ok("replay_rejected")
        self.assertEqual((r["replayed"], r["accepted"], r["still_rejected"]), (3, 1, 2))
        again = self.d.send_reliable([event("s", "u9", "NO-SUCH-9", 1, JAN1 + DAY)])
        self.assertNotIn("not kept", again[("s", "u9")]["reason"])
        stats = self.d.ok("stats")
        self.assertEqual((stats["dead_letters_pending"], stats["dead_letters_dropped"]), (3, 2))
        self.assertEqual(row(self.d.ok("status", project=P1), P1)["paid"], 60)


class OversizedMessage(DaemonTest):
    extra = "[limits]\nmax_message_bytes = 4096\n"

    def test_dropped_and_disconnected(self):
        # Unknown keys are ignored, so without the limit this event would count.
        big = msgpack.packb({"v": 1, "type": "disbursement", "src": "s", "id": "big", "project": P1,
                             "amount": 999, "ts": JAN1 + DAY, "note": "x" * 8192})
        # The monitor is attached before connecting: a connection made first
        # would be reported to nobody, and the wait below would never end.
        s = self.d.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        mon = s.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
        s.connect(self.d.ack_ep)
        try:
            seen = []
            while zmq.EVENT_CONNECTED not in seen:
                seen.append(recv_monitor(mon))
            s.send(big)
            # The daemon's ZeroMQ refuses the frame and drops the connection;
            # the dealer sees the disconnect, so the frame has been read and
            # refused by the time the totals are checked.
            while zmq.EVENT_DISCONNECTED not in seen:
                seen.append(recv_monitor(mon))
            self.assertFalse(s.poll(0), "an oversized event was answered")
            # The same dealer reconnects and is heard again.
            s.send(event("s", "small", P1, 5, JAN1 + DAY))
            self.assertTrue(s.poll(30000))
            self.assertEqual(msgpack.unpackb(s.recv())["status"], "accepted")
        finally:
            s.disable_monitor()
            mon.close()
            s.close()
        self.assertEqual(row(self.d.ok("status", project=P1), P1)["paid"], 5)
        self.assertEqual(self.d.ok("stats")["accepted"], 1)


def recv_monitor(mon, timeout_ms=30000):
    if not mon.poll(timeout_ms):
        raise AssertionError("no socket event within %d ms" % timeout_ms)
    frames = mon.recv_multipart()
    return int.from_bytes(frames[0][:2], "little")


class SubIngest(DaemonTest):
    def test_topics_and_frames(self):
        pub = self.d.ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 1000)
        pub.connect(self.d.sub_ep)
        # PUB drops until the daemon's subscription has reached it, so probe a
        # second project until one probe is counted.
        p2 = "130281212Z3GP27HDT7WR"
        probe = 0
        while row(self.d.ok("status", project=p2), p2)["paid"] == 0:
            probe += 1
            pub.send_multipart([("disb.%s.%s" % (PLAN[p2]["unit"], p2)).encode(),
                                event("probe", probe, p2, 1, JAN1 + DAY)])
        for i in range(100):
            pub.send_multipart([("disb.%s.%s" % (P1_UNIT, P1)).encode(),
                                event("bank", i, P1, 10, JAN1 + DAY + i, seq=i + 1)])
        pub.send_multipart([b"other.topic", event("bank", "ignored", P1, 10, JAN1 + DAY)])
        pub.send_multipart([b"disb.x", b"one", b"two"])                       # three frames
        pub.send_multipart([b"disb.y.z", event("bank", 100, P1, 10, JAN1 + DAY, seq=101)])
        for _ in range(1000):
            if self.d.ok("stats")["bad_frames"] >= 1 and row(self.d.ok("status", project=P1), P1)["paid"] >= 1010:
                break
        self.assertEqual(self.d.ok("stats")["bad_frames"], 1)
        # 101 events under disb.: the one under other.topic was not subscribed to.
        self.assertEqual(row(self.d.ok("status", project=P1), P1)["paid"], 1010)
        pub.close()


class SourceGaps(DaemonTest):
    def test_gap_and_restart(self):
        sub = self.d.subscriber(b"alert._src.")
        acks = self.d.send_reliable([event("bank", i, P1, 1, JAN1 + DAY, seq=s)
                                     for i, s in enumerate([1, 2, 3, 7, 8, 1, 2])])
        self.assertTrue(all(a["status"] == "accepted" for a in acks.values()))
        alerts = drain_alerts(sub, 1)
        self.assertEqual(len(alerts), 1)
        a = alerts[0]
        self.assertEqual(a["_topic"], "alert._src.bank")
        self.assertEqual((a["kind"], a["severity"], a["src"]), ("source_gap", "warning", "bank"))
        self.assertEqual((a["expected_seq"], a["got_seq"]), (4, 7))
        s = self.d.ok("stats")
        self.assertEqual((s["gaps"], s["restarts"]), (1, 1))


if __name__ == "__main__":
    unittest.main()
