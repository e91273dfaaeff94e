"""`budgetwatch report` on the demo year, read back by an independent reader
(python3-openpyxl): every cell of the 执行进度表 equals the daemon's status as
of the report's instant to the fen (a money cell times 10^6 is the fen figure
exactly), the 小计 and 部门整体 rows equal the sums of the rows above them, the
levels' colours are conditional formats, the header is frozen, filtered and
repeated on every printed page (A4 landscape), the alerts sheet holds the
period's alert log, the months sheet has its line chart; and as of 2022-06-30
the figures equal the test's own computation from the events up to that day.
CSV, JSON and the constant-memory workbook say the same."""

import csv
import io
import json
import os
import subprocess
import sys
import unittest
import zipfile
from decimal import Decimal

import openpyxl

from harness import CLI, DAEMON, JAN1, DAY, YEAR_END, PLAN, SOURCE_DIR, Daemon, event, load_plan

sys.path.insert(0, os.path.join(SOURCE_DIR, "examples", "zunhua-2022"))
import generate  # noqa: E402

JUL1 = JAN1 + 181 * DAY          # the end of 2022-06-30, Asia/Shanghai
LEVEL = {"none": "正常", "warning": "黄色预警", "critical": "红色预警"}
BUREAU = "遵化市人力资源和社会保障局"
BANDS = [("黄", 5), ("红一档", 10), ("红二档", 20), ("红三档", 30)]


def fen(cell):
    """A 万元 cell back to fen, exactly, or fail."""
    d = Decimal(repr(cell)) * 1000000
    assert d == d.to_integral_value(), "cell %r is not a whole number of fen" % cell
    return int(d)


