"""The parts of the console that light up once the daemon has the other
issues' operations — the charts (`series`, issue 19) and the handling form
(`handle`, issue 16) — tested before those branches are merged: a stand-in
between the console and the real budgetwatchd forwards every control request
to the daemon and answers only `series` and `handle` itself, exactly as
helper-interfaces.md words them (the series from the events this test sent,
computed here). In headless chromium: the overview's and a project's chart
canvases are drawn, the project chart's data equals the series the console
served, and the handling form posts `handle` with the user's name."""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import msgpack
import zmq

from harness import DAEMON, DAY, JAN1, SOURCE_DIR, Daemon, event, load_plan
from test_web import WEB, Http, free_port

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

PLAN = load_plan()
YEAR_END = JAN1 + 365 * DAY
LOCAL = 8 * 3600        # Asia/Shanghai


class StandIn:
    """REP on its own ipc:// socket: `series` and `handle` answered here,
    everything else forwarded to the daemon's control socket."""

    def __init__(self, ctx, endpoint, daemon_ep, series):
        self.sock = ctx.socket(zmq.REP)
        self.sock.bind(endpoint)
        self.fwd = ctx.socket(zmq.REQ)
        self.fwd.connect(daemon_ep)
        self.series, self.handled = series, []
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            if not self.sock.poll(100):
                continue
            raw = self.sock.recv()
            req = msgpack.unpackb(raw, raw=False)
            if req.get("op") == "series":
                self.sock.send(msgpack.packb(self.series(req)))
            elif req.get("op") == "handle":
                self.handled.append(req)
                missing = [k for k in ("project", "kind", "state", "by") if not req.get(k)]
                self.sock.send(msgpack.packb({"ok": False, "error": "handle needs '%s'" % missing[0]}
                                             if missing else {"ok": True, "alert": {}}))
            else:
                self.fwd.send(raw)
                self.sock.send(self.fwd.recv())

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.sock.close(0)
        self.fwd.close(0)


