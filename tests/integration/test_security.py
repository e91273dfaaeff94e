"""CURVE authentication end to end: the real budgetwatchd on tcp:// loopback
with a server key and key directories made by `budgetwatch keygen`; clients
without CURVE, with a stranger's key, with the wrong role's key and with the
right key on every endpoint. Only the right one is heard."""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import unittest

import msgpack
import zmq
import zmq.auth

from harness import CLI, DAEMON, JAN1, DAY, Daemon, event, load_plan

PLAN = load_plan()
CODE = sorted(PLAN)[0]
UNIT = PLAN[CODE]["unit"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(name, directory):
    r = subprocess.run([CLI, "keygen", name, "--dir", directory], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("keygen %s: %s" % (name, r.stderr))
    return os.path.join(directory, name + ".cert")


def issuer(d):
    """A directory for the keys `budgetwatch keygen` issues, holding the
    daemon's own key pair; returns it and the server certificate."""
    keys = os.path.join(d.dir, "issued")
    os.mkdir(keys)
    return keys, keygen("budgetwatchd", keys)


def configure(d, endpoints, append):
    """Rewrites d's configuration: the given [endpoints] keys get these values
    (added if absent), and `append` (a [security] section) goes at the end."""
    with open(d.conf) as f:
        lines = f.read().split("\n")
    for key, ep in endpoints.items():
        if any(line.startswith(key + " =") for line in lines):
            lines = [key + " = " + ep if line.startswith(key + " =") else line for line in lines]
        else:
            lines.insert(lines.index("[alerts]"), key + " = " + ep)
    with open(d.conf, "w") as f:
        f.write("\n".join(lines) + append)


class Secured(unittest.TestCase):
    """One daemon, every endpoint tcp:// with CURVE, one key per role."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(sub=False)
        top = cls.d.dir
        cls.keys, cls.server = issuer(cls.d)
        cls.cert = {n: keygen(n, cls.keys) for n in ("treasury", "county", "sup", "adm", "stranger")}
        cls.dirs = {}
        for role, names in (("payment", ("treasury", "county")), ("supervisor", ("sup",)),
                            ("admin", ("adm",))):
            cls.dirs[role] = os.path.join(top, "keys", role)
            os.makedirs(cls.dirs[role])
            for n in names:
                shutil.copy(cls.cert[n], cls.dirs[role])
        ports = [free_port() for _ in range(4)]
        cls.d.ack_ep, cls.d.pub_ep, cls.d.ctl_ep, cls.sub_ep = ["tcp://127.0.0.1:%d" % p for p in ports]
        configure(cls.d, {"events_ack": cls.d.ack_ep, "alerts_pub": cls.d.pub_ep,
                          "control": cls.d.ctl_ep, "events_sub": "bind:" + cls.sub_ep},
                  "[security]\nserver_key = %s\npayment_keys = %s\nsupervisor_keys = %s\n"
                  "admin_keys = %s\n" % (cls.server, cls.dirs["payment"], cls.dirs["supervisor"],
                                         cls.dirs["admin"]))
        cls.d.start()
        cls.server_pub = zmq.auth.load_certificate(cls.server)[0]

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.d.cleanup()
        assert rc == 0, "budgetwatchd exited %d" % rc

    # -- clients --
    def sock(self, kind, ep, who=None):
        s = self.d.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        if who is not None:
            pub, sec = zmq.auth.load_certificate(self.cert[who] + "_secret")
            s.curve_serverkey = self.server_pub
            s.curve_publickey = pub
            s.curve_secretkey = sec
        s.connect(ep)
        return s

    def request(self, who, op, **args):
        s = self.sock(zmq.REQ, self.d.ctl_ep, who)
        try:
            s.send(msgpack.packb(dict(op=op, **args)))
            self.assertTrue(s.poll(30000), "no reply to %s for %s" % (op, who))
            return msgpack.unpackb(s.recv(), raw=False)
        finally:
            s.close()

    def admin(self, op, **args):
        r = self.request("adm", op, **args)
        self.assertTrue(r["ok"], r)
        return r

    def denied(self, domain):
        return self.admin("stats")["auth_denied"][domain]

    def wait_denied(self, domain, above):
        """Polls stats until the daemon has refused more than `above` handshakes."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            n = self.denied(domain)
            if n > above:
                return n
            time.sleep(0.02)
        self.fail("no refused %s handshake counted; log:\n%s" % (domain, self.d.logtext()))

    def paid(self):
        return self.admin("status", project=CODE)["projects"][0]["paid"]

    def send_one(self, s, src, eid, amount=100):
        s.send(event(src, eid, CODE, amount, JAN1 + DAY))
        self.assertTrue(s.poll(30000), "no ack for %s/%s" % (src, eid))
        return msgpack.unpackb(s.recv(), raw=False)

    # -- ingest --
    def test_ingest_hears_only_payment_keys(self):
        before = self.paid()
        good = self.sock(zmq.DEALER, self.d.ack_ep, "treasury")
        self.assertEqual(self.send_one(good, "treasury", "ok-1")["status"], "accepted")

        for who in (None, "stranger", "sup"):
            n = self.denied("ingest")
            s = self.sock(zmq.DEALER, self.d.ack_ep, who)
            s.send(event("treasury", "forged-%s" % who, CODE, 999999, JAN1 + DAY))
            if who is not None:
                # ZAP refusals are counted as they happen. (A client without
                # CURVE never gets past the greeting; a socket monitor counts
                # those when libzmq reports them, which it does not promise.)
                self.wait_denied("ingest", n)
            # A later event on the good connection is acknowledged: the forged
            # one, sent earlier, would have been answered before it if heard.
            ack = self.send_one(good, "treasury", "ok-after-%s" % who)
            self.assertEqual(ack["status"], "accepted", ack)
            self.assertFalse(s.poll(0), "a %s client got an answer" % who)
            s.close()
        good.close()
        self.assertEqual(self.paid(), before + 100 * 4)
        log = self.d.logtext()
        stranger = zmq.auth.load_certificate(self.cert["stranger"])[0].decode()
        self.assertEqual(log.count("refused a ingest connection from 127.0.0.1 with key %s" % stranger), 1,
                         log)

    def test_a_key_speaks_only_for_its_own_source(self):
        s = self.sock(zmq.DEALER, self.d.ack_ep, "treasury")
        before = self.paid()
        rejected = self.admin("stats")["rejected"]["unauthorized"]
        ack = self.send_one(s, "county", "spoof-1", 5000)
        self.assertEqual(ack["status"], "rejected")
        self.assertIn('source "county" sent with the key of "treasury"', ack["reason"])
        self.assertEqual(self.admin("stats")["rejected"]["unauthorized"], rejected + 1)
        # Kept with its sender's key, and a replay checks that key again.
        db = sqlite3.connect(os.path.join(self.d.dir, "ledger.db"))
        peer = db.execute("SELECT peer FROM rejects WHERE evid = 'spoof-1'").fetchone()[0]
        db.close()
        self.assertEqual(peer, "treasury")
        r = self.admin("replay_rejected")
        self.assertGreaterEqual(r["still_rejected"], 1)
        self.assertEqual(self.paid(), before)
        s.close()

    def test_sub_path_with_a_payment_key(self):
        before = self.paid()
        pub = self.sock(zmq.PUB, self.sub_ep, "county")
        # PUB drops what it sends before the subscription arrives: resend the
        # same event (one id, counted once) until the daemon has it.
        deadline = time.monotonic() + 30
        while self.paid() == before and time.monotonic() < deadline:
            pub.send_multipart([b"disb.county", event("county", "sub-1", CODE, 700, JAN1 + DAY)])
            time.sleep(0.05)
        pub.close()
        self.assertEqual(self.paid(), before + 700)

    # -- control --
    def test_supervisor_reads_but_cannot_adjust(self):
        self.assertTrue(self.request("sup", "status", project=CODE)["ok"])
        self.assertTrue(self.request("sup", "stats")["ok"])
        denied = self.admin("stats")["control_denied"]
        budget = self.admin("status", project=CODE)["projects"][0]["budget"]
        r = self.request("sup", "adjust", project=CODE, budget=budget + 100, reason="test")
        self.assertFalse(r["ok"])
        self.assertIn('adjust takes an administrator key; "sup" is a supervisor key', r["error"])
        self.assertFalse(self.request("sup", "reload")["ok"])
        self.assertEqual(self.admin("status", project=CODE)["projects"][0]["budget"], budget)
        self.assertEqual(self.admin("stats")["control_denied"], denied + 2)
        r = self.admin("adjust", project=CODE, budget=budget + 100, reason="test")
        self.assertEqual(self.admin("status", project=CODE)["projects"][0]["budget"], budget + 100)
        self.admin("adjust", project=CODE, budget=budget, reason="undo")

    def test_control_refuses_strangers_and_payment_keys(self):
        for who in (None, "stranger", "treasury"):
            n = self.denied("control")
            s = self.sock(zmq.REQ, self.d.ctl_ep, who)
            s.send(msgpack.packb(dict(op="ping")))
            if who is not None:
                self.wait_denied("control", n)
            self.assertTrue(self.request("adm", "ping")["ok"])
            self.assertFalse(s.poll(0), "%s got a control reply" % who)
            s.close()

    # -- alerts --
    def test_alert_stream_only_for_supervisors_and_admins(self):
        good = self.sock(zmq.SUB, self.d.pub_ep, "sup")
        good.setsockopt(zmq.SUBSCRIBE, b"hb")
        n = self.denied("alerts")
        bad = self.sock(zmq.SUB, self.d.pub_ep, "treasury")
        bad.setsockopt(zmq.SUBSCRIBE, b"")
        self.wait_denied("alerts", n)
        # Two heartbeats (1 s apart) reach the supervisor after the refusal.
        for _ in range(2):
            self.assertTrue(good.poll(30000), "no heartbeat for the supervisor")
            self.assertEqual(good.recv_multipart()[0], b"hb")
        self.assertFalse(bad.poll(0), "a payment key received the alert stream")
        good.close()
        bad.close()

    # -- the command line --
    def test_cli_with_keys(self):
        base = [CLI, "--control", self.d.ctl_ep, "--server-key", self.server]
        r = subprocess.run(base + ["--key", self.cert["sup"] + "_secret", "status", "--project", CODE],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(CODE, r.stdout)
        r = subprocess.run(base + ["--key", self.cert["sup"] + "_secret", "adjust", CODE, "1",
                                   "--reason", "x"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("takes an administrator key", r.stderr)
        alone = os.path.join(self.d.dir, "public-only")
        os.makedirs(alone, exist_ok=True)
        shutil.copy(self.cert["sup"], alone)
        r = subprocess.run(base + ["--key", os.path.join(alone, "sup.cert"), "status"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("holds no secret key", r.stderr)


class Revocation(unittest.TestCase):
    """A key removed from its directory and reloaded with SIGHUP is refused
    from its next message on, though its connection stays up."""

    def test_removed_key_is_refused_after_sighup(self):
        d = Daemon(sub=False)
        try:
            keys, server = issuer(d)
            pay = keygen("treasury", keys)
            pdir = os.path.join(d.dir, "payment")
            os.mkdir(pdir)
            shutil.copy(pay, pdir)
            d.ack_ep = "tcp://127.0.0.1:%d" % free_port()
            configure(d, {"events_ack": d.ack_ep},
                      "[security]\nserver_key = %s\npayment_keys = %s\n" % (server, pdir))
            d.start()
            s = d.ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            pub, sec = zmq.auth.load_certificate(pay + "_secret")
            s.curve_serverkey = zmq.auth.load_certificate(server)[0]
            s.curve_publickey, s.curve_secretkey = pub, sec
            s.connect(d.ack_ep)
            s.send(event("treasury", "r-1", CODE, 100, JAN1 + DAY))
            self.assertTrue(s.poll(30000))
            self.assertEqual(msgpack.unpackb(s.recv(), raw=False)["status"], "accepted")
            os.unlink(os.path.join(pdir, "treasury.cert"))
            d.proc.send_signal(signal.SIGHUP)
            d.wait_notice("READY=1")
            s.send(event("treasury", "r-2", CODE, 100, JAN1 + DAY))
            self.assertTrue(s.poll(30000))
            ack = msgpack.unpackb(s.recv(), raw=False)
            self.assertEqual(ack["status"], "rejected")
            self.assertIn("no longer authorized", ack["reason"])
            s.close()
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


class Configuration(unittest.TestCase):
    """Mistakes in [security] stop the daemon before it serves, and say why."""

    def check(self, d):
        return subprocess.run([DAEMON, "-c", d.conf, "--check"], capture_output=True, text=True,
                              timeout=60)

    def test_key_mistakes_are_refused_with_the_file_named(self):
        d = Daemon(sub=False)
        try:
            keys, server = issuer(d)
            with open(d.conf) as f:
                base = f.read()

            def conf(extra):
                with open(d.conf, "w") as f:
                    f.write(base + "[security]\nserver_key = %s\n%s" % (server, extra))

            conf("payment_keys = %s\n" % keys)     # holds a _secret file: skipped; fine
            self.assertEqual(self.check(d).returncode, 0, self.check(d).stderr)

            os.chmod(server + "_secret", 0o644)
            r = self.check(d)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("can be read by others (mode 644); chmod 600 it", r.stderr)
            os.chmod(server + "_secret", 0o600)

            bad = os.path.join(d.dir, "badkeys")
            os.mkdir(bad)
            with open(os.path.join(bad, "junk.cert"), "w") as f:
                f.write("not a certificate\n")
            conf("payment_keys = %s\n" % bad)
            r = self.check(d)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("%s/junk.cert: not a CURVE certificate" % bad, r.stderr)

            with open(d.conf, "w") as f:
                f.write(base.replace("[alerts]", "events_sub = connect:tcp://127.0.0.1:9\n[alerts]")
                        + "[security]\nserver_key = %s\n" % server)
            r = self.check(d)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("events_sub = connect:tcp://127.0.0.1:9 cannot be authenticated", r.stderr)
        finally:
            d.cleanup()

    def test_keygen_never_overwrites_and_checks_the_name(self):
        d = Daemon(sub=False)
        try:
            keygen("ops", d.dir)
            r = subprocess.run([CLI, "keygen", "ops", "--dir", d.dir], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("already exists", r.stderr)
            self.assertEqual(os.stat(os.path.join(d.dir, "ops.cert_secret")).st_mode & 0o777, 0o600)
            r = subprocess.run([CLI, "keygen", "a/evil", "--dir", d.dir], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2)
            self.assertIn("must not hold", r.stderr)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
