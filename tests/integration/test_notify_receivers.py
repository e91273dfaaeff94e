"""budgetwatch-notify against real receivers that run here: Debian's
prometheus-alertmanager on loopback (an alert fires there with the expected
labels and annotations, stays firing while reposted, and is resolved there
when the daemon resolves it), and a real SMTP server (aiosmtpd) that receives
the digest with its Chinese subject and body intact, with authentication,
and over required STARTTLS with a self-signed certificate made here."""

import email
import email.header
import email.policy
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

from harness import DAY, JAN1, Daemon, event, load_plan
from notify_harness import Notifier, storm_plan

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ReceiverTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bwn-r-")
        plan = os.path.join(self.tmp, "plan.csv")
        self.codes = storm_plan(plan, 2, 3)
        self.plan = load_plan(plan)
        self.d = Daemon(plan=plan, directory=self.tmp, extra="repeat_interval = 0\n").start()
        self.n = None
        self.cleanups = []

    def tearDown(self):
        try:
            if self.n:
                self.n.stop()
        finally:
            for c in reversed(self.cleanups):
                c()
            self.d.cleanup()
            shutil.rmtree(self.tmp, ignore_errors=True)


class AlertmanagerTest(ReceiverTest):
    def start_alertmanager(self):
        port = free_port()
        conf = os.path.join(self.tmp, "alertmanager.yml")
        with open(conf, "w") as f:
            f.write("route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n")
        log = open(os.path.join(self.tmp, "alertmanager.log"), "wb")
        p = subprocess.Popen([ALERTMANAGER, "--config.file=" + conf, "--storage.path=" + os.path.join(self.tmp, "am"),
                              "--web.listen-address=127.0.0.1:%d" % port, "--cluster.listen-address="],
                             stdout=log, stderr=log)

        def stop():
            p.terminate()
            p.wait(30)
            log.close()
        self.cleanups.append(stop)
        self.am = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.am + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.fail("alertmanager did not become ready on %s" % self.am)

    def am_alerts(self):
        with urllib.request.urlopen(self.am + "/api/v2/alerts", timeout=10) as r:
            return json.loads(r.read().decode())

    def test_fires_and_resolves_in_alertmanager(self):
        self.start_alertmanager()
        body = ("[receiver am]\ntype = alertmanager\nurl = %s\nresolve_timeout = 4s\n"
                "[route all]\nreceivers = am\ngroup_wait = 100ms\ngroup_interval = 200ms\n" % self.am)
        self.n = Notifier(self.d, body).start()
        self.d.ok("advance", to=JAN1 + 31 * DAY)
        lag = {a["project"]: a for a in self.d.ok("history")["alerts"] if a["kind"] == "lag"}
        self.assertEqual(set(lag), set(self.codes))
        p = self.codes[0]

        def mine(alerts):
            return [a for a in alerts if a["labels"].get("project") == p
                    and a["labels"].get("alertname") == "budgetwatch_lag"]
        self.n.wait_for("the alert in alertmanager", lambda: len(mine(self.am_alerts())) == 1)
        a = mine(self.am_alerts())[0]
        want = lag[p]
        # The lag band is a label too (without [alerts] bands it is named
        # after the severity).
        self.assertEqual(want["band"], "warning")
        self.assertEqual(a["labels"], {"alertname": "budgetwatch_lag", "unit": want["unit"], "project": p,
                                       "kind": "lag", "severity": "warning", "band": want["band"],
                                       "service": "budgetwatch"})
        self.assertEqual(a["status"]["state"], "active")
        self.assertIn("万元", a["annotations"]["summary"])
        self.assertIn(want["project_name"], a["annotations"]["summary"])
        w = want["shortfall"] // 10000
        self.assertEqual(a["annotations"]["shortfall_wan"], "%d.%02d" % (w // 100, w % 100))
        self.assertIn("序时进度", a["annotations"]["description"])
        self.assertTrue(a["startsAt"].startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(want["since"]))))
        # Reposted within resolve_timeout: still active after it has passed twice.
        first_end = a["endsAt"]
        self.n.wait_for("a repost", lambda: mine(self.am_alerts())[0]["endsAt"] != first_end)
        self.assertEqual(mine(self.am_alerts())[0]["status"]["state"], "active")
        # Paying the plan resolves it at the daemon, then in Alertmanager.
        budget = self.plan[p]["budget"]
        acks = self.d.send_reliable([event("t", "pay1", p, budget // 2, JAN1 + 31 * DAY)])
        self.assertTrue(all(x["status"] == "accepted" for x in acks.values()), acks)
        self.d.ok("advance", to=JAN1 + 32 * DAY)
        self.assertIn("resolved", [a["state"] for a in self.d.ok("history", project=p)["alerts"]])
        self.n.wait_for("resolved in alertmanager", lambda: not [
            x for x in mine(self.am_alerts()) if x["status"]["state"] == "active"])
        # The other projects still fire there.
        active = {x["labels"]["project"] for x in self.am_alerts() if x["status"]["state"] == "active"}
        self.assertEqual(active, set(self.codes) - {p})
        # The first post, a repost, the resolution: Alertmanager has the last
        # before the notifier has its answer and marks it sent, so wait for it.
        self.n.wait_for("three posts marked sent", lambda: self.n.sql(
            "SELECT count(*) FROM notifications WHERE receiver = 'am' AND state = 'sent'")[0][0] >= 3)


class EmailTest(ReceiverTest):
    def test_digest_by_smtp_with_chinese_subject_and_body(self):
        from aiosmtpd.controller import Controller

        got = []

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                got.append(envelope)
                return "250 OK"
        port = free_port()
        ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
        ctl.start()
        self.cleanups.append(ctl.stop)
        body = ("[receiver mail]\ntype = email\nurl = smtp://127.0.0.1:%d\nfrom = 预算监督 <bw@example.org>\n"
                "to = chief@example.org, deputy@example.org\n"
                "[route all]\nreceivers = mail\ngroup_wait = 300ms\ngroup_interval = 1h\n" % port)
        self.n = Notifier(self.d, body).start()
        self.d.ok("advance", to=JAN1 + 31 * DAY)
        self.n.wait_for("mail delivered", lambda: self.n.delivered(6) and got)
        self.assertEqual(len(got), 1)       # one digest for the period
        env = got[0]
        self.assertEqual(env.mail_from, "bw@example.org")
        self.assertEqual(sorted(env.rcpt_tos), ["chief@example.org", "deputy@example.org"])
        msg = email.message_from_bytes(env.original_content, policy=email.policy.default)
        # Six lag alerts alike: the title says what they are (no band: the
        # daemon has no [alerts] bands, so its band only repeats 预警).
        self.assertEqual(str(msg["Subject"]), "预算执行告警 · 全部 · 进度滞后 · 6 条")
        text = msg.get_content()
        for code in self.codes:
            self.assertIn("（%s）" % code, text)
            self.assertIn(self.plan[code]["name"], text)
        self.assertIn("序时进度", text)
        self.assertIn("万元", text)
        nid = self.n.sql("SELECT id FROM notifications WHERE receiver = 'mail'")[0][0]
        self.assertEqual(msg["X-Budgetwatch-Notification"], str(nid))
        self.assertIn("通知编号 #%d" % nid, text)

    def test_starttls_with_a_self_signed_certificate(self):
        """STARTTLS required by the server, its certificate self-signed and
        made here: trusted through ca_file the mail arrives over TLS; a
        receiver without it (the system's CAs) is refused by the check and
        its notification kept, not dropped."""
        import ssl
        from aiosmtpd.controller import Controller

        cert, key = os.path.join(self.tmp, "smtp.crt"), os.path.join(self.tmp, "smtp.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        got = []

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                got.append((session.ssl is not None, envelope))
                return "250 OK"
        port = free_port()
        # The untrusted receiver's handshake fails on purpose: aiosmtpd's
        # report of it is expected, not shown.
        import logging
        quiet = logging.getLogger("mail.log")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        self.cleanups.append(lambda: quiet.setLevel(level))
        ctl = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx,
                         require_starttls=True)
        ctl.start()
        self.cleanups.append(ctl.stop)
        mail = ("type = email\nurl = smtp://127.0.0.1:%d\nfrom = bw@example.org\nto = chief@example.org\n"
                "tls = starttls\n" % port)
        body = ("[receiver mail]\n%sca_file = %s\n[receiver untrusted]\n%s"
                "[route all]\nreceivers = mail, untrusted\ngroup_wait = 200ms\n" % (mail, cert, mail))
        self.n = Notifier(self.d, body).start()
        self.d.ok("advance", to=JAN1 + 31 * DAY)

        def sent(receiver):
            return self.n.sql("SELECT count(*) FROM notifications WHERE receiver = ? AND state = 'sent'",
                              receiver)[0][0]
        self.n.wait_for("mail delivered over STARTTLS", lambda: sent("mail") == 1 and got)
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0][0])          # the session had switched to TLS
        msg = email.message_from_bytes(got[0][1].original_content, policy=email.policy.default)
        self.assertEqual(str(msg["Subject"]), "预算执行告警 · 全部 · 进度滞后 · 6 条")
        self.assertIn(self.plan[self.codes[0]]["name"], msg.get_content())
        # Without the CA: refused by the certificate check, kept to retry.
        self.n.wait_for("the untrusted attempt answered", lambda: self.n.sql(
            "SELECT count(*) FROM attempts WHERE receiver = 'untrusted' AND result = 'retry'")[0][0] >= 1)
        answer = self.n.sql("SELECT answer FROM attempts WHERE receiver = 'untrusted' AND result = 'retry'")[0][0]
        self.assertRegex(answer.lower(), "certificate|ssl")
        self.assertEqual(sent("untrusted"), 0)
        self.assertEqual(self.n.sql("SELECT state FROM notifications WHERE receiver = 'untrusted'"),
                         [("pending",)])
        self.assertEqual(len(got), 1)
        # --check names an unreadable ca_file with its line.
        bad = os.path.join(self.tmp, "bad.conf")
        with open(bad, "w") as f:
            f.write("[notify]\nalerts = ipc:///x\ncontrol = ipc:///y\noutbox = %s/o.db\n"
                    "[receiver mail]\n%sca_file = %s/nope.pem\n[route all]\nreceivers = mail\n"
                    % (self.tmp, mail, self.tmp))
        r = self.n.run("--check", "-c", bad)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bad.conf:11: [receiver mail] ca_file: cannot read", r.stderr)

    def test_smtp_authentication(self):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        got, logins = [], []

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                got.append((session.authenticated, envelope))
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            logins.append((mechanism, auth_data.login, auth_data.password))
            ok = auth_data.login == b"budgetwatch" and auth_data.password == "口令 s3cret".encode()
            return AuthResult(success=ok)
        port = free_port()
        # Loopback only: AUTH without TLS is allowed here for the test, never
        # in a real configuration (tls = starttls there).
        ctl = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                         auth_require_tls=False, auth_required=True)
        ctl.start()
        self.cleanups.append(ctl.stop)
        body = ("[receiver mail]\ntype = email\nurl = smtp://127.0.0.1:%d\nfrom = bw@example.org\n"
                "to = chief@example.org\nusername = budgetwatch\npassword = 口令 s3cret\n"
                "[route all]\nreceivers = mail\ngroup_wait = 200ms\n" % port)
        self.n = Notifier(self.d, body).start()
        self.d.ok("advance", to=JAN1 + 31 * DAY)
        self.n.wait_for("mail delivered", lambda: self.n.delivered(6) and got)
        self.assertTrue(got[0][0])
        self.assertEqual([(l, p) for _, l, p in logins], [(b"budgetwatch", "口令 s3cret".encode())])


if __name__ == "__main__":
    unittest.main()