class StandInOps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.web = cls.browser = None
        try:
            cls.start()
        except BaseException:
            # A half-started fixture is stopped, not left running.
            for stop in (lambda: cls.browser and cls.browser.quit(),
                         lambda: cls.web and (cls.web.kill(), cls.web.wait()),
                         lambda: cls.stand.close(),
                         lambda: cls.d.cleanup()):
                try:
                    stop()
                except Exception:
                    pass
            raise

    @classmethod
    def start(cls):
        if not DAEMON:
            raise AssertionError("BW_DAEMON is not set; run the integration tests through ctest")
        cls.d = Daemon(extra="repeat_interval = 0\n")
        cls.d.start()
        cls.code = sorted(PLAN)[3]
        cls.paid = []     # (ts, amount) sent to cls.code
        evs = []
        for k in range(12):
            ts = JAN1 + (5 + 9 * k) * DAY + 3600
            amount = PLAN[cls.code]["budget"] // 40 + k
            cls.paid.append((ts, amount))
            evs.append(event("standin", "s%d" % k, cls.code, amount, ts))
        cls.d.send_reliable(evs)
        cls.d.ok("advance", to=JAN1 + 120 * DAY)
        cls.now = cls.d.ok("ping")["now"]
        cls.proxy_ep = "ipc://%s/standin.sock" % cls.d.dir
        cls.stand = StandIn(cls.d.ctx, cls.proxy_ep, cls.d.ctl_ep, cls.series_of)
        cls.port = free_port()
        cls.tmp = tempfile.mkdtemp(prefix="bw-standin-")
        acc = os.path.join(cls.tmp, "accounts")
        subprocess.run([WEB, "passwd", "-f", acc, "alice", "handler"], input="alice-secret\n", text=True,
                       check=True, capture_output=True)
        conf = os.path.join(cls.tmp, "web.conf")
        with open(conf, "w") as f:
            f.write("[web]\nlisten = 127.0.0.1:%d\naccounts = %s\nstatic_dir = %s\n[daemon]\ncontrol = %s\n"
                    "alerts = %s\n" % (cls.port, acc, os.path.join(SOURCE_DIR, "clients", "web", "static"),
                                       cls.proxy_ep, cls.d.pub_ep))
        cls.log = open(os.path.join(cls.tmp, "web.log"), "ab")
        cls.web = subprocess.Popen([WEB, "-c", conf], stdout=cls.log, stderr=cls.log)
        deadline = time.monotonic() + 30
        while True:
            try:
                Http(cls.port).request("GET", "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
            opts.add_argument(a)
        opts.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
        cls.browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.browser.quit()
        finally:
            cls.web.terminate()
            rc = cls.web.wait(30)
            cls.log.close()
            cls.stand.close()
            cls.d.cleanup()
            shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, "budgetwatch-web exited %d" % rc

    @classmethod
    def series_of(cls, req):
        """The series of helper-interfaces.md, from what this test sent."""
        if req.get("project") == cls.code:
            budget, pays = PLAN[cls.code]["budget"], cls.paid
        else:   # the department: every project's budget, the same payments
            budget, pays = sum(p["budget"] for p in PLAN.values()), cls.paid
        days = {}
        for ts, amount in pays:
            end = (ts + LOCAL) // DAY * DAY + DAY - LOCAL     # the end of its local day
            days[end] = days.get(end, 0) + amount
        points, total = [], 0
        for end in sorted(days):
            total += days[end]
            points.append([end, total])
        mar31 = JAN1 + 90 * DAY
        return {"ok": True, "budget": budget, "year_start": JAN1, "year_end": YEAR_END,
                "points": points, "plan": [[JAN1, 0], [mar31, budget * 30 // 100], [YEAR_END, budget]],
                "now": cls.now}

    def login(self):
        b = self.browser
        b.get("http://127.0.0.1:%d/login" % self.port)
        b.find_element(By.NAME, "name").send_keys("alice")
        b.find_element(By.NAME, "password").send_keys("alice-secret")
        b.find_element(By.CSS_SELECTOR, "form.login button").click()
        WebDriverWait(b, 10).until(EC.presence_of_element_located((By.ID, "units")))

    def test_charts_are_drawn_from_the_series(self):
        self.login()
        b = self.browser
        canvas = b.find_element(By.CSS_SELECTOR, "canvas#chart")
        self.assertEqual(canvas.get_attribute("data-series"), "/api/v1/series")
        WebDriverWait(b, 10).until(lambda _: canvas.get_attribute("data-drawn"))
        b.get("http://127.0.0.1:%d/project?code=%s" % (self.port, urllib.parse.quote(self.code)))
        canvas = WebDriverWait(b, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "canvas#chart")))
        WebDriverWait(b, 10).until(lambda _: canvas.get_attribute("data-drawn"))
        b.save_screenshot(os.path.join(os.path.dirname(DAEMON), "..", "web-artifacts", "project-chart.png"))
        # The chart's steps are the series the console served, in 万元 per day of the year.
        drawn = b.execute_script("return Chart.getChart(arguments[0]).data.datasets[0].data", canvas)
        series = self.series_of({"project": self.code})
        want = [(0.0, 0.0)] + [((t - JAN1) / DAY, fen / 1e6) for t, fen in series["points"]]
        want.append(((self.now - JAN1) / DAY, want[-1][1]))
        self.assertEqual(len(drawn), len(want))
        for got, (x, y) in zip(drawn, want):
            self.assertAlmostEqual(got["x"], x, places=6)
            self.assertAlmostEqual(got["y"], y, places=6)
        plan = b.execute_script("return Chart.getChart(arguments[0]).data.datasets[1].data", canvas)
        self.assertEqual(len(plan), 3)
        self.assertAlmostEqual(plan[2]["y"], PLAN[self.code]["budget"] / 1e6, places=6)

    def test_handle_form_posts_handle(self):
        self.login()
        b = self.browser
        b.get("http://127.0.0.1:%d/alerts" % self.port)
        self.assertEqual(b.find_elements(By.CSS_SELECTOR, "section .unavailable"), [])
        form = b.find_element(By.CSS_SELECTOR, "#active-alerts form.handle")
        row = form.find_element(By.XPATH, "./ancestor::tr")
        project, kind = row.get_attribute("data-project"), row.get_attribute("data-kind")
        form.find_element(By.CSS_SELECTOR, "select[name='state'] option[value='corrected']").click()
        form.find_element(By.NAME, "note").send_keys("已整改到位")
        form.find_element(By.CSS_SELECTOR, "button").click()
        WebDriverWait(b, 10).until(EC.url_contains("done=handle"))
        self.assertEqual([{k: r.get(k) for k in ("project", "kind", "state", "by", "note")}
                          for r in self.stand.handled if r.get("project")],
                         [{"project": project, "kind": kind, "state": "corrected", "by": "alice",
                           "note": "已整改到位"}])


if __name__ == "__main__":
    unittest.main()
