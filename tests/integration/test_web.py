"""budgetwatch-web in a real browser: Debian's chromium driven by chromedriver
(python3-selenium), headless, with a CJK font, against the real budgetwatchd
(event clock) and budgetwatch-web in a temporary directory, after part of the
Zunhua 2022 demo year has been pushed with `budgetwatch push`. Checks the
figures against `budgetwatch status --json` to the fen, the drill-down, the
live alert stream (a new alert appears within 2 s without a reload), the
acknowledgement recorded with the user's name in `budgetwatch history`, the
roles, CSRF, escaping of a project named with markup, and the login rate
limit; the charts drawn from the daemon's `series` point by point; the
handling form (`handle`) with the daemon's refusal shown on the page; the
colour bands of `[alerts] bands` and the band filter. Screenshots of each
page go to the build directory (web-artifacts/)."""

import csv
import decimal
import http.client
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import CLI, DAEMON, DAY, JAN1, SOURCE_DIR, Daemon, event, load_plan

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

WEB = os.environ.get("BW_WEB") or os.path.join(os.path.dirname(DAEMON), "..", "clients", "web",
                                                "budgetwatch-web")
ARTIFACTS = os.environ.get("BW_ARTIFACTS") or os.path.join(os.path.dirname(DAEMON), "..",
                                                           "web-artifacts")
DEMO_PLAN = os.path.join(SOURCE_DIR, "examples", "zunhua-2022", "plan.csv")
XSS_CODE = "XSS-0001"
XSS_NAME = '<script>alert("x")</script><b>粗体</b>项目'
JUL1 = JAN1 + 181 * DAY
DAY_F = float(DAY)
LARGE_WAN = 100000      # 大额支付 from 10 亿元: no payment of the demo comes near
KINDS_H = os.path.join(SOURCE_DIR, "proto", "kinds.h")
BANDS = "黄:5, 红一档:10, 红二档:20"
# The colours of the bands, as clients/web/API.md documents them: the colour
# word in a band's name; a row without a band by its worst other alert.
BAND_RGB = {"band-red": "rgba(198, 40, 40, 1)", "band-orange": "rgba(239, 108, 0, 1)",
            "band-yellow": "rgba(249, 168, 37, 1)", "band-green": "rgba(46, 125, 50, 1)",
            "band-blue": "rgba(21, 101, 192, 1)"}


