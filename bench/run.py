#!/usr/bin/python3
"""budgetwatch benchmarks: the real budgetwatchd beside the raw limits of the
same machine, measured in the same run. Prints a table and writes JSON.

usage: bench/run.py BUILD_DIR [--events N] [--projects N] [--scale-projects N]
                    [--ledger-events N] [--json FILE] [--quick] [--only STEPS]

Each ingest figure comes from a fresh daemon on a fresh ledger; the raw
limits use the same encoded events (bench/bwbench.c). SQLite's raw limit uses
the batch size the daemon itself committed in that run (events / batches)."""

import argparse
import json
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from scale import memory  # noqa: E402


class Daemon:
    def __init__(self, build, root, name, plan, sync="full"):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.exe = os.path.join(build, "daemon", "budgetwatchd")
        d = self.dir
        self.ack, self.pub = "ipc://%s/ack.sock" % d, "ipc://%s/pub.sock" % d
        self.sub, self.ctl = "ipc://%s/sub.sock" % d, "ipc://%s/control.sock" % d
        self.conf = os.path.join(d, "bw.conf")
        with open(self.conf, "w") as f:
            f.write("[daemon]\nplan = %s\nstate_dir = %s\nruntime_dir = %s\nclock = event\n"
                    "[endpoints]\nevents_sub = bind:%s\nevents_ack = %s\nalerts_pub = %s\n"
                    "control = %s\n[store]\nsynchronous = %s\n"
                    % (plan, d, d, self.sub, self.ack, self.pub, self.ctl, sync))
        self.proc = None

    def start(self):
        ns = os.path.join(self.dir, "notify.sock")
        if os.path.exists(ns):
            os.unlink(ns)
        self.nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.nsock.bind(ns)
        t0 = time.monotonic()
        with open(os.path.join(self.dir, "daemon.log"), "a") as log:
            self.proc = subprocess.Popen([self.exe, "-c", self.conf], stderr=log,
                                         env=dict(os.environ, NOTIFY_SOCKET=ns))
        self.notices = []
        self.seen = threading.Condition()
        # Read every notice at once, as systemd does: the datagram queue is
        # short, and a full one blocks the daemon's sd_notify.
        threading.Thread(target=self._read_notices, daemon=True).start()
        self.wait("READY=1")
        return time.monotonic() - t0

    def _read_notices(self):
        while True:
            try:
                msg = self.nsock.recv(4096).decode()
            except OSError:
                return
            with self.seen:
                self.notices.extend(msg.split("\n"))
                self.seen.notify_all()

    def wait(self, what):
        """Waits for a notice not waited for before."""
        with self.seen:
            while what not in self.notices:
                if not self.seen.wait(900):
                    raise RuntimeError("no %s from budgetwatchd" % what)
            del self.notices[:self.notices.index(what) + 1]

    def reload(self):
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGHUP)
        self.wait("RELOADING=1")
        self.wait("READY=1")
        return time.monotonic() - t0

    def stats(self):
        s = zmq.Context.instance().socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.ctl)
        s.send(msgpack.packb({"v": 1, "op": "stats"}))
        if not s.poll(60000):
            raise RuntimeError("no answer to stats from %s" % self.ctl)
        r = msgpack.unpackb(s.recv(), raw=False)
        s.close()
        return r

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()
        self.nsock.shutdown(socket.SHUT_RDWR)
        self.nsock.close()


def bwbench(build, *args, check=True):
    out = subprocess.run([os.path.join(build, "bench", "bwbench"), *map(str, args)],
                         capture_output=True, text=True)
    if out.returncode != 0 and (check or not out.stdout):
        sys.exit("bwbench %s failed (%d): %s%s" % (" ".join(map(str, args)), out.returncode,
                                                   out.stderr, out.stdout))
    return json.loads(out.stdout)


def gen_plan(path, n):
    with open(path, "w") as f:
        subprocess.run([sys.executable, os.path.join(HERE, "gen_plan.py"), str(n)], stdout=f,
                       check=True)


def ingest(build, root, plan, a, results):
    """Both paths, both synchronous modes, with the raw limits beside them."""
    n, p, window = a.events, a.projects, 1000
    raw_ack = bwbench(build, "raw-ack", n, p, window)
    raw_pub = bwbench(build, "raw-pubsub", n, p)
    for sync in ("normal", "full"):
        for path in ("ack", "sub"):
            d = Daemon(build, root, "%s-%s" % (path, sync), plan, sync)
            d.start()
            if path == "ack":
                r = bwbench(build, "ack", d.ack, n, p, window)
            else:
                r = bwbench(build, "pub", d.sub, d.ctl, n, p)
            st = d.stats()
            d.stop()
            batch = max(1, round(n / max(1, st["batches"])))
            raw_sql = bwbench(build, "raw-sqlite", os.path.join(root, "raw-%s-%s.db" % (path, sync)),
                              n, p, batch, sync)
            raw_zmq = raw_ack if path == "ack" else raw_pub
            limit = min(raw_zmq["rate"], raw_sql["rate"])
            results.append({"what": "ingest", "path": path, "synchronous": sync, "events": n,
                            "projects": p, "rate": r["rate"], "accepted": st["accepted"],
                            "batches": st["batches"], "batch": batch,
                            "raw_zmq_rate": raw_zmq["rate"], "raw_sqlite_rate": raw_sql["rate"],
                            "ratio_to_slower_raw": r["rate"] / limit})


