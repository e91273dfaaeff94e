#!/usr/bin/python3
"""budgetwatch-web benchmark: the overview and a project-list page at
100,000 projects, a project with 10,000 payments (its page and paging through
all of them), and the delivery latency of one alert to 100 open Server-Sent
Events connections. Times are seen by a client on loopback, so they include
the console's round trips to the daemon. Not a test: numbers, printed and
written to BUILD/web-bench.json.

usage: web_bench.py BUILD_DIR [--quick]"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def summary(name, ms):
    return {"what": name, "n": len(ms), "p50_ms": round(pct(ms, 50), 2), "p99_ms": round(pct(ms, 99), 2),
            "max_ms": round(max(ms), 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    os.environ.setdefault("BW_DAEMON", os.path.join(build, "daemon", "budgetwatchd"))
    os.environ.setdefault("BW_CLI", os.path.join(build, "clients", "budgetwatch"))
    os.environ["BW_SOURCE_DIR"] = SOURCE
    from harness import JAN1, DAY, Daemon, event   # after BW_DAEMON is set
    from test_web import WEB, Http, free_port

    nproj = 5000 if args.quick else 100000
    npay = 1000 if args.quick else 10000
    nreq = 30 if args.quick else 200
    nsse = 20 if args.quick else 100
    tmp = tempfile.mkdtemp(prefix="bw-webbench-")
    plan = os.path.join(tmp, "plan.csv")
    with open(plan, "w") as f:
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_plan.py"), str(nproj)], stdout=f, check=True)
    d = Daemon(plan=plan, extra="repeat_interval = 0\n")
    d.start(timeout=300)
    results = {"projects": nproj, "payments": npay}
    web = None
    try:
        code = "P%09d" % 0
        budget = 10 ** 15
        evs = [event("bench", "p%d" % i, code, 1000 + i, JAN1 + (i % 170) * DAY) for i in range(npay)]
        d.send_reliable(evs)
        d.ok("advance", to=JAN1 + 180 * DAY)
        port = free_port()
        acc = os.path.join(tmp, "accounts")
        subprocess.run([WEB, "passwd", "-f", acc, "bench", "handler"], input="bench-secret\n", text=True,
                       check=True, capture_output=True)
        conf = os.path.join(tmp, "web.conf")
        with open(conf, "w") as f:
            f.write("[web]\nlisten = 127.0.0.1:%d\naccounts = %s\nstatic_dir = %s\n[daemon]\ncontrol = %s\n"
                    "alerts = %s\ntimeout = 30000\n" % (port, acc, os.path.join(SOURCE, "clients", "web", "static"),
                                                         d.ctl_ep, d.pub_ep))
        log = open(os.path.join(tmp, "web.log"), "ab")
        web = subprocess.Popen([WEB, "-c", conf], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                Http(port).request("GET", "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        h = Http(port)
        h.login("bench", "bench-secret")

        def timed(path, n):
            ms = []
            for i in range(n):
                p = path(i) if callable(path) else path
                t0 = time.perf_counter()
                status, _, body = h.request("GET", p)
                ms.append((time.perf_counter() - t0) * 1000)
                assert status == 200, (p, status, body[:300])
            return ms

        pages = max(1, nproj // 50)
        rows = [
            summary("GET / (总览 page)", timed("/", nreq)),
            summary("GET /api/v1/overview", timed("/api/v1/overview", nreq)),
            summary("GET /projects?page=k (plan order)", timed(lambda i: "/projects?page=%d" % (i * 7919 % pages), nreq)),
            summary("GET /projects?sort=paid&desc=1&page=k", timed(lambda i: "/projects?sort=paid&desc=1&page=%d" % (i * 7919 % pages), nreq)),
            summary("GET /projects?q=… (search)", timed(lambda i: "/projects?q=%09d" % (i * 37 % nproj), nreq)),
            summary("GET /project (%d payments: first page)" % npay, timed("/project?code=" + code, nreq)),
            summary("GET /alerts (newest 500 active, from the mirror; history of 1000)", timed("/alerts", max(10, nreq // 10))),
        ]
        # Paging through every payment with the cursor.
        ms, before, seen = [], 0, 0
        while True:
            t0 = time.perf_counter()
            status, _, body = h.request("GET", "/api/v1/project?code=%s%s" % (code, "&before=%d" % before if before else ""))
            ms.append((time.perf_counter() - t0) * 1000)
            p = json.loads(body)["payments"]
            seen += len(p["payments"])
            if "next" not in p:
                break
            before = p["next"]
        assert seen == npay, seen
        rows.append(summary("GET /api/v1/project, each page of 50 of %d payments" % npay, ms))
        status, _, _ = h.request("GET", "/api/v1/series?project=" + code)
        results["series"] = "available" if status == 200 else "not in this daemon (HTTP %d)" % status

        # SSE: nsse connections, then alerts made one at a time.
        socks = []
        for _ in range(nsse):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(("GET /events HTTP/1.1\r\nHost: x\r\nCookie: bww_session=%s\r\n\r\n"
                       % h.cookies["bww_session"]).encode())
            got = b""
            while b"event: hello" not in got:
                got += s.recv(65536)
            socks.append(s)
        lat = []
        for k in range(1 if args.quick else 20):
            victim = "P%09d" % (1 + k)
            recv_at = [None] * nsse
            marker = ('"project":"%s"' % victim).encode()

            def reader(i):
                buf = b""
                while marker not in buf:
                    buf += socks[i].recv(65536)
                recv_at[i] = time.perf_counter()
            threads = [threading.Thread(target=reader, args=(i,)) for i in range(nsse)]
            for t in threads:
                t.start()
            t0 = time.perf_counter()
            d.send_reliable([event("bench", "over-%d" % k, victim, 10 ** 13, JAN1 + 180 * DAY)])
            for t in threads:
                t.join(30)
            lat += [(r - t0) * 1000 for r in recv_at if r is not None]
        for s in socks:
            s.close()
        rows.append(summary("alert: event sent → its alert on each of %d SSE connections" % nsse, lat))
        results["rows"] = rows
    finally:
        if web is not None:
            web.terminate()
            web.wait(30)
        d.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print("budgetwatch-web at %d projects, %d payments on one project (series: %s)"
          % (nproj, npay, results["series"]))
    print("%-62s %6s %9s %9s %9s" % ("what", "n", "p50 ms", "p99 ms", "max ms"))
    for r in results["rows"]:
        print("%-62s %6d %9.2f %9.2f %9.2f" % (r["what"], r["n"], r["p50_ms"], r["p99_ms"], r["max_ms"]))
    with open(os.path.join(build, "web-bench.json"), "w") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
