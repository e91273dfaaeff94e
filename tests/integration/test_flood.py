"""Socket flood: 100,000 random and mutated messages thrown at every socket of
a running daemon (ROUTER, SUB, control REP) at once. Afterwards the daemon
still answers, its money did not move, and `stats` counted exactly what it
was sent. Then an oversized frame on each socket: ZeroMQ drops it and the
peer, the peer reconnects and is heard again.

Nothing sent in the flood names a project of the plan (a mutated message that
would is never sent, see ingest_corpus), so no flood message can be accepted
and "the totals did not change" is a promise, not luck. The seed is fixed:
a failure reproduces with the same messages; BW_FLOOD_SEED picks another."""

import os
import random
import re
import time
import unittest

import msgpack
import zmq

from harness import JAN1, DAY, DaemonTest, event, load_plan

PLAN = load_plan()
REAL = sorted(PLAN)
SEED = int(os.environ.get("BW_FLOOD_SEED", "20221231"))
N_ROUTER, N_SUB, N_CONTROL = 40000, 40000, 20000
MAX_MESSAGE = 65536                   # the daemon's default max_message_bytes

# Look-alikes: a real code with its last character changed, so mutations work
# on realistic events that the plan does not know.
FAKE = [c[:-1] + ("Z" if c[-1] != "Z" else "Y") for c in REAL]
assert not set(FAKE) & set(REAL)
NAMES_REAL = re.compile(b"|".join(re.escape(c.encode()) for c in REAL))
WRITE_OPS = re.compile(b"adjust|reload|replay|advance|ack")

# Bytes that msgpack decoders treat specially: nil, the never-used 0xc1,
# length headers of every width, extension types, fixint and fixmap edges.
SPECIAL = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc4, 0xc7,
           0xca, 0xcb, 0xcf, 0xd3, 0xd4, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff]
HOSTILE = [
    b"", b"\xc1", b"\xdf\xff\xff\xff\xff", b"\xdd\xff\xff\xff\xff", b"\xdb\xff\xff\xff\xff",
    b"\xc6\xff\xff\xff\xff", b"\xc9\xff\xff\xff\xff\x01", b"\x91" * 60000, b"\x81\xa1a" * 20000,
    b"\x87" + b"\xa2id\xa1x" * 7, b"\xde\x00\x00", b"\x80", b"\xc0", b"\xa0",
    b"\xd6\xff\x00\x00\x00\x00", b"\xc7\x00\x80", b"\xd5\xff\x01",
]


def str_raw(b):
    """A msgpack str holding any bytes, valid UTF-8 or not."""
    if len(b) < 32:
        return bytes([0xa0 | len(b)]) + b
    return b"\xd9" + bytes([len(b)]) + b if len(b) < 256 else b"\xda" + len(b).to_bytes(2, "big") + b


