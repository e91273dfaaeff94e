"""budgetwatch-notify against a daemon whose endpoints are tcp:// with CURVE:
with a supervisor key (made by `budgetwatch keygen`) it takes the alert
stream and catches up over history; with a key the daemon does not know it
is refused, and says so, and nothing is delivered."""

import os
import shutil
import unittest

import msgpack
import zmq
import zmq.auth

from harness import DAY, JAN1, Daemon
from notify_harness import HOOK_SECRET, NOTIFY, Notifier, Robots
from test_security import configure, free_port, issuer, keygen


class CurveNotify(unittest.TestCase):
    def setUp(self):
        if not NOTIFY or not os.path.exists(NOTIFY):
            self.fail("budgetwatch-notify not found: build it first")
        self.d = Daemon(sub=False)
        keys, server = issuer(self.d)
        self.server = server
        self.sup = keygen("notifier", keys)
        self.stranger = keygen("stranger", keys)
        self.adm = keygen("adm", keys)
        sdir = os.path.join(self.d.dir, "keys", "supervisor")
        adir = os.path.join(self.d.dir, "keys", "admin")
        os.makedirs(sdir)
        os.makedirs(adir)
        shutil.copy(self.sup, sdir)
        shutil.copy(self.adm, adir)
        ports = [free_port() for _ in range(3)]
        self.d.ack_ep, self.d.pub_ep, self.d.ctl_ep = ["tcp://127.0.0.1:%d" % p for p in ports]
        configure(self.d, {"events_ack": self.d.ack_ep, "alerts_pub": self.d.pub_ep,
                           "control": self.d.ctl_ep},
                  "[security]\nserver_key = %s\nsupervisor_keys = %s\nadmin_keys = %s\n"
                  % (server, sdir, adir))
        self.d.start()
        self.robots = Robots()
        self.n = None

    def tearDown(self):
        try:
            if self.n:
                self.n.stop()
        finally:
            self.robots.close()
            self.d.cleanup()

    def admin(self, op, **args):
        """A control request with the administrator's key (CURVE)."""
        s = self.d.ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        pub, sec = zmq.auth.load_certificate(self.adm + "_secret")
        s.curve_serverkey = zmq.auth.load_certificate(self.server)[0]
        s.curve_publickey, s.curve_secretkey = pub, sec
        s.connect(self.d.ctl_ep)
        try:
            s.send(msgpack.packb(dict(op=op, **args)))
            self.assertTrue(s.poll(30000), "no reply to " + op)
            r = msgpack.unpackb(s.recv(), raw=False)
        finally:
            s.close()
        self.assertTrue(r["ok"], r)
        return r

    def conf(self, cert):
        return ("[receiver hook]\ntype = webhook\nurl = %s\nsecret = %s\n"
                "[route all]\nreceivers = hook\ngroup_wait = 100ms\ngroup_interval = 200ms\n"
                % (self.robots.url("hook"), HOOK_SECRET)), \
               "server_key = %s\nkey = %s_secret\n" % (self.server, cert)

    def test_supervisor_key_takes_the_stream_and_history(self):
        # Alerts made before it starts come by history, later ones by the stream.
        self.admin("advance", to=JAN1 + 31 * DAY)
        body, extra = self.conf(self.sup)
        self.n = Notifier(self.d, body, notify_extra=extra).start()
        self.admin("advance", to=JAN1 + 61 * DAY)
        total = self.admin("stats")["alert_seq"]
        self.n.wait_for("delivered", lambda: self.n.delivered(total))
        seqs = sorted(a["seq"] for _, m in self.robots.got["hook"] for a in m["alerts"])
        self.assertEqual(seqs, list(range(1, total + 1)))
        self.assertGreater(total, 27)

    def test_unknown_key_is_refused(self):
        body, extra = self.conf(self.stranger)
        self.n = Notifier(self.d, body, notify_extra=extra).start()
        self.assertIn("did not answer", self.n.logtext())
        self.assertEqual(self.n.sql("SELECT count(*) FROM alerts"), [(0,)])

    def test_half_a_key_pair_is_a_config_error(self):
        body, extra = self.conf(self.sup)
        n = Notifier(self.d, body, notify_extra="server_key = %s\n" % self.server)
        r = n.run("--check", "-c", n.conf)
        self.assertEqual(r.returncode, 1)
        self.assertIn("CURVE needs both", r.stderr)
        # The public certificate alone (as the daemon's directory has it).
        public = os.path.join(self.d.dir, "keys", "supervisor", "notifier.cert")
        bad = Notifier(self.d, body, notify_extra="server_key = %s\nkey = %s\n" % (self.server, public))
        r = bad.run("--check", "-c", bad.conf)
        self.assertEqual(r.returncode, 1)
        self.assertIn(":9: [notify] key: %s holds no secret key" % public, r.stderr)


if __name__ == "__main__":
    unittest.main()
