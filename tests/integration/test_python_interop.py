"""The protocol from another language: clients/python's producer and subscriber
against the real daemon."""

import os
import subprocess
import unittest

from harness import DAY, JAN1, MAR31_END, SOURCE_DIR, DaemonTest

PY = os.path.join(SOURCE_DIR, "clients", "python")
P1 = "13028121A4BSUL3AG2ZDW"      # 5.76 万元


class PythonInterop(DaemonTest):
    def test_producer_and_subscriber(self):
        out = subprocess.run(["/usr/bin/python3", os.path.join(PY, "producer.py"), self.d.ack_ep, "py",
                              P1, "1000", str(JAN1 + DAY), "3"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(sorted(out.stdout.split("\n")[:3]),
                         ["py-0 accepted ", "py-1 accepted ", "py-2 accepted "])
        st = self.d.ok("status", project=P1)["projects"][0]
        self.assertEqual(st["paid"], 3000)
        sub = subprocess.Popen(["/usr/bin/python3", os.path.join(PY, "subscriber.py"), self.d.pub_ep, "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # The subscriber reports heartbeats on stderr: once one arrives its
            # subscription is live.
            self.assertIn("heartbeat", sub.stderr.readline())
            self.d.ok("advance", to=MAR31_END)
            import json
            first = json.loads(sub.stdout.readline())
            self.assertEqual((first["seq"], first["kind"], first["severity"]), (1, "lag", "warning"))
            self.assertEqual(first["at"], JAN1 + 30 * DAY)
            self.assertEqual(sub.wait(30), 0)
        finally:
            sub.kill()


if __name__ == "__main__":
    unittest.main()
