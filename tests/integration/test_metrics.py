"""budgetwatch-metrics: /metrics in text format 0.0.4 that `promtool check
metrics` (Debian prometheus) finds nothing to say about; a real Prometheus on
loopback scrapes it every second, and PromQL through its HTTP API returns the
department's paid amount equal to the daemon's status (in yuan, to the fen)
and the accepted counter equal to stats. Per-project series appear only when
enabled (allowlist or --per-project on), capped with a metric saying so; a
daemon that does not answer gives budgetwatch_up 0."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request
from decimal import Decimal

from harness import CLI, DAEMON, DAY, JAN1, YEAR_END, PLAN, SOURCE_DIR, Daemon, event

sys.path.insert(0, os.path.join(SOURCE_DIR, "examples", "zunhua-2022"))
import generate  # noqa: E402

JUL1 = JAN1 + 181 * DAY          # the end of 2022-06-30, Asia/Shanghai
EXPORTER = os.path.join(os.path.dirname(CLI), "budgetwatch-metrics") if CLI else ""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def samples(text):
    """{name{labels}: value text} of an exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, val = line.rpartition(" ")
            out[key] = val
    return out


def active_series(d):
    """{series: n} the exporter should say of `alerts`: each active alert
    counted by its kind, severity, state, lag band (only when it has one)
    and handling step."""
    want = {}
    for a in d.ok("alerts")["alerts"]:
        k = 'budgetwatch_alerts_active{kind="%s",severity="%s",state="%s"' % (
            a["kind"], a["severity"], a["state"])
        if a.get("band"):
            k += ',band="%s"' % a["band"]
        k += ',handling="%s"}' % a["handling"]
        want[k] = want.get(k, 0) + 1
    return want