def band_class(band, severity):
    if band:
        return ("band-red" if "红" in band else "band-orange" if "橙" in band
                else "band-blue" if "蓝" in band else "band-yellow")
    return {"critical": "band-red", "warning": "band-yellow"}.get(severity, "band-green")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Http:
    """A tiny cookie-keeping client that does not follow redirects."""

    def __init__(self, port, lang="zh-CN"):
        self.port, self.cookies, self.lang = port, {}, lang

    def request(self, method, path, form=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Accept-Language": self.lang}
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read().decode("utf-8", "replace")
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                self.cookies[name] = rest.split(";")[0]
        c.close()
        return r.status, dict(r.getheaders()), data

    def login(self, name, password):
        status, _, page = self.request("GET", "/login")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        return self.request("POST", "/login", {"csrf": csrf, "name": name, "password": password})


class WebConsole(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.web = cls.browser = None
        try:
            cls.start()
        except BaseException:
            # A half-started fixture is stopped, not left running.
            for stop in (lambda: cls.browser and cls.browser.quit(),
                         lambda: cls.web and (cls.web.kill(), cls.web.wait()),
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
        if not os.access(WEB, os.X_OK):
            raise AssertionError("budgetwatch-web not built at %s" % WEB)
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="bw-web-")
        # The demo plan plus a project whose name is markup.
        cls.plan_path = os.path.join(cls.tmp, "plan.csv")
        with open(DEMO_PLAN, encoding="utf-8") as f:
            text = f.read().rstrip("\n") + "\n"
        with open(cls.plan_path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["323001", "遵化市人力资源和社会保障局", XSS_CODE, XSS_NAME, "10", "10", "", "95"])
            # Three more units of eight projects each, so that the list has
            # more than a page (50) and a download must hold them all; names
            # with CSV's separators and one a spreadsheet would take for a formula.
            for u in range(3):
                for k in range(8):
                    name = ('测试项目%d-%d，含"引号",逗号' % (u, k)) if k else "=SUM(A1)示例%d" % u
                    w.writerow(["3239%02d" % u, "测试单位%d" % u, "EXT-%d-%02d" % (u, k), name,
                                "%d.%02d" % (100 + 37 * k, k), "100", "", "95"])
        cls.plan = load_plan(cls.plan_path)
        cls.d = Daemon(plan=cls.plan_path, extra="repeat_interval = 0\nbands = %s\nlarge_payment_wan = %d\n"
                       % (BANDS, LARGE_WAN))
        cls.d.start()
        cls.env = dict(os.environ, BUDGETWATCH_CONTROL=cls.d.ctl_ep, BUDGETWATCH_EVENTS=cls.d.ack_ep,
                       BUDGETWATCH_ALERTS=cls.d.pub_ep, TZ="Asia/Shanghai")
        # Part of the demo year: the generated payments of January to June.
        events = os.path.join(cls.tmp, "events.csv")
        subprocess.run(["/usr/bin/python3", os.path.join(SOURCE_DIR, "examples", "zunhua-2022", "generate.py"),
                        "--plan", DEMO_PLAN, "--events", events], check=True)
        half = os.path.join(cls.tmp, "half.csv")
        cls.counts = {}
        with open(events, newline="") as f, open(half, "w", newline="") as out:
            r = csv.DictReader(f)
            w = csv.DictWriter(out, fieldnames=r.fieldnames)
            w.writeheader()
            for row in r:
                if int(row["ts"]) < JUL1:
                    w.writerow(row)
                    cls.counts[row["project"]] = cls.counts.get(row["project"], 0) + 1
        cls.cli("push", "--quiet", half)
        cls.cli("advance", "--to", str(JUL1))
        # The half year leaves the lagging projects in the worst band; two of
        # them are paid up to 15 and 7 points below their basis, into the
        # other two bands.
        st = json.loads(cls.cli("status", "--json", "--sort", "lag"))
        worst = [p for p in st["projects"] if p["band"] == "红二档" and p["budget"] > 0]
        assert len(worst) >= 2, "the demo half year has two projects in 红二档"
        lifts = []
        for k, (p, below) in enumerate(zip(worst[:2], (1500, 700))):
            basis = p["planned_bp"] if p["basis"] == "plan" else p["pace_bp"]
            target = p["budget"] * (basis - below) // 10000 + 1
            lifts.append(event("web-test", "lift-%d" % k, p["project"], target - p["paid"], JUL1 + 30 + k))
        acks = cls.d.send_reliable(lifts)
        assert all(a["status"] == "accepted" for a in acks.values()), acks
        # The active alerts as the console's first snapshot will read them
        # (nothing is sent between this and its start).
        cls.snapshot = cls.d.ok("alerts")
        # The console, on a free port, with a handler and a viewer.
        cls.port = free_port()
        cls.accounts = os.path.join(cls.tmp, "accounts")
        for name, role, pw in (("alice", "handler", "alice-secret"), ("bob", "viewer", "bob-secret")):
            subprocess.run([WEB, "passwd", "-f", cls.accounts, name, role], input=pw + "\n",
                           text=True, check=True, capture_output=True)
        conf = os.path.join(cls.tmp, "web.conf")
        with open(conf, "w") as f:
            f.write("[web]\nlisten = 127.0.0.1:%d\naccounts = %s\nstatic_dir = %s\n"
                    "[daemon]\ncontrol = %s\nalerts = %s\n"
                    % (cls.port, cls.accounts, os.path.join(SOURCE_DIR, "clients", "web", "static"),
                       cls.d.ctl_ep, cls.d.pub_ep))
        cls.web_log = open(os.path.join(cls.tmp, "web.log"), "ab")
        cls.web = subprocess.Popen([WEB, "-c", conf], stdout=cls.web_log, stderr=cls.web_log)
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, _ = Http(cls.port).request("GET", "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or cls.web.poll() is not None:
                raise AssertionError("budgetwatch-web did not come up:\n" + cls.weblog())
            time.sleep(0.05)
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1500,1100",
                  "--lang=zh-CN", "--disable-dev-shm-usage"):
            opts.add_argument(a)
        opts.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
        cls.browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        cls.browser.set_page_load_timeout(30)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.browser.quit()
        finally:
            cls.web.terminate()
            rc = cls.web.wait(30)
            cls.web_log.close()
            log = cls.weblog()
            cls.d.cleanup()
            shutil.rmtree(cls.tmp, ignore_errors=True)
        # SIGTERM ends it cleanly; under ASan, LeakSanitizer has run by then.
        if rc != 0 or "Sanitizer" in log:
            raise AssertionError("budgetwatch-web exited %d:\n%s" % (rc, log))

    @classmethod
    def cli(cls, *args):
        r = subprocess.run([CLI] + list(args), env=cls.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError("budgetwatch %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    @classmethod
    def weblog(cls):
        with open(os.path.join(cls.tmp, "web.log"), errors="replace") as f:
            return f.read()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def shot(self, name):
        self.browser.save_screenshot(os.path.join(ARTIFACTS, name + ".png"))

    def login_browser(self, name="alice", password="alice-secret"):
        b = self.browser
        b.delete_all_cookies()
        b.get(self.url("/login"))
        b.find_element(By.NAME, "name").send_keys(name)
        b.find_element(By.NAME, "password").send_keys(password)
        b.find_element(By.CSS_SELECTOR, "form.login button").click()
        try:
            WebDriverWait(b, 10).until(EC.presence_of_element_located((By.ID, "units")))
        except TimeoutException:
            self.shot("login-failed")
            raise AssertionError("no overview after logging in as %s: at %s:\n%s\nweb log:\n%s"
                                 % (name, b.current_url, b.page_source[:3000], self.weblog()))

    @staticmethod
    def fen_cells(row):
        return [int(td.get_attribute("data-fen")) for td in row.find_elements(By.CSS_SELECTOR, "td.money")]

    @staticmethod
    def bp_cells(row):
        return [int(td.get_attribute("data-bp")) for td in row.find_elements(By.CSS_SELECTOR, "td[data-bp]")]

    def assert_counts(self):
        """The overview's alert counts equal the daemon's active alerts."""
        b = self.browser
        active = [a for a in self.d.ok("alerts")["alerts"] if a.get("project")]
        want = {"critical": sum(a["severity"] == "critical" for a in active),
                "warning": sum(a["severity"] == "warning" for a in active),
                "handled": sum(a["state"] == "acknowledged" for a in active),
                "unhandled": sum(a["state"] == "firing" for a in active)}
        got = {td.get_attribute("data-count"): int(td.text)
               for td in b.find_elements(By.CSS_SELECTOR, "#alert-counts td[data-count]")}
        self.assertEqual(got, want)
        self.assertTrue(want["critical"] + want["warning"] > 0)
        # By handling state (the 未处理 count is the one above).
        got = {td.get_attribute("data-handling-count"): int(td.text)
               for td in b.find_elements(By.CSS_SELECTOR, "#alert-counts td[data-handling-count]")}
        self.assertEqual(got, {h: sum(a["handling"] == h for a in active)
                               for h in ("followed_up", "corrected", "judged_normal", "judged_violation")})

    def assert_chart(self, canvas, series):
        """The canvas is drawn, and its three lines are the daemon's series
        point by point: the paid steps (0 at the year's start, each day's
        end, then flat to the daemon's clock), the plan's corners, and
        序时进度 from 0 to the budget's share at the clock."""
        WebDriverWait(self.browser, 10).until(lambda _: canvas.get_attribute("data-drawn"))
        data = self.browser.execute_script(
            "return Chart.getChart(arguments[0]).data.datasets.map(d => d.data.map(p => [p.x, p.y]))", canvas)
        x = lambda t: (t - series["year_start"]) / DAY_F
        y = lambda fen: fen / 1e6
        now = min(series["now"], series["year_end"])
        paid = [[0, 0]] + [[x(t), y(fen)] for t, fen in series["points"]]
        paid.append([x(now), paid[-1][1]])
        self.assertTrue(series["points"], "the series has payments")
        self.assertEqual(data[0], paid)
        self.assertEqual(data[1], [[x(t), y(fen)] for t, fen in series["plan"]])
        self.assertEqual(data[2], [[0, 0], [x(now), y(series["budget"]) * x(now) / x(series["year_end"])]])
        self.assertEqual(int(canvas.get_attribute("data-drawn")), len(paid))

    def history_of(self, code):
        return [json.loads(line) for line in self.cli("history", "--project", code, "--json").splitlines()
                if line.strip()]

    def assert_bands(self, tr, row):
        """A row's band cell: the daemon's band name, its colour class and the colour drawn."""
        td = tr.find_element(By.CSS_SELECTOR, "td.band")
        self.assertEqual(td.get_attribute("data-band"), row["band"], row.get("project") or row["unit"])
        if row["band"]:
            self.assertEqual(td.text, row["band"])
        cls = band_class(row["band"], row["severity"])
        self.assertIn(cls, td.get_attribute("class").split())
        self.assertEqual(td.value_of_css_property("background-color"), BAND_RGB[cls])

    # ---- the tests, in the order a supervisor would go ----

    def test_1_overview_equals_status_and_drill_down(self):
        self.login_browser()
        b = self.browser
        status = json.loads(self.cli("status", "--json"))
        self.shot("overview")
        rows = {tr.get_attribute("data-unit"): tr for tr in b.find_elements(By.CSS_SELECTOR, "#units tbody tr")}
        want = {"": status["total"]}
        want.update({u["unit"]: u for u in status["units"]})
        self.assertEqual(set(rows), set(want))
        for unit, w in want.items():
            tr = rows[unit]
            self.assertEqual(self.fen_cells(tr), [w["budget"], w["paid"], w["shortfall"], w["pace_shortfall"]],
                             unit)
            self.assertEqual(self.bp_cells(tr), [w["rate_bp"], w["planned_bp"], w["pace_bp"],
                                                 w["lag_bp"], w["pace_lag_bp"]], unit)
            self.assertEqual(tr.find_element(By.CSS_SELECTOR, "td.basis").get_attribute("data-basis"),
                             w["basis"], unit)
            self.assertIn("万元", b.find_element(By.CSS_SELECTOR, ".asof").text)
        self.assert_counts()
        # The ten worst by lag are the daemon's ten, in its order.
        worst = json.loads(self.cli("status", "--json", "--sort", "lag", "--limit", "10"))
        got = [tr.get_attribute("data-project") for tr in b.find_elements(By.CSS_SELECTOR, "#worst-lag tbody tr")]
        self.assertEqual(got, [p["project"] for p in worst["projects"]])
        # The department's chart is the daemon's series of the department.
        canvas = b.find_element(By.CSS_SELECTOR, "canvas#chart")
        self.assertEqual(canvas.get_attribute("data-series"), "/api/v1/series")
        self.assert_chart(canvas, self.d.ok("series"))
        self.assertEqual(b.find_elements(By.CSS_SELECTOR, ".unavailable"), [])

        # Unit -> its projects.
        unit = max(status["units"], key=lambda u: u["projects"])
        rows[unit["unit"]].find_element(By.TAG_NAME, "a").click()
        WebDriverWait(b, 10).until(EC.presence_of_element_located((By.ID, "projects")))
        self.shot("projects")
        listed = b.find_elements(By.CSS_SELECTOR, "#projects tbody tr")
        mine = [p for p in status["projects"] if p["unit"] == unit["unit"]]
        self.assertEqual(int(b.find_element(By.CSS_SELECTOR, "p.matched").get_attribute("data-matched")), len(mine))
        self.assertEqual(sorted(tr.get_attribute("data-project") for tr in listed), sorted(p["project"] for p in mine))
        # Sorting by a column in the browser: paid, descending.
        b.find_element(By.XPATH, "//table[@id='projects']//th/a[starts-with(normalize-space(.), '已支付')]").click()
        WebDriverWait(b, 10).until(EC.url_contains("sort=paid"))
        paid = [self.fen_cells(tr)[1] for tr in b.find_elements(By.CSS_SELECTOR, "#projects tbody tr")]
        self.assertEqual(paid, sorted(paid, reverse=True))

        # Project -> its payments.
        code = max((p for p in mine), key=lambda p: self.counts.get(p["project"], 0))["project"]
        b.find_element(By.CSS_SELECTOR, "#projects tr[data-project='%s'] td.name a" % code).click()
        WebDriverWait(b, 10).until(EC.presence_of_element_located((By.ID, "payments")))
        canvas = b.find_element(By.CSS_SELECTOR, "canvas#chart")
        self.assertEqual(canvas.get_attribute("data-series"), "/api/v1/series?project=" + code)
        self.assert_chart(canvas, self.d.ok("series", project=code))
        self.shot("project")
        p = next(x for x in status["projects"] if x["project"] == code)
        self.assertEqual(self.fen_cells(b.find_element(By.CSS_SELECTOR, "#figures tbody tr"))[:2],
                         [p["budget"], p["paid"]])
        total = int(b.find_element(By.CSS_SELECTOR, "p[data-total]").get_attribute("data-total"))
        self.assertEqual(total, self.counts[code])
        amounts = [self.fen_cells(tr)[0] for tr in b.find_elements(By.CSS_SELECTOR, "#payments tbody tr")]
        self.assertEqual(len(amounts), min(50, total))
        if total <= 50:
            self.assertEqual(sum(amounts), p["paid"])

    def test_2_live_alert_then_acknowledge(self):
        self.login_browser()
        b = self.browser
        b.get(self.url("/alerts"))
        WebDriverWait(b, 10).until(lambda _: b.find_element(By.ID, "active-wrap").get_attribute("data-live") == "1")
        # The page's active alerts are the daemon's.
        want = {(a["project"], a["kind"]) for a in self.d.ok("alerts")["alerts"] if a.get("project")}
        shown = {(tr.get_attribute("data-project"), tr.get_attribute("data-kind"))
                 for tr in b.find_elements(By.CSS_SELECTOR, "#active-alerts tbody tr[data-kind]")}
        self.assertEqual(shown, want)
        status = json.loads(self.cli("status", "--json"))
        target = next(p for p in status["projects"] if p["project"] != XSS_CODE and p["paid"] < p["budget"])
        code = target["project"]
        before = [tr.get_attribute("data-project") for tr in
                  b.find_elements(By.CSS_SELECTOR, "#active-alerts tr[data-kind='overspend']")]
        self.assertNotIn(code, before)
        amount = target["budget"] - target["paid"] + 12345
        t0 = time.monotonic()
        acks = self.d.send_reliable([event("web-test", "over-1", code, amount, JUL1 + 60)])
        self.assertEqual(list(acks.values())[0]["status"], "accepted")
        sel = "#active-alerts tr[data-kind='overspend'][data-project='%s']" % code
        WebDriverWait(b, 2).until(EC.presence_of_element_located((By.CSS_SELECTOR, sel)))
        self.assertLess(time.monotonic() - t0, 2.0)
        self.shot("alerts-live")
        # The streamed row (built by the script) says what the server's row
        # says once the page is loaded again: the same cells, words and values.
        def cells(tr):
            return ([(td.get_attribute("class"), td.text, td.get_attribute("data-fen"), td.get_attribute("data-bp"),
                      td.get_attribute("data-band"), td.get_attribute("data-basis"))
                     for td in tr.find_elements(By.XPATH, "./td")[:-1]],
                    tr.get_attribute("data-handling"), tr.get_attribute("class").replace(" new", ""))
        live = cells(b.find_element(By.CSS_SELECTOR, sel))
        b.get(self.url("/alerts"))
        self.assertEqual(cells(b.find_element(By.CSS_SELECTOR, sel)), live)
        tr = b.find_element(By.CSS_SELECTOR, sel)
        tr.find_element(By.NAME, "note").send_keys("已电话核实")
        tr.find_element(By.CSS_SELECTOR, "button.ack-button").click()
        WebDriverWait(b, 10).until(EC.url_contains("done=ack"))
        self.shot("alerts-acknowledged")
        msgs = [json.loads(line) for line in self.cli("history", "--project", code, "--json").splitlines()
                if line.strip()]
        acked = [m for m in msgs if m["kind"] == "overspend" and m["state"] == "acknowledged"]
        self.assertEqual(len(acked), 1, msgs)
        self.assertEqual((acked[0]["by"], acked[0]["note"]), ("alice", "已电话核实"))
        # The page shows it acknowledged, and the history who did it.
        row = b.find_element(By.CSS_SELECTOR, "#active-alerts tr[data-kind='overspend'][data-project='%s']" % code)
        self.assertIn("state-acknowledged", row.get_attribute("class"))
        self.assertEqual(row.find_elements(By.CSS_SELECTOR, "button.ack-button"), [])
        self.assertEqual(row.find_element(By.CSS_SELECTOR, ".by").text, "alice")
        step = b.find_element(By.CSS_SELECTOR, "#history tr.state-acknowledged[data-kind='overspend'][data-project='%s']" % code)
        self.assertIn("alice", step.find_element(By.CSS_SELECTOR, ".by").text)
        self.assertIn("已电话核实", step.text)
        # The overview's counts follow, from the console's mirror of the stream.
        b.get(self.url("/"))
        self.assert_counts()
        self.assertGreaterEqual(int(b.find_element(By.CSS_SELECTOR, "td[data-count='handled']").text), 1)

    def test_3_markup_in_a_name_is_text(self):
        self.login_browser()
        b = self.browser
        b.get(self.url("/project?code=" + urllib.parse.quote(XSS_CODE)))
        WebDriverWait(b, 10).until(EC.presence_of_element_located((By.ID, "figures")))
        self.shot("project-markup")
        self.assertEqual(b.find_element(By.TAG_NAME, "h1").text, XSS_NAME)
        with self.assertRaises(NoAlertPresentException):
            b.switch_to.alert.text
        self.assertEqual(b.find_elements(By.CSS_SELECTOR, "main b"), [])
        self.assertIn("&lt;script&gt;alert(", b.page_source)
        b.get(self.url("/projects?q=XSS"))
        self.assertEqual(b.find_element(By.CSS_SELECTOR, "#projects td.name").text, XSS_NAME)

    def test_9_viewer_csrf_and_login_limits(self):
        code = next(iter(sorted(self.plan)))
        viewer = Http(self.port)
        status, headers, _ = viewer.login("bob", "bob-secret")
        self.assertEqual((status, headers.get("Location")), (303, "/"))
        self.assertIn("HttpOnly", headers["Set-Cookie"])
        self.assertIn("SameSite=Strict", headers["Set-Cookie"])
        _, headers, page = viewer.request("GET", "/alerts")
        self.assertNotIn("script-src 'unsafe-inline'", headers["Content-Security-Policy"])
        self.assertIn("script-src 'self'", headers["Content-Security-Policy"])
        self.assertNotIn('action="/alerts/ack"', page)
        csrf = re.search(r'<meta name="csrf" content="([0-9a-f]+)"', page).group(1)
        status, _, _ = viewer.request("POST", "/alerts/ack", {"csrf": csrf, "project": code, "kind": "lag"})
        self.assertEqual(status, 403)

        handler = Http(self.port)
        handler.login("alice", "alice-secret")
        n = len(self.d.ok("history")["alerts"])
        status, _, page = handler.request("POST", "/alerts/ack", {"project": code, "kind": "lag"})
        self.assertEqual(status, 403)
        self.assertIn("CSRF", page)
        status, _, _ = handler.request("POST", "/alerts/ack", {"csrf": "0" * 64, "project": code, "kind": "lag"})
        self.assertEqual(status, 403)
        self.assertEqual(len(self.d.ok("history")["alerts"]), n)   # nothing reached the daemon

        # English when the browser prefers it; JSON twins need a session.
        en = Http(self.port, lang="en-GB,en;q=0.9,zh;q=0.5")
        en.login("bob", "bob-secret")
        _, _, page = en.request("GET", "/")
        self.assertIn("Department", page)
        status, _, body = en.request("GET", "/api/v1/overview")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["status"]["total"], json.loads(self.cli("status", "--json"))["total"])
        self.assertEqual(Http(self.port).request("GET", "/api/v1/overview")[0], 401)
        # The list's twin: the daemon's page of rows for the same query.
        status, _, body = en.request("GET", "/api/v1/projects?sort=paid&desc=1&page=0")
        self.assertEqual(status, 200)
        page = json.loads(body)
        want = self.d.ok("status", sort="paid", desc=True, limit=50)
        self.assertEqual([r["project"] for r in page["projects"]], [r["project"] for r in want["projects"]])
        self.assertEqual(page["matched"], len(self.plan))
        status, _, body = en.request("GET", "/api/v1/projects?alert=bogus")
        self.assertEqual(status, 400)
        self.assertIn("'alert'", json.loads(body)["error"])
        # The detail's twin: its payments are the daemon's, the cursor pages on.
        code = max(self.counts, key=self.counts.get)
        status, _, body = en.request("GET", "/api/v1/project?code=" + urllib.parse.quote(code))
        detail = json.loads(body)
        self.assertEqual(detail["payments"], self.d.ok("payments", project=code, limit=50))
        self.assertEqual(detail["payments"]["total"], self.counts[code])
        self.assertEqual(en.request("GET", "/api/v1/project?code=nope")[0], 404)
        # The series' twin is the daemon's reply, key for key.
        status, _, body = en.request("GET", "/api/v1/series?project=" + urllib.parse.quote(code))
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), self.d.ok("series", project=code))
        status, _, body = en.request("GET", "/api/v1/series?project=nope")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["error"], self.d.control("series", project="nope")["error"])
        status, _, body = Http(self.port).request("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["now"], self.d.ok("ping")["now"])

        # Five wrong passwords from one address, then even the right one waits.
        guesser = Http(self.port)
        for _ in range(5):
            self.assertEqual(guesser.login("alice", "wrong")[0], 401)
        status, _, page = guesser.login("alice", "alice-secret")
        self.assertEqual(status, 429)


    def test_5_handle_in_the_browser(self):
        self.login_browser()
        b = self.browser
        lag = sorted(a["project"] for a in self.d.ok("alerts")["alerts"]
                     if a["kind"] == "lag" and a["handling"] == "unhandled" and a["project"] != XSS_CODE)
        self.assertTrue(lag, "the demo half year has lag alerts")
        code = lag[0]
        sel = "#active-alerts tr[data-kind='lag'][data-project='%s']" % code

        def step(state, note):
            b.get(self.url("/alerts"))
            form = b.find_element(By.CSS_SELECTOR, sel + " form.handle")
            Select(form.find_element(By.NAME, "state")).select_by_value(state)
            form.find_element(By.NAME, "note").send_keys(note)
            form.find_element(By.CSS_SELECTOR, "button").click()

        step("followed_up", "已电话督办")
        WebDriverWait(b, 10).until(EC.url_contains("done=handle"))
        step("judged_normal", "核实为正常进度")
        WebDriverWait(b, 10).until(EC.url_contains("done=handle"))
        self.shot("alerts-handled")
        steps = [(m["handling"], m["by"], m["note"]) for m in self.history_of(code)
                 if m["kind"] == "lag" and m["state"] == "acknowledged"]
        self.assertEqual(steps, [("followed_up", "alice", "已电话督办"), ("judged_normal", "alice", "核实为正常进度")])
        # The page says where it stands and who; its history has both steps in words.
        # The row comes from the console's mirror of the stream, which may hear
        # the step a moment after the redirect (under ASan, often): read the
        # page again until the mirror has it.
        def handled(_):
            if "认定正常" in b.find_element(By.CSS_SELECTOR, sel + " td.state").text:
                return True
            b.get(self.url("/alerts"))
            return False
        WebDriverWait(b, 10, poll_frequency=0.2).until(handled)
        row = b.find_element(By.CSS_SELECTOR, sel)
        self.assertEqual(row.find_element(By.CSS_SELECTOR, ".by").text, "alice")
        words = [tr.find_element(By.CSS_SELECTOR, "td.state").text for tr in b.find_elements(
            By.CSS_SELECTOR, "#history tr.state-acknowledged[data-kind='lag'][data-project='%s']" % code)]
        self.assertEqual(sorted(words), sorted(["已督办 alice 已电话督办", "认定正常 alice 核实为正常进度"]))
        # 认定正常 cannot become 已整改: the daemon refuses, the page shows its words.
        n = len(self.history_of(code))
        step("corrected", "不应接受")
        err = WebDriverWait(b, 10).until(EC.presence_of_element_located((By.ID, "form-error")))
        self.shot("alerts-refused")
        want = self.d.control("handle", project=code, kind="lag", state="corrected", by="alice")
        self.assertFalse(want["ok"])
        self.assertEqual(err.text, "守护进程拒绝了此操作：" + want["error"])
        self.assertEqual(len(self.history_of(code)), n)

    def test_6_bands_and_the_band_filter(self):
        self.login_browser()
        b = self.browser
        status = json.loads(self.cli("status", "--json"))
        rows = {p["project"]: p for p in status["projects"]}
        bands = {p["band"] for p in status["projects"]}
        self.assertTrue({"黄", "红一档"} <= bands, bands)     # the demo half year reaches them
        # The overview: 部门整体, each unit and the rankings.
        units = {"": status["total"]}
        units.update({u["unit"]: u for u in status["units"]})
        for tr in b.find_elements(By.CSS_SELECTOR, "#units tbody tr"):
            self.assert_bands(tr, units[tr.get_attribute("data-unit")])
        for tr in b.find_elements(By.CSS_SELECTOR, "#worst-lag tbody tr, #worst-shortfall tbody tr"):
            self.assert_bands(tr, rows[tr.get_attribute("data-project")])
        # The list, filtered by each band in the browser: exactly that band's projects.
        for band in sorted(bands - {""}):
            b.get(self.url("/projects"))
            box = b.find_element(By.CSS_SELECTOR, "form.filters [name='band']")
            if box.tag_name == "select":
                Select(box).select_by_value(band)
            else:
                box.send_keys(band)
            b.find_element(By.CSS_SELECTOR, "form.filters button").click()
            WebDriverWait(b, 10).until(EC.url_contains("band="))
            if band == "红一档":
                self.shot("projects-band")
            want = sorted(c for c, p in rows.items() if p["band"] == band)
            self.assertEqual(int(b.find_element(By.CSS_SELECTOR, "p.matched").get_attribute("data-matched")),
                             len(want), band)
            got = []
            while True:
                for tr in b.find_elements(By.CSS_SELECTOR, "#projects tbody tr[data-project]"):
                    got.append(tr.get_attribute("data-project"))
                    self.assert_bands(tr, rows[got[-1]])
                nxt = b.find_elements(By.CSS_SELECTOR, "nav.pages a[rel='next']")
                if not nxt:
                    break
                nxt[0].click()
            self.assertEqual(sorted(got), want, band)


    def test_7_alert_rows_carry_the_rules(self):
        """Each active alert's row: the kind's label of proto/kinds.h, its band,
        basis, distance and shortfall against the plan and 序时进度, its
        handling; a large payment's row names the payment."""
        with open(KINDS_H, encoding="utf-8") as f:
            labels = dict(re.findall(r'XX\(\w+, (\w+), \w+, \w+, "([^"]+)"', f.read()))
        self.assertIn("large_payment", labels)
        code = sorted(c for c in self.plan if c != XSS_CODE)[-1]
        amount = LARGE_WAN * 1000000 + 123
        acks = self.d.send_reliable([event("bank-7", "big-1", code, amount, JUL1 + 120, ref="HT-2022-007")])
        self.assertEqual(list(acks.values())[0]["status"], "accepted")
        self.login_browser()
        b = self.browser
        b.get(self.url("/alerts"))
        sel = "#active-alerts tr[data-kind='large_payment'][data-project='%s']" % code
        WebDriverWait(b, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, sel)))
        self.shot("alerts")
        active = {(a["project"], a["kind"]): a for a in self.d.ok("alerts")["alerts"] if a.get("project")}
        # The page's rows are the console's mirror: the snapshot it read at
        # its start, each alert published since as its message (the figures
        # as they stood then; `alerts` has them as they stand now).
        log = self.d.ok("history", limit=100000)
        self.assertFalse(log["truncated"])
        by_seq = {m["seq"]: m for m in log["alerts"] if m["seq"] > self.snapshot["seq"]}
        by_seq.update({m["seq"]: m for m in self.snapshot["alerts"]})
        rows = b.find_elements(By.CSS_SELECTOR, "#active-alerts tbody tr[data-kind]")
        self.assertEqual(len(rows), len(active))
        for tr in rows:
            key = (tr.get_attribute("data-project"), tr.get_attribute("data-kind"))
            self.assertIn(key, active)
            a = by_seq[int(tr.get_attribute("data-seq"))]
            self.assertEqual((a["project"], a["kind"]), key)
            what = "%s %s" % (a["project"], a["kind"])
            self.assertEqual(tr.find_element(By.CSS_SELECTOR, "td.kind").text, labels[a["kind"]], what)
            self.assertEqual(tr.find_element(By.CSS_SELECTOR, "td.band").get_attribute("data-band"), a["band"], what)
            self.assertIn(band_class(a["band"], a["severity"]), tr.get_attribute("class").split(), what)
            self.assertEqual(tr.find_element(By.CSS_SELECTOR, "td.basis").get_attribute("data-basis"), a["basis"], what)
            self.assertEqual(self.bp_cells(tr), [a["rate_bp"], a["lag_bp"], a["pace_lag_bp"]], what)
            self.assertEqual(self.fen_cells(tr), [a["shortfall"], a["pace_shortfall"]], what)
            self.assertEqual(tr.get_attribute("data-handling"), a["handling"], what)
            words = {"unhandled": "未处理", "followed_up": "已督办", "corrected": "已整改",
                     "judged_normal": "认定正常", "judged_violation": "认定违规"}
            self.assertTrue(tr.find_element(By.CSS_SELECTOR, "td.state").text.startswith(words[a["handling"]]), what)
        big = b.find_element(By.CSS_SELECTOR, sel)
        self.assertEqual(big.find_element(By.CSS_SELECTOR, "td.detail .event").text, "bank-7/big-1")
        self.assertEqual(int(big.find_element(By.CSS_SELECTOR, "td.detail .amount").get_attribute("data-fen")), amount)
        self.assertEqual(big.find_element(By.CSS_SELECTOR, "td.detail .amount").text, "100000.00 万元")
        self.assertIn("HT-2022-007", big.find_element(By.CSS_SELECTOR, "td.detail .ref").text)
        a = active[(code, "large_payment")]
        self.assertEqual((a["src"], a["id"], a["amount"], a["ref"]), ("bank-7", "big-1", amount, "HT-2022-007"))


    def download(self, link):
        """GET the link's href with the browser's session cookie."""
        cookie = self.browser.get_cookie("bww_session")["value"]
        href = link.get_attribute("href")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", href[href.index("/", len("http://")):], headers={"Cookie": "bww_session=" + cookie})
        r = c.getresponse()
        raw = r.read()
        c.close()
        self.assertEqual(r.status, 200, raw[:500])
        self.assertEqual(r.getheader("Content-Type"), "text/csv; charset=utf-8")
        self.assertTrue(r.getheader("Content-Disposition").startswith("attachment; filename="))
        self.assertTrue(raw.startswith(b"\xef\xbb\xbf"), raw[:20])    # the BOM Excel needs
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        return rows[0], rows[1:]

    @staticmethod
    def fen(cell):
        """万元 with six decimals back to fen, exactly."""
        return int(decimal.Decimal(cell) * 1000000)

    @staticmethod
    def bp(cell):
        return int(decimal.Decimal(cell) * 100)

    def assert_project_csv(self, head, rows, want):
        self.assertEqual(head[:4], ["单位编码", "单位名称", "项目编码", "项目名称"])
        self.assertEqual([r[2] for r in rows], [p["project"] for p in want])
        for r, p in zip(rows, want):
            name = ("'" if p["project_name"][:1] in ("=", "+", "-", "@") else "") + p["project_name"]
            self.assertEqual(r[:4], [p["unit"], p["unit_name"], p["project"], name])
            self.assertEqual([self.fen(r[i]) for i in (4, 5, 11, 12)],
                             [p["budget"], p["paid"], p["shortfall"], p["pace_shortfall"]], p["project"])
            self.assertEqual([self.bp(r[i]) for i in range(6, 11)],
                             [p["rate_bp"], p["planned_bp"], p["pace_bp"], p["lag_bp"], p["pace_lag_bp"]])
            self.assertEqual(r[13:], [{"plan": "计划", "pace": "序时进度"}[p["basis"]], p["band"], str(p["firing"])])

    def test_8_export(self):
        self.login_browser()
        b = self.browser
        # Every project, not only the page of 50, in the daemon's order, to the fen.
        b.get(self.url("/projects"))
        head, rows = self.download(b.find_element(By.ID, "export"))
        status = json.loads(self.cli("status", "--json"))
        self.assertGreater(len(status["projects"]), 50)
        # The list's order is the daemon's plan order (the command line sorts its own way).
        cli = {p["project"]: p for p in status["projects"]}
        order = [p["project"] for p in self.d.ok("status")["projects"]]
        self.assertEqual(sorted(order), sorted(cli))
        self.assert_project_csv(head, rows, [cli[code] for code in order])
        self.assertIn("'=SUM(A1)示例0", [r[3] for r in rows])
        # With the page's filter and sort (chosen in the browser): the same rows as the daemon's.
        b.get(self.url("/projects?band=" + urllib.parse.quote("红二档")))
        b.find_element(By.XPATH, "//table[@id='projects']//th/a[starts-with(normalize-space(.), '已支付')]").click()
        WebDriverWait(b, 10).until(EC.url_contains("sort=paid"))
        head, rows = self.download(b.find_element(By.ID, "export"))
        want = self.d.ok("status", band="红二档", sort="paid", desc=True)["projects"]
        self.assertTrue(want)
        self.assert_project_csv(head, rows, want)
        # The alert history of a project, every step with who and the words.
        code = next(m["project"] for m in self.d.ok("history", limit=100000)["alerts"]
                    if m.get("handling") == "judged_normal")
        b.get(self.url("/alerts?project=" + urllib.parse.quote(code)))
        head, rows = self.download(b.find_element(By.ID, "export"))
        msgs = self.history_of(code)
        self.assertEqual(head[0], "序号")
        self.assertEqual([int(r[0]) for r in rows], [m["seq"] for m in msgs])
        col = {h: i for i, h in enumerate(head)}
        for r, m in zip(rows, msgs):
            self.assertEqual((r[col["项目编码"]], r[col["状态"]], r[col["处理人"]], r[col["备注"]]),
                             (code, m["state"], m.get("by", ""), m.get("note", "") if m.get("by") else ""))
            self.assertEqual(self.fen(r[col["计划缺口（万元）"]]), m["shortfall"])
            self.assertEqual(self.fen(r[col["序时缺口（万元）"]]), m["pace_shortfall"])
            self.assertEqual(r[col["色档"]], m["band"])
        self.assertIn(("认定正常", "alice", "核实为正常进度"),
                      [(r[col["处理状态"]], r[col["处理人"]], r[col["备注"]]) for r in rows])


if __name__ == "__main__":
    unittest.main()