def pct1(bp):
    """bp as a percentage with one decimal, half up, as the 通报 writes it."""
    return "%d.%d" % divmod((bp + 5) // 10, 10)


def bp(cell):
    d = Decimal(repr(cell)) * 10000
    assert d == d.to_integral_value(), "cell %r is not a whole number of bp" % cell
    return int(d)


class Report(unittest.TestCase):
    def setUp(self):
        if not DAEMON or not CLI:
            self.fail("BW_DAEMON / BW_CLI are not set; run the integration tests through ctest")
        self.events, _ = generate.generate(generate.read_plan(PLAN), 2022)
        self.d = self.demo_year(Daemon())

    def demo_year(self, d):
        d.start()
        acks = d.send_reliable([
            event("treasury-zunhua", e["id"], e["project"], e["amount_fen"], e["ts"],
                  unit=e["unit"], type=e["type"], ref=e.get("ref") or None) for e in self.events])
        self.assertTrue(all(a["status"] in ("accepted", "duplicate") for a in acks.values()))
        d.ok("advance", to=YEAR_END)
        return d

    def tearDown(self):
        self.d.cleanup()

    def cli(self, *args, d=None):
        env = dict(os.environ, BUDGETWATCH_CONTROL=(d or self.d).ctl_ep, TZ="Asia/Shanghai")
        p = subprocess.run([CLI, "report"] + list(args), env=env, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def rows(self, ws):
        out = []
        for r in ws.iter_rows(min_row=4, values_only=True):
            if r[3] is None:
                break
            out.append(r)
        return out

    def test_june_workbook(self):
        path = os.path.join(self.d.dir, "june.xlsx")
        out = self.cli("--month", "2022-06", "--bureau", BUREAU, "--xlsx", path)
        st = self.d.ok("status", at=JUL1)
        wb = openpyxl.load_workbook(path)
        self.assertEqual(wb.sheetnames, ["执行进度表", "预警及处置", "月度执行"])
        ws = wb["执行进度表"]
        self.assertIn(BUREAU, ws["A1"].value)
        self.assertIn("2022年6月", ws["A1"].value)
        self.assertIn("截至2022年6月30日", ws["A2"].value)
        self.assertIn("序时进度 49.58%", ws["A2"].value)
        self.assertEqual([c.value for c in ws[3]],
                         ["单位", "项目编码", "项目名称", "预算数", "调整后预算数", "支出数", "支出进度",
                          "序时进度", "超(短)序时进度", "超(短)序时金额", "计划进度", "预警级别"])
        rows = self.rows(ws)
        by_code = {p["project"]: p for p in st["projects"]}
        units = {u["unit_name"]: u for u in st["units"]}
        pace = st["pace_bp"]
        self.assertEqual(pace, 181 * 10000 // 365)
        # The test's own figures from the events up to the end of June 30.
        plan = load_plan()
        paid, seen = {}, set()
        for e in self.events:
            if e["id"] in seen or e["ts"] > JUL1:
                continue
            seen.add(e["id"])
            paid[e["project"]] = paid.get(e["project"], 0) + (
                e["amount_fen"] if e["type"] == "disbursement" else -e["amount_fen"])
        projects, sub, subs = 0, None, []
        acc = [0, 0, 0, 0]
        for r in rows:
            unit, code, name, pb, b, p, rate, pc, diff, amount, planned, level = r
            if name == "小计" or unit == "部门整体":
                want = units[unit] if unit != "部门整体" else st["total"]
                got = [fen(pb), fen(b), fen(p), fen(amount)]
                if unit == "部门整体":
                    self.assertEqual(got, [sum(s[i] for s in subs) for i in range(4)])
                else:
                    self.assertEqual(got, acc, "unit %s" % unit)    # 小计 = the sum of its rows
                    subs.append(got)
                    acc = [0, 0, 0, 0]
                self.assertEqual((fen(pb), fen(b), fen(p)),
                                 (want["plan_budget"], want["budget"], want["paid"]))
                self.assertEqual((bp(rate), bp(planned)), (want["rate_bp"], want["planned_bp"]))
                self.assertEqual(level, LEVEL[want["severity"]])
                continue
            projects += 1
            w = by_code[code]
            self.assertEqual((unit, name), (w["unit_name"], w["project_name"]))
            self.assertEqual((fen(pb), fen(b), fen(p)), (w["plan_budget"], w["budget"], w["paid"]))
            self.assertEqual((bp(rate), bp(pc), bp(diff), bp(planned)),
                             (w["rate_bp"], pace, w["rate_bp"] - pace, w["planned_bp"]))
            self.assertEqual(fen(amount), w["paid"] - w["budget"] * pace // 10000)
            self.assertEqual(level, LEVEL[w["severity"]])
            # ... and from the events, as the test computes them.
            mine = paid.get(code, 0)
            self.assertEqual((fen(b), fen(p)), (plan[code]["budget"], mine))
            self.assertEqual(bp(rate), mine * 10000 // plan[code]["budget"])
            self.assertEqual(bp(planned), 6000)      # the 06-30 milestone is due at its end
            acc = [a + v for a, v in zip(acc, [fen(pb), fen(b), fen(p), fen(amount)])]
        self.assertEqual(projects, len(plan))
        self.assertEqual(len(subs), 3)
        self.assertEqual(fen(rows[-1][5]), sum(paid.values()))
        # Colours by conditional formats, keyed by the level cell; layout and print setup.
        rules = [(r.formula[0], r.dxf.fill.bgColor.rgb) for cf in ws.conditional_formatting
                 for r in cf.rules]
        self.assertIn(('$L4="红色预警"', "FFFFC7CE"), rules)
        self.assertIn(('$L4="黄色预警"', "FFFFEB9C"), rules)
        self.assertEqual(ws.freeze_panes, "A4")
        self.assertEqual(ws.auto_filter.ref, "A3:L%d" % (3 + len(rows)))
        self.assertEqual((ws.page_setup.orientation, ws.page_setup.paperSize), ("landscape", 9))
        self.assertEqual(ws.print_title_rows, "$1:$3")
        # The 通报 under the table, also printed.
        bulletin = ws.cell(3 + len(rows) + 2, 1).value
        self.assertTrue(bulletin.startswith("截至2022年6月30日，部门整体支出进度为"), bulletin)
        self.assertEqual(out.strip(), bulletin)
        tot = st["total"]
        rate1 = "%d.%d%%" % divmod((tot["rate_bp"] + 5) // 10, 10)
        self.assertIn("部门整体支出进度为%s（序时进度49.6%%）" % rate1, bulletin)
        diff = tot["rate_bp"] - pace
        self.assertIn("%s序时进度%s个百分点" % ("超" if diff > 0 else "低于", pct1(abs(diff))), bulletin)
        # The default pair keeps its words, both counted even at zero.
        reds = sum(1 for p in st["projects"] if p["severity"] == "critical")
        yellows = sum(1 for p in st["projects"] if p["severity"] == "warning")
        self.assertIn("其中黄色预警%d个、红色预警%d个" % (yellows, reds), bulletin)
        self.assertNotIn("判定", bulletin)       # lag_basis = plan: no basis said
        # The alerts of June: what the log holds for [06-01, the end of 06-30].
        hist = self.d.ok("history", since=JAN1 + 151 * DAY, until=JUL1 + 1)["alerts"]
        al = [r for r in wb["预警及处置"].iter_rows(min_row=2, values_only=True) if r[0]]
        self.assertEqual(len(al), len(hist))
        self.assertEqual([r[2] for r in al], [h["project"] for h in hist])
        # The months and the chart (openpyxl does not read charts: the package does).
        ms = list(wb["月度执行"].iter_rows(min_row=2, values_only=True))
        self.assertEqual([m[0] for m in ms], ["%d月" % i for i in range(1, 7)])
        self.assertEqual(fen(ms[-1][4]), tot["paid"])
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
            self.assertEqual(len(names), 1)
            chart = z.read(names[0]).decode()
        self.assertIn("<c:lineChart>", chart)
        self.assertIn("'月度执行'!$B$2:$B$7", chart)
        self.assertIn("'月度执行'!$D$2:$D$7", chart)

        # The same with rows sent to disk as written, and as CSV and JSON.
        big = os.path.join(self.d.dir, "june-cm.xlsx")
        self.cli("--month", "2022-06", "--bureau", BUREAU, "--xlsx", big, "--constant-memory")
        self.assertEqual(self.rows(openpyxl.load_workbook(big)["执行进度表"]), rows)
        table = list(csv.reader(io.StringIO(self.cli("--month", "2022-06", "--csv"))))
        self.assertEqual(len(table), 1 + len(rows))
        for c, r in zip(table[1:], rows):
            self.assertEqual(int(Decimal(c[5]) * 1000000), fen(r[5]))
            self.assertEqual(c[11], r[11])
        j = json.loads(self.cli("--month", "2022-06", "--json"))
        self.assertEqual((j["at"], j["pace_bp"], j["bulletin"]), (JUL1, pace, bulletin))
        self.assertEqual([x["paid"] for x in j["rows"]], [fen(r[5]) for r in rows])

    def test_bands_and_pace_basis(self):
        """With the bureau's bands and lag_basis = pace the table says each
        project's band by its name, with a colour per band (yellow, then
        reds ever deeper) and a column with the basis; the 通报 counts the
        projects by band and says the basis. Each row's band is checked
        against the test's own reading of the bands from its distance to
        序时进度, and the rows against `budgetwatch status --json --at`."""
        self.b = Daemon(extra="lag_basis = pace\nbands = %s\n"
                        % ", ".join("%s:%d" % b for b in BANDS))
        self.addCleanup(self.b.cleanup)
        self.demo_year(self.b)
        seen = set()
        for month, days in (("2022-04", 120), ("2022-06", 181), ("2022-08", 243)):
            with self.subTest(month=month):
                seen |= self.check_bands(month, JAN1 + days * DAY)
        # The demo's lagging projects cross the mildest band and the worst
        # by these months' ends (the test's own reading above).
        self.assertGreaterEqual(len(seen), 3, seen)
        self.assertIn("黄", seen)

    def check_bands(self, month, at):
        path = os.path.join(self.b.dir, "%s.xlsx" % month)
        out = self.cli("--month", month, "--bureau", BUREAU, "--xlsx", path, d=self.b)
        env = dict(os.environ, BUDGETWATCH_CONTROL=self.b.ctl_ep, TZ="Asia/Shanghai")
        p = subprocess.run([CLI, "status", "--json", "--at", str(at)], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        st = json.loads(p.stdout)
        pace = st["pace_bp"]
        ws = openpyxl.load_workbook(path)["执行进度表"]
        self.assertEqual([c.value for c in ws[3]][11:], ["预警级别", "预警依据"])
        rows = self.rows(ws)
        by_code = {x["project"]: x for x in st["projects"]}
        counts = {name: 0 for name, _ in BANDS}
        units = {u["unit_name"]: u for u in st["units"]}
        for r in rows:
            if r[2] == "小计" or r[0] == "部门整体":
                self.assertEqual(r[12], None)       # a subtotal has no basis of its own
                w = st["total"] if r[0] == "部门整体" else units[r[0]]
                self.assertEqual(r[11], w["band"] or LEVEL[w["severity"]], r[0])   # its worst band
                continue
            w = by_code[r[1]]
            self.assertEqual(w["basis"], "pace")
            self.assertEqual(w["pace_lag_bp"], pace - w["rate_bp"])
            mine = [name for name, pp in BANDS if w["pace_lag_bp"] >= pp * 100]
            band = mine[-1] if mine else ""
            self.assertEqual(w["band"], band, r[1])
            self.assertEqual(r[11], band or LEVEL[w["severity"]], r[1])
            self.assertEqual(r[12], "序时进度")
            if band:
                counts[band] += 1
        self.assertGreater(sum(counts.values()), 0, "the demo's %s has lagging projects" % month)
        # A colour per band, each a conditional format: yellow first, then reds
        # ever deeper (each fill darker than the band before), the default
        # words of the other kinds too.
        rules = {r.formula[0]: r.dxf.fill.bgColor.rgb for cf in ws.conditional_formatting
                 for r in cf.rules}
        fills = [rules['$L4="%s"' % name] for name, _ in BANDS]
        self.assertEqual(fills[0], "FFFFEB9C")
        self.assertEqual(fills[1], "FFFFC7CE")
        dark = [sum(int(f[i:i + 2], 16) for i in (2, 4, 6)) for f in fills[1:]]
        self.assertEqual(dark, sorted(dark, reverse=True))
        self.assertEqual(len(set(dark)), len(dark))
        self.assertEqual(rules['$L4="黄色预警"'], fills[0])
        self.assertEqual(rules['$L4="红色预警"'], fills[-1])
        self.assertEqual(ws.auto_filter.ref, "A3:M%d" % (3 + len(rows)))
        bulletin = ws.cell(3 + len(rows) + 2, 1).value
        self.assertEqual(out.strip(), bulletin)
        self.assertIn("其中" + "、".join("%s%d个" % (n, counts[n]) for n, _ in BANDS), bulletin)
        self.assertIn("（按序时进度判定）", bulletin)
        behind = sum(1 for x in st["projects"] if x["rate_bp"] < pace)
        self.assertIn("%d个项目中，%d个低于序时进度" % (len(st["projects"]), behind), bulletin)
        # The worst project on 序时进度's money is named first, its distance
        # as a bulletin writes it.
        worst = max(st["projects"], key=lambda x: (x["pace_shortfall"], x["project"]))
        self.assertIn("项目：%s（%s，支出进度%s%%，低于序时进度%s个百分点，短序时金额"
                      % (worst["project_name"], worst["unit_name"], pct1(worst["rate_bp"]),
                         pct1(pace - worst["rate_bp"])), bulletin)
        # CSV and JSON say the same words and the basis.
        table = list(csv.reader(io.StringIO(self.cli("--month", month, "--csv", d=self.b))))
        self.assertEqual(table[0][-2:], ["预警级别", "预警依据"])
        self.assertEqual([c[11:] for c in table[1:]], [[r[11], r[12] or ""] for r in rows])
        j = json.loads(self.cli("--month", month, "--json", d=self.b))
        self.assertEqual(j["lag_basis"], "pace")
        self.assertEqual([(b["name"], b["bp"]) for b in j["bands"]], [(n, pp * 100) for n, pp in BANDS])
        self.assertEqual([x["level"] for x in j["rows"]], [r[11] for r in rows])
        return {n for n, k in counts.items() if k}

    def test_quarter_unit_and_as_of(self):
        st = self.d.ok("status", at=JAN1 + 90 * DAY, unit="323001")
        j = json.loads(self.cli("--quarter", "2022-Q1", "--unit", "323001", "--json"))
        self.assertEqual(j["at"], JAN1 + 90 * DAY)
        self.assertEqual(j["rows"][-1]["row"], "unit")      # one unit: its 小计 closes the table
        self.assertEqual(j["rows"][-1]["paid"], st["units"][0]["paid"])
        self.assertEqual(len(j["rows"]), 1 + len(st["projects"]))
        j = json.loads(self.cli("--as-of", "2022-03-15", "--json"))
        self.assertEqual(j["at"], JAN1 + 74 * DAY)
        self.assertEqual(j["rows"][-1]["paid"], self.d.ok("status", at=JAN1 + 74 * DAY)["total"]["paid"])

    def test_bad_periods_are_refused(self):
        env = dict(os.environ, BUDGETWATCH_CONTROL=self.d.ctl_ep)
        for args in (["--month", "2022-13", "--csv"], ["--quarter", "2022-Q5", "--csv"],
                     ["--as-of", "2022-02-30", "--csv"], ["--month", "2022-06"],
                     ["--month", "2022-06", "--as-of", "2022-06-01", "--csv"]):
            p = subprocess.run([CLI, "report"] + args, env=env, capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("budgetwatch report:", p.stderr)


if __name__ == "__main__":
    unittest.main()