def latency(build, root, plan, a, results):
    """The daemon's send->ack and event->alert, then the raw limit with the
    same sender and events: bare DEALER/ROUTER, decode, one events row each,
    one commit (synchronous = full) per turn drained, then the acks. Also one
    commit per row, for a second only: it cannot keep up with the rate."""
    d = Daemon(build, root, "latency", plan)
    d.start()
    r = bwbench(build, "latency", d.ack, d.pub, 10000, a.latency_seconds, a.projects)
    st = d.stats()
    d.stop()
    raw = bwbench(build, "raw-latency", os.path.join(root, "raw-latency.db"), 10000,
                  a.latency_seconds, a.projects, "turn")
    row = bwbench(build, "raw-latency", os.path.join(root, "raw-latency-row.db"), 10000, 1,
                  a.projects, "row", check=False)
    r["what"] = "latency"
    r["batches"] = st["batches"]
    for k in ("p50", "p99", "p999", "max"):
        r["raw_ack_%s_ms" % k] = raw["ack_%s_ms" % k]
        r["raw_row_ack_%s_ms" % k] = row["ack_%s_ms" % k]
    r["raw_commits"], r["raw_turn_ms"] = raw["commits"], raw["turn_ms"]
    r["raw_row_events"], r["raw_row_acks"] = row["events"], row["acks"]
    r["raw_row_commit_ms"] = row["turn_ms"]
    r["ack_p99_ratio_to_raw"] = r["ack_p99_ms"] / raw["ack_p99_ms"]
    r["alert_p99_ratio_to_raw"] = r["alert_p99_ms"] / raw["ack_p99_ms"]
    results.append(r)


def scale(build, root, a, results):
    plan = os.path.join(root, "scale-plan.csv")
    gen_plan(plan, a.scale_projects)
    e = bwbench(build, "engine", plan, 1000000)
    e["what"] = "engine"
    results.append(e)
    d = Daemon(build, root, "scale", plan)
    first = d.start()
    mem_first = memory(d.proc.pid)
    d.stop()
    restart = d.start()
    mem = memory(d.proc.pid)
    reload = d.reload()
    mem_reload = memory(d.proc.pid)
    d.stop()
    results.append({"what": "scale", "projects": a.scale_projects, "first_start_s": first,
                    "restart_s": restart, "reload_s": reload, "memory": mem,
                    "memory_first_start": mem_first, "memory_after_reload": mem_reload})


def ledger_restart(build, root, plan, a, results):
    d = Daemon(build, root, "ledger", plan)
    d.start()
    fill = bwbench(build, "ack", d.ack, a.ledger_events, a.projects, 1000)
    d.stop()
    t = d.start()
    st = d.stats()
    d.stop()
    # What the damage checks cost on this ledger (same SQLite, a connection of
    # its own): quick_check, and the full integrity_check the daemon's worker
    # runs daily; then --verify, which is integrity_check plus the totals
    # recomputed from every event.
    db = os.path.join(d.dir, "ledger.db")
    t0 = time.monotonic()
    con = sqlite3.connect(db)
    quick = con.execute("PRAGMA quick_check").fetchone()[0]
    quick_s = time.monotonic() - t0
    t0 = time.monotonic()
    full = con.execute("PRAGMA integrity_check").fetchone()[0]
    full_s = time.monotonic() - t0
    con.close()
    t0 = time.monotonic()
    v = subprocess.run([d.exe, "-c", d.conf, "--verify"], capture_output=True, text=True)
    verify_s = time.monotonic() - t0
    if quick != "ok" or full != "ok" or v.returncode != 0:
        sys.exit("bench/run.py: the benchmark's ledger does not check: %s %s" % (quick, v.stdout))
    results.append({"what": "ledger_restart", "events_in_ledger": st["events_in_ledger"],
                    "fill_rate": fill["rate"], "restart_s": t, "quick_check_s": quick_s, "integrity_check_s": full_s,
                    "verify_s": verify_s, "ledger_mb": os.path.getsize(db) >> 20})


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    return {"cores": os.cpu_count(), "cpu": cpu, "kernel": platform.release()}


