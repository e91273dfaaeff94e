#!/usr/bin/python3
"""Scale measurement: budgetwatchd on a synthetic plan of N projects (default
1,000,000). Reports time to READY=1 on the first start (empty ledger: every
project row is written) and on a restart (state read back), the time of a
SIGHUP reload of the same plan, and the daemon's resident memory after each.

usage: bench/scale.py BUILD_DIR [N]   (e.g. bench/scale.py build 1000000)"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def memory(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                fields[k] = int(v.split()[0]) // 1024
    return "RSS %d MB (peak %d MB)" % (fields["VmRSS"], fields["VmHWM"])


def wait_for(sock, what, t0):
    while True:
        msg = sock.recv(4096).decode()
        if what in msg.split("\n"):
            return time.monotonic() - t0


def run(daemon, d, conf, reload_too):
    ns = os.path.join(d, "notify.sock")
    if os.path.exists(ns):
        os.unlink(ns)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(ns)
    sock.settimeout(600)
    t0 = time.monotonic()
    with open(os.path.join(d, "daemon.log"), "a") as log:
        p = subprocess.Popen([daemon, "-c", conf], env=dict(os.environ, NOTIFY_SOCKET=ns),
                             stderr=log)
    try:
        ready = wait_for(sock, "READY=1", t0)
        out = ["ready after %.2f s, %s" % (ready, memory(p.pid))]
        if reload_too:
            t1 = time.monotonic()
            p.send_signal(signal.SIGHUP)
            wait_for(sock, "RELOADING=1", t1)
            out.append("reload done after %.2f s, %s" % (wait_for(sock, "READY=1", t1),
                                                         memory(p.pid)))
        return out
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait()
        sock.close()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    daemon = os.path.join(build, "daemon", "budgetwatchd")
    with tempfile.TemporaryDirectory(prefix="bw-scale-") as d:
        plan = os.path.join(d, "plan.csv")
        t0 = time.monotonic()
        with open(plan, "w") as f:
            subprocess.run([sys.executable, os.path.join(HERE, "gen_plan.py"), str(n)],
                           stdout=f, check=True)
        print("plan: %d projects, %d MB, generated in %.1f s"
              % (n, os.path.getsize(plan) >> 20, time.monotonic() - t0))
        conf = os.path.join(d, "bw.conf")
        with open(conf, "w") as f:
            f.write("[daemon]\nplan = %s\nstate_dir = %s\nruntime_dir = %s\nclock = event\n"
                    "[endpoints]\nevents_ack = ipc://%s/ack.sock\nalerts_pub = ipc://%s/pub.sock\n"
                    "control = ipc://%s/control.sock\n" % (plan, d, d, d, d, d))
        print("first start:", run(daemon, d, conf, False)[0])
        for line in run(daemon, d, conf, True):
            print("restart:" if line.startswith("ready") else "reload: ", line)


if __name__ == "__main__":
    main()