def random_obj(rng, depth=0):
    k = rng.randrange(9 if depth < 3 else 6)
    if k == 0:
        return rng.choice([0, -1, 1, 2**63 - 1, -2**63, 2**64 - 1, 2**31, -2**31 - 1, 255, 256])
    if k == 1:
        return rng.choice([0.5, -0.0, float("inf"), float("nan"), 1e300])
    if k == 2:
        return rng.choice([None, True, False])
    if k == 3:
        return "".join(chr(rng.choice([0, 7, 10, 27, 0x7f, 0x4e2d, 0x1f4b0, ord("a")]))
                       for _ in range(rng.randrange(0, 80)))
    if k == 4:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
    if k == 5:
        return msgpack.ExtType(rng.randrange(0, 128), b"\x00" * rng.randrange(0, 20))
    if k == 6:
        return [random_obj(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    return {random_key(rng): random_obj(rng, depth + 1) for _ in range(rng.randrange(0, 5))}


FIELDS = ["v", "type", "src", "id", "project", "amount", "ts", "unit", "seq", "fund", "ref"]


def random_key(rng):
    return rng.choice(FIELDS + ["op", "", "\x00", "x" * 300])


def seed_event(rng, i):
    """A realistic event for a project the plan does not know."""
    m = {"v": 1, "type": rng.choice(["disbursement", "refund"]), "src": rng.choice(["treasury", "fin-2"]),
         "id": "f%d" % i, "project": rng.choice(FAKE), "amount": rng.randrange(1, 10**9),
         "ts": JAN1 + rng.randrange(365 * DAY)}
    for key, value in (("unit", rng.choice(["323001", "323003", "323004"])), ("seq", i + 1),
                       ("fund", rng.choice(["fiscal", "other"])), ("ref", "f%d" % (i - 1))):
        if rng.random() < 0.4:
            m[key] = value
    return m


def typed_wrong(rng, i):
    """An event whose fields are of the wrong type, too long, or hostile text."""
    m = seed_event(rng, i)
    key = rng.choice(FIELDS)
    m[key] = rng.choice([random_obj(rng), "x" * rng.choice([64, 65, 128, 129, 256, 257, 1000]),
                         "\x1b[31m\r\nforged log line", 2**64 - 1, -1])
    raw = msgpack.packb(m, use_bin_type=True)
    if rng.random() < 0.3:          # the same key twice
        raw = bytes([raw[0] + 1]) + raw[1:] + msgpack.packb(key) + msgpack.packb(random_obj(rng))
    if rng.random() < 0.2:          # a string field that is not UTF-8
        m.pop("src")
        body = b"".join(msgpack.packb(k) + msgpack.packb(v) for k, v in m.items())
        raw = bytes([0x80 | (len(m) + 1)]) + body + msgpack.packb("src") + str_raw(b"\xff\xfe\xc3(")
    return raw


def mutate(rng, data):
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(6)
        at = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(at, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[min(at, len(b) - 1)] = rng.choice(SPECIAL)
        elif op == 2:
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        elif op == 3:
            del b[at:at + rng.randrange(1, 9)]
        elif op == 4:
            b[at:at] = b[at:at + rng.randrange(1, 32)]
        else:
            del b[at:]
    return bytes(b)


def one_message(rng, i, seeds):
    k = rng.randrange(100)
    if k < 45:
        return mutate(rng, rng.choice(seeds))
    if k < 65:
        return typed_wrong(rng, i)
    if k < 80:
        return msgpack.packb(random_obj(rng), use_bin_type=True)
    if k < 90:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
    if k < 95:
        return rng.choice(HOSTILE)
    return msgpack.packb(seed_event(rng, i))      # well formed; its project is unknown


def ingest_corpus(rng, n, frames_per_message):
    """n messages (lists of frames) that cannot be accepted: none names a real project."""
    seeds = [msgpack.packb(seed_event(rng, i)) for i in range(64)]
    out = []
    i = 0
    while len(out) < n:
        i += 1
        frames = [one_message(rng, i, seeds) for _ in range(frames_per_message(rng))]
        if any(NAMES_REAL.search(f) for f in frames):
            continue
        out.append(frames)
    return out


def control_corpus(rng, n):
    seeds = [msgpack.packb(r) for r in (
        {"op": "ping"}, {"op": "status"}, {"op": "status", "project": REAL[0]},
        {"op": "status", "unit": "323004", "sort": "lag", "limit": 3}, {"op": "alerts"},
        {"op": "history", "project": FAKE[1], "since": JAN1, "until": JAN1 + DAY, "limit": 5},
        {"op": "stats"}, {"op": "verify"}, {"op": "status", "sort": "shortfall"})]
    out = []
    while len(out) < n:
        k = rng.randrange(100)
        if k < 60:
            body = mutate(rng, rng.choice(seeds))
        elif k < 75:
            body = msgpack.packb({"op": random_obj(rng), random_key(rng): random_obj(rng)})
        elif k < 85:
            body = msgpack.packb(random_obj(rng), use_bin_type=True)
        elif k < 95:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
        else:
            body = rng.choice(HOSTILE)
        if WRITE_OPS.search(body):      # an administrator's write may change totals: not here
            continue
        frames = [body] if rng.random() < 0.97 else [body, b"second frame"]
        out.append(frames)
    return out


def ingest_frames(rng):
    return 1 if rng.random() < 0.97 else rng.choice([2, 3, 5])


def sub_frames(rng):
    return 2 if rng.random() < 0.95 else rng.choice([1, 3])


def sub_corpus(rng, n):
    """SUB messages with a topic frame first; about one in ten has a topic the
    daemon did not subscribe to and is filtered out by ZeroMQ before it."""
    out = []
    for frames in ingest_corpus(rng, n, sub_frames):
        if len(frames) > 1 or rng.random() < 0.5:
            topic = rng.choice([b"disb.323001", b"disb.", b"disb.\xff\x00", b"disb.x" * 40,
                                b"other.323001", b"dis", b""])
            frames = [topic] + frames[1:]
        out.append(frames)
    return out


def status_snapshot(d):
    st = d.ok("status")
    return st["projects"], st["units"], st["total"]


class Flood(DaemonTest):
    def setUp(self):
        super().setUp()
        self.ctx = self.d.ctx
        self.socks = []
        # Real money first, so "did not change" is about something.
        acks = self.d.send_reliable([event("treasury", "real-%d" % i, code, 1000 + i, JAN1 + DAY + i)
                                     for i, code in enumerate(REAL)])
        self.assertTrue(all(a["status"] == "accepted" for a in acks.values()), acks)

    def tearDown(self):
        for s in self.socks:
            s.close(linger=0)
        super().tearDown()

    def sock(self, kind, endpoint, **opts):
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        for k, v in opts.items():
            s.setsockopt(getattr(zmq, k), v)
        s.connect(endpoint)
        self.socks.append(s)
        return s

    def xpub(self):
        """A publisher that has seen the daemon's subscription: nothing it sends is
        dropped for want of one. No high-water mark: nothing dropped for speed."""
        x = self.sock(zmq.XPUB, self.d.sub_ep, SNDHWM=0, XPUB_VERBOSE=1)
        self.assertTrue(x.poll(30000), "the daemon never subscribed")
        self.assertEqual(x.recv(), b"\x01disb.")
        return x

    def test_flood_every_socket(self):
        rng = random.Random(SEED)
        router = ingest_corpus(rng, N_ROUTER, ingest_frames)
        sub = sub_corpus(rng, N_SUB)
        control = control_corpus(rng, N_CONTROL)
        sub_heard = sum(1 for f in sub if f[0].startswith(b"disb."))
        sub_bad = sum(1 for f in sub if f[0].startswith(b"disb.") and len(f) != 2)
        router_bad = sum(1 for f in router if len(f) != 1)

        money = status_snapshot(self.d)
        before = self.d.ok("stats")
        dealers = [self.sock(zmq.DEALER, self.d.ack_ep)]
        for _ in range(7):      # routing ids of every length the ack path must echo
            rid = bytes([rng.randrange(1, 256)]) + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 255)))
            dealers.append(self.sock(zmq.DEALER, self.d.ack_ep, ROUTING_ID=rid))
        xpub = self.xpub()
        ctl = self.sock(zmq.DEALER, self.d.ctl_ep)

        acks, replies = self.throw(dealers, router, xpub, sub, ctl, control)

        self.assertEqual(sum(acks.values()), N_ROUTER, "one ack per ROUTER message")
        self.assertEqual(acks, {"rejected": N_ROUTER})
        self.assertEqual(len(replies), N_CONTROL, "one reply per control request")
        ctl_errors = sum(1 for r in replies if r is None or (not r.get("ok") and (
            r["error"].startswith("bad control request") or r["error"] in ("unknown op",
                                                                             "a control request is one frame"))))
        self.assertTrue(self.d.ok("ping")["version"])

        want_rejected = N_ROUTER + sub_heard
        after, polls = self.wait_rejected(sum(before["rejected"].values()) + want_rejected)
        rejected = {k: after["rejected"][k] - before["rejected"][k] for k in after["rejected"]}
        self.assertEqual(sum(rejected.values()), want_rejected)
        self.assertEqual(set(k for k, v in rejected.items() if v), {"malformed", "unknown_project"})
        self.assertEqual(after["bad_frames"] - before["bad_frames"], router_bad + sub_bad)
        self.assertEqual(after["dead_letters_pending"] - before["dead_letters_pending"], want_rejected)
        self.assertEqual(after["control_errors"] - before["control_errors"], ctl_errors)
        # The flood, the ping above and the stats requests that waited for SUB.
        self.assertEqual(after["control_requests"] - before["control_requests"], N_CONTROL + 1 + polls)
        for k in ("accepted", "duplicates", "events_in_ledger", "alert_seq", "sources", "gaps"):
            self.assertEqual(after[k], before[k], k)
        self.assertEqual(status_snapshot(self.d), money)
        self.assertTrue(self.d.ok("verify")["consistent"])

    def throw(self, dealers, router, xpub, sub, ctl, control, window=2000):
        """Sends the three corpora interleaved; returns ROUTER ack counts by status
        and the decoded control replies (None for one that is not a map)."""
        acks, replies = {}, []
        inflight = [0] * len(dealers)
        ri = si = ci = 0
        poller = zmq.Poller()
        for s in dealers + [ctl]:
            poller.register(s, zmq.POLLIN)
        deadline = time.monotonic() + 600
        while ri < len(router) or si < len(sub) or ci < len(control) or any(inflight) or \
                len(replies) < ci:
            for j in range(200):
                k = ri % len(dealers)
                if ri < len(router) and inflight[k] < window:
                    dealers[k].send_multipart(router[ri])
                    inflight[k] += 1
                    ri += 1
                if si < len(sub):
                    xpub.send_multipart(sub[si])
                    si += 1
                if ci < len(control) and ci - len(replies) < window and j % 2 == 0:
                    ctl.send_multipart([b""] + control[ci])
                    ci += 1
            self.assertGreater(deadline, time.monotonic(), "the flood did not finish: %d acks, %d replies "
                               "missing; log:\n%s" % (sum(inflight), ci - len(replies), self.d.logtext()[-3000:]))
            for s, _ in poller.poll(0 if ri < len(router) or ci < len(control) else 1000):
                while s.poll(0):
                    frames = s.recv_multipart()
                    if s is ctl:
                        self.assertEqual(frames[0], b"", "REP keeps the envelope")
                        r = msgpack.unpackb(frames[1], raw=False)
                        replies.append(r if isinstance(r, dict) else None)
                    else:
                        try:
                            a = msgpack.unpackb(frames[0], raw=False)
                        except UnicodeDecodeError:
                            self.fail("an ack that is not UTF-8: %r" % msgpack.unpackb(frames[0], raw=True))
                        acks[a["status"]] = acks.get(a["status"], 0) + 1
                        inflight[dealers.index(s)] -= 1
        return acks, replies

    def wait_rejected(self, want, timeout=120):
        """SUB has no acks: polls stats until the daemon has read at least `want`
        rejects (the caller checks that it is exactly `want`); returns the last
        stats and how many it asked for."""
        deadline = time.monotonic() + timeout
        polls = 0
        while True:
            st = self.d.ok("stats")
            polls += 1
            if sum(st["rejected"].values()) >= want or time.monotonic() > deadline:
                return st, polls
            time.sleep(0.05)

    def test_oversized_frames_drop_the_peer_who_comes_back(self):
        before = self.d.ok("stats")
        big = b"\xa0" * (MAX_MESSAGE + 1)
        dealer = self.sock(zmq.DEALER, self.d.ack_ep)
        ctl = self.sock(zmq.DEALER, self.d.ctl_ep)
        xpub = self.xpub()
        dealer.send(big)
        ctl.send_multipart([b"", big])
        xpub.send_multipart([b"disb.323001", big])

        # Each peer is heard again once it has reconnected. Resending the same
        # event until it is heard counts it once: a resend is a duplicate.
        ok = event("treasury", "after-big", REAL[0], 777, JAN1 + DAY * 2)
        ack = msgpack.unpackb(self.until(lambda: dealer.send(ok), dealer)[0], raw=False)
        self.assertIn(ack["status"], ("accepted", "duplicate"), ack)
        self.until(lambda: ctl.send_multipart([b"", msgpack.packb({"op": "ping"})]), ctl)
        via_sub = event("fin-2", "after-big-sub", REAL[1], 555, JAN1 + DAY * 2)
        deadline = time.monotonic() + 60
        while self.paid(REAL[1]) < 555 + 1001:
            self.assertLess(time.monotonic(), deadline, "the SUB peer was never heard again")
            xpub.send_multipart([b"disb.x", via_sub])
            time.sleep(0.05)

        after = self.d.ok("stats")
        self.assertEqual(after["rejected"], before["rejected"], "an oversized frame is dropped, not read")
        self.assertEqual(after["bad_frames"], before["bad_frames"])
        self.assertEqual(after["accepted"] - before["accepted"], 2)
        self.assertEqual(self.paid(REAL[0]), 1000 + 777)
        self.assertEqual(self.paid(REAL[1]), 1001 + 555)
        self.assertTrue(self.d.ok("verify")["consistent"])

    def until(self, send, s, timeout=60):
        """Sends until s receives something (the peer may be reconnecting)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            send()
            if s.poll(500):
                return s.recv_multipart()
        self.fail("no answer after an oversized frame; log:\n%s" % self.d.logtext()[-3000:])

    def paid(self, code):
        return next(r for r in self.d.ok("status", project=code)["projects"] if r["project"] == code)["paid"]


if __name__ == "__main__":
    unittest.main()