def table(results, m):
    print("\nbudgetwatch benchmarks on %d cores (%s), kernel %s" % (m["cores"], m["cpu"], m["kernel"]))
    print("\n%-6s %-7s %12s %12s %12s %7s %7s" % ("path", "sync", "daemon ev/s", "raw zmq", "raw sqlite",
                                                  "batch", "ratio"))
    for r in results:
        if r["what"] == "ingest":
            print("%-6s %-7s %12.0f %12.0f %12.0f %7d %6.0f%%" % (
                r["path"], r["synchronous"], r["rate"], r["raw_zmq_rate"], r["raw_sqlite_rate"],
                r["batch"], 100 * r["ratio_to_slower_raw"]))
    for r in results:
        if r["what"] == "latency":
            print("\nat %d events/s: send->ack p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms (%d of %d acked,"
                  " %d commits); event->alert p50 %.2f ms, p99 %.2f ms (%d of %d)" % (
                      r["rate"], r["ack_p50_ms"], r["ack_p99_ms"], r["ack_p999_ms"], r["acks"],
                      r["events"], r["batches"], r["alert_p50_ms"], r["alert_p99_ms"], r["alerts"],
                      r["triggers"]))
            print("raw limit, same sender and events (DEALER/ROUTER, decode, insert, one commit a turn"
                  " with synchronous = full, then the acks; %d commits): send->ack p50 %.2f ms,"
                  " p99 %.2f ms, p99.9 %.2f ms, max %.2f ms" % (
                      r["raw_commits"], r["raw_ack_p50_ms"], r["raw_ack_p99_ms"],
                      r["raw_ack_p999_ms"], r["raw_ack_max_ms"]))
            print("daemon p99 / raw p99: ack %.2f, alert %.2f" % (
                r["ack_p99_ratio_to_raw"], r["alert_p99_ratio_to_raw"]))
            print("one commit per row instead (%d events at the same rate): %.3f ms a commit"
                  " (%.0f commits/s at most), send->ack p50 %.2f ms, p99 %.2f ms (%d acked)" % (
                      r["raw_row_events"], r["raw_row_commit_ms"], 1e3 / r["raw_row_commit_ms"],
                      r["raw_row_ack_p50_ms"], r["raw_row_ack_p99_ms"], r["raw_row_acks"]))
        elif r["what"] == "engine":
            print("\nengine, %d projects: plan parse %.2f s, engine build %.2f s, %.3f us per event"
                  " (apply + evaluate), %.3f us per time-driven transition (%d), %d bytes per project" % (
                      r["projects"], r["plan_parse_s"], r["engine_new_s"], r["event_us"],
                      r["timer_us_per_transition"], r["transitions_by_time"], r["bytes_per_project"]))
        elif r["what"] == "scale":
            print("daemon, %d projects: first start %.2f s (%s), restart %.2f s (%s), reload %.2f s (%s)" % (
                r["projects"], r["first_start_s"], r["memory_first_start"], r["restart_s"], r["memory"],
                r["reload_s"], r["memory_after_reload"]))
        elif r["what"] == "ledger_restart":
            print("restart with %d events in the ledger (%d MB): serving after %.2f s;"
                  " quick_check %.1f s, integrity_check %.1f s, budgetwatchd --verify"
                  " (integrity_check + totals) %.1f s" % (
                      r["events_in_ledger"], r["ledger_mb"], r["restart_s"], r["quick_check_s"],
                      r["integrity_check_s"], r["verify_s"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--events", type=int, default=2000000)
    ap.add_argument("--projects", type=int, default=100000)
    ap.add_argument("--scale-projects", type=int, default=1000000)
    ap.add_argument("--ledger-events", type=int, default=10000000)
    ap.add_argument("--latency-seconds", type=int, default=20)
    ap.add_argument("--json", default="bench-results.json")
    ap.add_argument("--quick", action="store_true", help="a small run, to see that it works")
    ap.add_argument("--only", default="ingest,latency,scale,ledger_restart",
                    help="the steps to run, comma-separated (default: all)")
    a = ap.parse_args()
    if a.quick:
        a.events, a.projects, a.scale_projects, a.ledger_events, a.latency_seconds = \
            200000, 20000, 100000, 300000, 3
    build = os.path.abspath(a.build)
    results = []
    with tempfile.TemporaryDirectory(prefix="bw-bench-") as root:
        class Log(list):
            def append(self, r):
                super().append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
        results = Log()
        plan = os.path.join(root, "plan.csv")
        gen_plan(plan, a.projects)
        for step in a.only.split(","):
            print("running %s ..." % step, file=sys.stderr, flush=True)
            if step == "ingest":
                ingest(build, root, plan, a, results)
            elif step == "latency":
                latency(build, root, plan, a, results)
            elif step == "scale":
                scale(build, root, a, results)
            elif step == "ledger_restart":
                ledger_restart(build, root, plan, a, results)
            else:
                sys.exit("bench/run.py: unknown step %r (ingest, latency, scale, ledger_restart)"
                         % step)
    m = machine()
    table(results, m)
    with open(a.json, "w") as f:
        json.dump({"machine": m, "args": vars(a), "results": results}, f, indent=1)
    print("\nJSON: %s" % os.path.abspath(a.json))


if __name__ == "__main__":
    main()
