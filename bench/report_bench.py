#!/usr/bin/python3
"""Reports and metrics at plan scale: a plan of N projects (gen_plan.py), a
year of E payments over it pushed through `budgetwatch push` (the daily sums
written with the events), then
  * ingest through the acknowledged path (a window of 2,000 in flight),
  * `status` as of a dozen instants (the control round trip, whole reply),
  * `series` of the department,
  * `budgetwatch report --xlsx` (time and peak memory, /usr/bin/time),
  * a `/metrics` scrape of budgetwatch-metrics without and with per-project
    series (all N),
each timed on the real programs in a temporary directory. Prints one table
and writes JSON to BUILD_DIR/report-bench.json.

usage: report_bench.py BUILD_DIR [--projects N] [--events E]"""

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
JAN1 = 1640966400               # 2022-01-01 00:00 +08:00
DAY = 86400


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--projects", type=int, default=100000)
    ap.add_argument("--events", type=int, default=1000000)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    daemon = os.path.join(build, "daemon", "budgetwatchd")
    cli = os.path.join(build, "clients", "budgetwatch")
    exporter = os.path.join(build, "clients", "budgetwatch-metrics")
    work = tempfile.mkdtemp(prefix="bw-report-bench-")
    procs = []
    out = {"projects": args.projects, "events": args.events}
    try:
        plan = os.path.join(work, "plan.csv")
        with open(plan, "w") as f:
            subprocess.run([sys.executable, os.path.join(HERE, "gen_plan.py"), str(args.projects)],
                           stdout=f, check=True)
        codes = ["P%09d" % i for i in range(args.projects)]
        rnd = random.Random(19)
        ts = sorted(JAN1 + rnd.randrange(0, 364 * DAY) for _ in range(args.events))
        events = [msgpack.packb({"v": 1, "type": "disbursement", "src": "bank", "id": str(i),
                                 "project": codes[(i * 1000003) % args.projects],
                                 "amount": rnd.randint(1, 100000), "ts": t})
                  for i, t in enumerate(ts)]
        conf = os.path.join(work, "d.conf")
        ctl = "ipc://%s/control.sock" % work
        with open(conf, "w") as f:
            f.write("[daemon]\nplan = %s\nstate_dir = %s\nruntime_dir = %s\nfiscal_year = 2022\n"
                    "clock = event\n[endpoints]\nevents_ack = ipc://%s/ev.sock\nalerts_pub = "
                    "ipc://%s/al.sock\ncontrol = %s\n[alerts]\nrepeat_interval = 0\n"
                    % (plan, work, work, work, work, ctl))
        env = dict(os.environ, BUDGETWATCH_CONTROL=ctl, BUDGETWATCH_EVENTS="ipc://%s/ev.sock" % work,
                   TZ="Asia/Shanghai")
        d = subprocess.Popen([daemon, "-c", conf], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(work, "d.log"), "w"))
        procs.append(d)
        subprocess.run([cli, "ping", "--wait", "120"], env=env, check=True, stdout=subprocess.DEVNULL)
        # A window of acks in flight and no resends (bwc_client_push resends
        # its whole window after a second without an ack, which a long commit
        # — 100,000 milestone alerts at 06-30 — turns into a storm of duplicates).
        dealer = zmq.Context.instance().socket(zmq.DEALER)
        dealer.connect("ipc://%s/ev.sock" % work)
        t0 = time.monotonic()
        sent = acked = 0
        while acked < len(events):
            while sent < len(events) and sent - acked < 2000:
                dealer.send(events[sent])
                sent += 1
            if not dealer.poll(120000):
                raise SystemExit("no ack for 120 s; see %s/d.log" % work)
            while dealer.poll(0):
                a = msgpack.unpackb(dealer.recv(), raw=False)
                assert a["status"] == "accepted", a
                acked += 1
        out["ingest_events_per_s"] = round(args.events / (time.monotonic() - t0))
        dealer.close()
        subprocess.run([cli, "advance", "--to", str(JAN1 + 365 * DAY)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        sock = zmq.Context.instance().socket(zmq.REQ)
        sock.connect(ctl)

        def ask(**req):
            t = time.monotonic()
            sock.send(msgpack.packb(req))
            r = msgpack.unpackb(sock.recv(), raw=False)
            assert r["ok"], r
            return time.monotonic() - t

        instants = [JAN1 + k * 30 * DAY + 3600 for k in range(12)]
        lat = sorted(ask(op="status", at=t, limit=1) for t in instants)
        out["status_at_limit1_s"] = {"median": round(lat[len(lat) // 2], 3), "max": round(lat[-1], 3)}
        lat = sorted(ask(op="status", at=t) for t in instants[:4])
        out["status_at_all_rows_s"] = {"median": round(lat[len(lat) // 2], 3), "max": round(lat[-1], 3)}
        out["status_now_all_rows_s"] = round(ask(op="status"), 3)
        out["series_department_s"] = round(ask(op="series"), 3)
        t = subprocess.run(["/usr/bin/time", "-f", "%e %M", cli, "report", "--month", "2022-06",
                            "--json"], env=env, check=True, capture_output=True, text=True)
        secs, kib = t.stderr.strip().splitlines()[-1].split()
        out["report_json"] = {"seconds": float(secs), "peak_rss_mib": round(int(kib) / 1024, 1)}
        out["history_june_s"] = round(ask(op="history", since=JAN1 + 151 * DAY,
                                          until=JAN1 + 181 * DAY + 1), 3)
        xlsx = os.path.join(work, "r.xlsx")
        t = subprocess.run(["/usr/bin/time", "-f", "%e %M", cli, "report", "--month", "2022-06",
                            "--xlsx", xlsx], env=env, check=True, capture_output=True, text=True)
        secs, kib = t.stderr.strip().splitlines()[-1].split()
        out["report_xlsx"] = {"seconds": float(secs), "peak_rss_mib": round(int(kib) / 1024, 1),
                              "bytes": os.path.getsize(xlsx)}
        for name, extra in (("metrics_scrape_units_s", []),
                            ("metrics_scrape_per_project_s",
                             ["--per-project", "on", "--max-projects", str(args.projects)])):
            e = subprocess.Popen([exporter, "--listen", "127.0.0.1:0", "--control", ctl,
                                  "--timeout-ms", "60000"] + extra, stdout=subprocess.PIPE, text=True)
            procs.append(e)
            port = int(re.search(r":(\d+)/metrics", e.stdout.readline()).group(1))
            best = None
            for _ in range(3):
                t = time.monotonic()
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=300) as r:
                    body = r.read()
                dt = time.monotonic() - t
                best = dt if best is None else min(best, dt)
            out[name] = {"seconds": round(best, 3), "bytes": len(body)}
            e.terminate()
            e.wait(30)
        print(json.dumps(out, indent=1))
        with open(os.path.join(build, "report-bench.json"), "w") as f:
            json.dump(out, f, indent=1)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