class Metrics(unittest.TestCase):
    def setUp(self):
        if not DAEMON or not CLI:
            self.fail("BW_DAEMON / BW_CLI are not set; run the integration tests through ctest")
        self.d = Daemon().start()
        events, _ = generate.generate(generate.read_plan(PLAN), 2022)
        self.d.send_reliable([
            event("treasury-zunhua", e["id"], e["project"], e["amount_fen"], e["ts"],
                  unit=e["unit"], type=e["type"], ref=e.get("ref") or None) for e in events])
        self.d.ok("advance", to=YEAR_END)
        self.procs, self.files = [], []
        self.tmp = tempfile.mkdtemp(prefix="bw-prom-")

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                p.wait(30)
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        for f in self.files:
            f.close()
        self.d.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log(self, name):
        self.files.append(open(os.path.join(self.tmp, name), "w"))
        return self.files[-1]

    def exporter(self, *args):
        p = subprocess.Popen([EXPORTER, "--listen", "127.0.0.1:0", "--control", self.d.ctl_ep]
                             + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        line = p.stdout.readline()      # said once it listens
        m = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
        self.assertIsNotNone(m, "no address said: %r %s" % (line, p.stderr.read() if p.poll() else ""))
        return int(m.group(1))

    def get(self, port, path="/metrics"):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=30) as r:
            self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
            return r.read().decode()

    def test_promtool_and_a_real_prometheus(self):
        port = self.exporter("--project", self.d.ok("status")["projects"][0]["project"])
        text = self.get(port)
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                              text=True)
        self.assertEqual((lint.returncode, lint.stdout, lint.stderr), (0, "", ""))
        st, stats = self.d.ok("status"), self.d.ok("stats")
        s = samples(text)
        tot = st["total"]
        self.assertEqual(s["budgetwatch_department_paid_yuan"], "%d.%02d" % divmod(tot["paid"], 100))
        self.assertEqual(s["budgetwatch_events_accepted_total"], str(stats["accepted"]))
        for u in st["units"]:
            self.assertEqual(Decimal(s['budgetwatch_unit_paid_yuan{unit="%s"}' % u["unit"]]) * 100,
                             u["paid"])
            self.assertEqual(Decimal(s['budgetwatch_unit_execution_ratio{unit="%s"}' % u["unit"]])
                             * 10000, u["rate_bp"])
        self.assertEqual(s['budgetwatch_commit_latency_seconds_bucket{le="+Inf"}'],
                         s["budgetwatch_commit_latency_seconds_count"])
        # Active alerts by kind, severity, state, band and handling: what `alerts` lists.
        want = active_series(self.d)
        self.assertTrue(want)
        got = {k: int(v) for k, v in s.items() if k.startswith("budgetwatch_alerts_active{")}
        self.assertEqual(got, want)
        # 序时进度 per unit: the daemon's, the same for every unit.
        for u in st["units"]:
            self.assertEqual(Decimal(s['budgetwatch_unit_pace_ratio{unit="%s"}' % u["unit"]]) * 10000,
                             st["pace_bp"])

        # A real Prometheus, scraping every second.
        prom_port = free_port()
        conf = os.path.join(self.tmp, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: budgetwatch\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % port)
        prom = subprocess.Popen(["prometheus", "--config.file", conf, "--storage.tsdb.path",
                                 os.path.join(self.tmp, "data"), "--web.listen-address",
                                 "127.0.0.1:%d" % prom_port],
                                stdout=subprocess.DEVNULL, stderr=self.log("prometheus.log"))
        self.procs.append(prom)

        def query(q):
            url = "http://127.0.0.1:%d/api/v1/query?%s" % (prom_port, urllib.parse.urlencode({"query": q}))
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:      # until Prometheus is up and has scraped
                try:
                    with urllib.request.urlopen(url, timeout=10) as r:
                        res = json.load(r)["data"]["result"]
                    if res:
                        return res
                except (OSError, ValueError):
                    pass
                self.assertIsNone(prom.poll(), "prometheus exited; see %s" % self.tmp)
                time.sleep(0.2)
            self.fail("Prometheus returned nothing for %s" % q)

        paid = query("budgetwatch_department_paid_yuan")
        self.assertEqual(Decimal(paid[0]["value"][1]) * 100, tot["paid"])
        accepted = query('budgetwatch_events_accepted_total{job="budgetwatch"}')
        self.assertEqual(int(accepted[0]["value"][1]), self.d.ok("stats")["accepted"])
        up = query("up")
        self.assertEqual(up[0]["value"][1], "1")

    def test_alerts_by_band_and_handling(self):
        """With the bureau's bands against 序时进度, the lag alerts' series
        carry their band, every alert its handling step, equal to what
        `alerts` lists and to stats' own counts; a step moves the counts."""
        self.d.cleanup()
        self.d = Daemon(extra="lag_basis = pace\nbands = 黄:5, 红一档:10, 红二档:20, 红三档:30\n")
        self.d.start()
        self.d.send_reliable([
            event("treasury-zunhua", e["id"], e["project"], e["amount_fen"], e["ts"],
                  unit=e["unit"], type=e["type"], ref=e.get("ref") or None)
            for e in generate.generate(generate.read_plan(PLAN), 2022)[0] if e["ts"] <= JUL1])
        self.d.ok("advance", to=JUL1)
        port = self.exporter()
        lags = [a for a in self.d.ok("alerts")["alerts"] if a["kind"] == "lag"]
        self.assertGreaterEqual(len(lags), 2, "the demo's June lags against 序时进度")
        # Two steps: one followed up, one judged a violation.
        self.d.ok("handle", project=lags[0]["project"], kind="lag", state="followed_up", by="王科长",
                  note="已电话督办")
        self.d.ok("handle", project=lags[1]["project"], kind="lag", state="judged_violation",
                  by="王科长", note="未按进度支付")
        text = self.get(port)
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                              text=True)
        self.assertEqual((lint.returncode, lint.stdout, lint.stderr), (0, "", ""))
        s = samples(text)
        got = {k: int(v) for k, v in s.items() if k.startswith("budgetwatch_alerts_active{")}
        want = active_series(self.d)
        self.assertEqual(got, want)
        bands = {b for b in re.findall(r'band="([^"]*)"', "".join(got))}
        self.assertTrue(bands and bands <= {"黄", "红一档", "红二档", "红三档"}, bands)
        by_handling = {}
        for k, n in got.items():
            h = re.search(r'handling="([^"]*)"', k).group(1)
            by_handling[h] = by_handling.get(h, 0) + n
        self.assertEqual((by_handling.get("followed_up"), by_handling.get("judged_violation")), (1, 1))
        # The daemon's own count in stats says the same, per label set.
        stats = {}
        for e in self.d.ok("stats")["alerts_active"]:
            k = 'budgetwatch_alerts_active{kind="%s",severity="%s",state="%s"' % (
                e["kind"], e["severity"], e["state"])
            if e["band"]:
                k += ',band="%s"' % e["band"]
            k += ',handling="%s"}' % e["handling"]
            stats[k] = stats.get(k, 0) + e["n"]
        self.assertEqual(stats, want)
        # A further step moves the alert from one handling series to another.
        self.d.ok("handle", project=lags[0]["project"], kind="lag", state="judged_normal", by="王科长",
                  note="项目已完工，待结算")
        again = {k: int(v) for k, v in samples(self.get(port)).items()
                 if k.startswith("budgetwatch_alerts_active{")}
        self.assertEqual(again, active_series(self.d))
        self.assertEqual(sum(again.values()), sum(got.values()))
        self.assertNotIn("followed_up", "".join(again))
        self.assertEqual(sum(n for k, n in again.items() if 'handling="judged_normal"' in k), 1)

    def test_project_series_only_when_enabled_and_capped(self):
        st = self.d.ok("status")
        text = self.get(self.exporter())
        self.assertNotIn("budgetwatch_project_info", text)
        self.assertIn("budgetwatch_project_series_capped 0", text)
        text = self.get(self.exporter("--per-project", "on", "--max-projects", "5"))
        info = [l for l in text.splitlines() if l.startswith("budgetwatch_project_info{")]
        self.assertEqual(len(info), 5)
        self.assertIn("budgetwatch_project_series_capped 1", text)
        s = samples(text)
        p = st["projects"][0]
        self.assertIn('name="%s"' % p["project_name"], info[0])
        self.assertEqual(Decimal(s['budgetwatch_project_paid_yuan{project="%s"}' % p["project"]]) * 100,
                         p["paid"])
        self.assertNotIn("name=", "".join(l for l in text.splitlines()
                                          if l.startswith("budgetwatch_project_paid_yuan")))
        text = self.get(self.exporter("--per-project", "on"))
        self.assertEqual(len([l for l in text.splitlines() if l.startswith("budgetwatch_project_info{")]),
                         len(st["projects"]))
        self.assertIn("budgetwatch_project_series_capped 0", text)
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual((lint.returncode, lint.stdout, lint.stderr), (0, "", ""))

    def test_a_silent_daemon_is_up_0(self):
        port = self.exporter("--timeout-ms", "300")
        self.assertIn("budgetwatch_up 1", self.get(port))
        self.d.stop()
        text = self.get(port)
        self.assertIn("budgetwatch_up 0", text)
        self.assertNotIn("budgetwatch_department_paid_yuan", text)
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.get(port, "/nope")
        self.assertEqual(e.exception.code, 404)


if __name__ == "__main__":
    unittest.main()
