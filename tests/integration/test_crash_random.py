"""Randomized crash consistency, in the spirit of SQLite's crash tests and
Jepsen: a seeded generator writes histories of steps — acknowledged and SUB
events, duplicates, refunds, budget adjustments, SIGKILL at rest and in the
middle of a batch, SIGTERM, SIGHUP with the plan unchanged, with projects
dropped, put back, or with new budgets, verify, advance, replay_rejected — and
runs each against the real budgetwatchd (event clock, ipc:// sockets, a real
SQLite ledger in a temporary directory). After every step the daemon's figures
are compared with a model the test computes from what the daemon acknowledged
alone:

* every status row (projects in plan order, unit subtotals, 部门整体): budget
  (plan budget or the latest adjustment), paid, paid_fiscal, paid_other,
  shortfall, rate_bp, planned_bp, lag_bp, pace_bp, projects — all integer
  arithmetic, to the fen and the basis point — and the clock (`at`);
* the alert states that follow from the figures alone: overspend iff
  paid > budget, milestone iff the latest deadline passed is missed, year_end,
  and lag wherever its hysteresis leaves one answer (two where it does not);
  `firing`/`severity` of every row and the `alerts` list agree with them;
* `stats`: events in the ledger, dead letters pending, accepted / duplicate /
  rejected-by-class counts of the running process, no sequence gaps;
* a restart or an unchanged reload publishes nothing: the alert seq and the
  `alerts` reply are the same after it;
* `verify` (a step of its own, and at the end) finds the totals consistent.
  It is not run after every step because it saves every project row, which
  would hide what a SIGKILL does to rows not yet saved.

Nothing sleeps to synchronise: readiness is READY=1 on the notify socket,
events are acknowledged, SUB events are counted by `stats`, and a SUB
publisher is an XPUB that has seen the daemon's subscription.

Environment: BW_CRASH_SEED (default 20221231, so that CI is repeatable;
"random" draws one; always printed), BW_CRASH_STEPS
(steps per history on the bundled plan), BW_CRASH_HISTORIES (histories on the
bundled plan), BW_CRASH_BIG_STEPS / BW_CRASH_BIG_PROJECTS (the history on a
generated plan; BW_CRASH_BIG_STEPS=0 skips it), BW_CRASH_ONLY (run only the
named histories, e.g. "2" or "big,0"), BW_CRASH_KEEP=1 (keep the temporary
directory of a failed history). A failure prints the seed, the line to replay
it, the step list and the differences."""

import csv
import datetime
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import unittest
import random

import msgpack
import zmq

from harness import DAEMON, DAY, JAN1, PLAN as BUNDLED_PLAN, SANITIZED, SOURCE_DIR, YEAR_END, Daemon

# ---- configuration --------------------------------------------------------


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


# A fixed seed by default, so that CI runs the same histories every time;
# scripts/crash-soak.sh draws new ones. "random" draws one here too.
SEED = os.environ.get("BW_CRASH_SEED", "").strip() or "20221231"
if SEED == "random":
    SEED = str(random.SystemRandom().randrange(1, 10 ** 9))
STEPS = env_int("BW_CRASH_STEPS", 50 if SANITIZED else 120)
HISTORIES = env_int("BW_CRASH_HISTORIES", 6)
BIG_STEPS = env_int("BW_CRASH_BIG_STEPS", 25 if SANITIZED else 60)
BIG_PROJECTS = env_int("BW_CRASH_BIG_PROJECTS", 3000)
ONLY = [x.strip() for x in os.environ.get("BW_CRASH_ONLY", "").split(",") if x.strip()]
KEEP = os.environ.get("BW_CRASH_KEEP") == "1"
BIG_EXTRA = "repeat_interval = 60d\n"

# The daemon's defaults ([alerts] in budgetwatchd.conf).
LAG_WARNING, LAG_CRITICAL, HYSTERESIS = 1000, 2000, 100
DEFAULT_MILESTONES = "03-31:30;06-30:60;10-31:90;12-31:100"
DEFAULT_TARGET_BP = 9500
NDAYS = 365
SEVERITIES = ("none", "warning", "critical")
KINDS = ("lag", "milestone", "overspend", "year_end")
INT32_MAX, INT32_MIN = 2 ** 31 - 1, -2 ** 31

# ---- the plan -------------------------------------------------------------


def wan_to_fen(text):
    whole, _, frac = text.partition(".")
    return int(whole or "0") * 1000000 + int((frac + "000000")[:6])


def fen_to_wan(fen):
    return "%d.%06d" % (fen // 1000000, fen % 1000000)


def pct_to_bp(text):
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def knots_of(milestones):
    """The schedule as the engine interpolates it: (instant, bp) from (year
    start, 0) through each deadline, the end of that local day."""
    ks = [(JAN1, 0)]
    for item in milestones.split(";"):
        date, _, pct = item.partition(":")
        month, day = (int(x) for x in date.split("-"))
        doy = datetime.date(2022, month, day).timetuple().tm_yday - 1
        ks.append((JAN1 + (doy + 1) * DAY, pct_to_bp(pct)))
    return tuple(ks)


class Plan:
    """The static plan file: rows in file order, their text kept for rewriting."""

    def __init__(self, path):
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            self.header = reader.fieldnames
            self.rows = [dict(r) for r in reader]
        self.codes = [r["project_code"].strip() for r in self.rows]
        self.row = dict(zip(self.codes, self.rows))
        self.unit = {c: self.row[c]["unit_code"].strip() for c in self.codes}
        self.unit_name = {c: self.row[c]["unit_name"].strip() for c in self.codes}
        self.name = {c: self.row[c]["project_name"].strip() for c in self.codes}
        self.budget = {c: wan_to_fen(self.row[c]["budget_wan"].strip()) for c in self.codes}
        self.knots = {c: knots_of((self.row[c].get("milestones") or "").strip() or DEFAULT_MILESTONES)
                      for c in self.codes}
        self.target = {c: pct_to_bp(t) if (t := (self.row[c].get("target_pct") or "").strip())
                       else DEFAULT_TARGET_BP for c in self.codes}
        self.units = []
        for c in self.codes:
            if self.unit[c] not in self.units:
                self.units.append(self.unit[c])

    def write(self, path, dropped, budgets):
        """Writes the plan without the dropped projects and with the budgets
        changed (code -> fen), keeping the order of the rest."""
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.header, lineterminator="\n")
            w.writeheader()
            for code, r in zip(self.codes, self.rows):
                if code in dropped:
                    continue
                if code in budgets:
                    r = dict(r)
                    r["budget_wan"] = fen_to_wan(budgets[code])
                    if (r.get("fiscal_wan") or "").strip():
                        r["fiscal_wan"] = r["budget_wan"]   # the fiscal part may not exceed it
                w.writerow(r)
        os.replace(tmp, path)


# ---- the engine's arithmetic, exactly ------------------------------------


def clamp32(v):
    return max(INT32_MIN, min(INT32_MAX, v))


def planned_frac(knots, t):
    if t <= knots[0][0]:
        return 0, 1
    for i in range(1, len(knots)):
        if t < knots[i][0]:
            (t0, b0), (t1, b1) = knots[i - 1], knots[i]
            return b0 * (t1 - t0) + (b1 - b0) * (t - t0), t1 - t0
    return knots[-1][1], 1


def pace_bp(now):
    days = 0 if now <= JAN1 else NDAYS if now >= YEAR_END else (now - JAN1) // DAY
    return days * 10000 // NDAYS


def lag_allowed(lag):
    """The lag alert's possible severities: hysteresis makes the bands just
    under each threshold depend on the history of the project."""
    if lag >= LAG_CRITICAL:
        return {"critical"}
    if lag >= LAG_CRITICAL - HYSTERESIS:
        return {"critical", "warning"}
    if lag >= LAG_WARNING:
        return {"warning"}
    if lag >= LAG_WARNING - HYSTERESIS:
        return {"warning", "none"}
    return {"none"}


# ---- the model --------------------------------------------------------------


def ev_key(ev):
    return (ev["src"], ev["id"])


def pack(ev):
    m = {"v": 1, "type": ev["type"], "src": ev["src"], "id": ev["id"], "project": ev["project"],
         "amount": ev["amount"], "ts": ev["ts"]}
    for k in ("unit", "seq", "fund", "ref"):
        if ev.get(k) is not None:
            m[k] = ev[k]
    return msgpack.packb(m)


def fund_ix(ev):
    return 1 if ev.get("fund") == "other" else 0


class Model:
    """What the daemon must show, computed from the events it accepted."""

    def __init__(self, plan):
        self.plan = plan
        self.dropped = set()
        self.plan_budget = {}            # code -> fen, where the plan file was changed
        self.adjusted = {}               # code -> fen, the latest adjustment
        self.ledger = {}                 # (src, id) -> accepted event
        self.paid = {c: [0, 0] for c in plan.codes}
        self.refunded = {}               # (src, ref) -> fen refunded against it
        self.now = JAN1
        self.dead = []                   # pending dead letters: events, oldest first

    def clone(self):
        m = Model.__new__(Model)
        m.plan = self.plan
        m.dropped = set(self.dropped)
        m.plan_budget = dict(self.plan_budget)
        m.adjusted = dict(self.adjusted)
        m.ledger = dict(self.ledger)
        m.paid = {c: list(v) for c, v in self.paid.items()}
        m.refunded = dict(self.refunded)
        m.now = self.now
        m.dead = list(self.dead)
        return m

    def active(self):
        return [c for c in self.plan.codes if c not in self.dropped]

    def budget(self, code):
        if code in self.adjusted:
            return self.adjusted[code]
        return self.plan_budget.get(code, self.plan.budget[code])

    # -- one event, in the daemon's order of checks (daemon/ingest.c) --
    def judge(self, ev):
        """'accepted', 'duplicate' or 'rejected:<class>' for ev now; and whether
        it passes the plan checks (then its ts moves the event clock)."""
        p = ev["project"]
        if ev["amount"] <= 0 or ev.get("fund") not in (None, "fiscal", "other"):
            return "rejected:malformed", False
        if p not in self.plan.unit or p in self.dropped:
            return "rejected:unknown_project", False
        if ev.get("unit") is not None and ev["unit"] != self.plan.unit[p]:
            return "rejected:unit_mismatch", False
        if not JAN1 <= ev["ts"] < YEAR_END:
            return "rejected:out_of_year", False
        if ev_key(ev) in self.ledger:
            return "duplicate", True
        if ev["type"] == "refund":
            if ev.get("ref"):
                orig = self.ledger.get((ev["src"], ev["ref"]))
                if orig is None or orig["type"] != "disbursement" or orig["project"] != p:
                    return "rejected:bad_refund", True
                if ev["amount"] > orig["amount"] - self.refunded.get((ev["src"], ev["ref"]), 0):
                    return "rejected:bad_refund", True
            if ev["amount"] > self.paid[p][fund_ix(ev)]:
                return "rejected:bad_refund", True
        return "accepted", True

    def ingest(self, ev):
        """Applies ev as the daemon would; returns what it must be acked."""
        want, clocked = self.judge(ev)
        if clocked and ev["ts"] > self.now:
            self.now = ev["ts"]
        if want == "accepted":
            self.ledger[ev_key(ev)] = ev
            sign = -1 if ev["type"] == "refund" else 1
            self.paid[ev["project"]][fund_ix(ev)] += sign * ev["amount"]
            if ev["type"] == "refund" and ev.get("ref"):
                k = (ev["src"], ev["ref"])
                self.refunded[k] = self.refunded.get(k, 0) + ev["amount"]
        return want

    def replay(self):
        """replay_rejected: every pending dead letter again, oldest first.
        Returns the statuses."""
        out, keep = [], []
        for ev in self.dead:
            st = self.ingest(ev)
            out.append(st)
            if st.startswith("rejected"):
                keep.append(ev)
        self.dead = keep
        return out

    # -- figures --
    def project_figures(self, code):
        budget = self.budget(code)
        f, o = self.paid[code]
        paid = f + o
        num, den = planned_frac(self.plan.knots[code], self.now)
        planned_fen = num * budget // (den * 10000)
        rate = clamp32(paid * 10000 // budget)
        planned = clamp32(num // den)
        return {"budget": budget, "paid": paid, "paid_fiscal": f, "paid_other": o,
                "shortfall": planned_fen - paid, "rate_bp": rate, "planned_bp": planned,
                "lag_bp": planned - rate, "pace_bp": pace_bp(self.now), "projects": 1,
                "_planned_fen": planned_fen}

    def expected_alerts(self, code, fig):
        """kind -> set of possible severities ('none' = not active)."""
        knots = self.plan.knots[code]
        due = sum(1 for t, _ in knots[1:] if t <= self.now)
        missed = due > 0 and fig["rate_bp"] < knots[due][1]
        return {"lag": lag_allowed(fig["lag_bp"]),
                "milestone": {"critical" if missed else "none"},
                "overspend": {"critical" if fig["paid"] > fig["budget"] else "none"},
                "year_end": {"critical" if self.now >= YEAR_END and fig["rate_bp"] < self.plan.target[code]
                             else "none"}}

    def sum_figures(self, figs):
        s = {k: sum(f[k] for f in figs) for k in ("budget", "paid", "paid_fiscal", "paid_other",
                                                  "_planned_fen", "projects")}
        s["shortfall"] = s["_planned_fen"] - s["paid"]
        s["rate_bp"] = clamp32(s["paid"] * 10000 // s["budget"]) if s["budget"] > 0 else 0
        s["planned_bp"] = clamp32(s["_planned_fen"] * 10000 // s["budget"]) if s["budget"] > 0 else 0
        s["lag_bp"] = s["planned_bp"] - s["rate_bp"]
        s["pace_bp"] = pace_bp(self.now)
        return s


# ---- step descriptions ----------------------------------------------------


def ts_text(ts):
    d, s = divmod(ts - JAN1, DAY)
    return "d%d+%05d" % (d, s)


def ev_text(ev):
    t = "disb" if ev["type"] == "disbursement" else "refund"
    s = "%s/%s %s %s %d" % (ev["src"], ev["id"], t, ev["project"], ev["amount"])
    if ev.get("fund"):
        s += " " + ev["fund"]
    if ev.get("ref"):
        s += " ref=" + ev["ref"]
    if ev.get("unit") is not None:
        s += " unit=" + ev["unit"]
    if ev.get("seq") is not None:
        s += " seq=%d" % ev["seq"]
    s += " ts=" + ts_text(ev["ts"])
    if ev.get("expect"):
        s += " [%s]" % ev["expect"]
    return s


def step_text(st, full=False):
    k = st["kind"]
    evs = st.get("events")
    head = k
    if k == "batch":
        head = "batch%s: %d events on ROUTER/DEALER, window %d" % (
            " (%s)" % st["label"] if st.get("label") else "", len(evs), st["window"])
    elif k == "sub":
        head = "sub: %d events on SUB (no acks; counted through stats)" % len(evs)
    elif k == "dups":
        head = "dups: %d resends of accepted events (some with other amount/ts)" % len(evs)
    elif k == "kill_mid":
        head = "kill_mid: %d events on %s, SIGKILL after %d %s, restart, resend the rest on ROUTER" % (
            len(evs), st["path"], st["after"], "acks" if st["path"] == "ack" else "counted")
    elif k == "kill":
        head = {"rest": "kill: SIGKILL at rest, restart",
                "term": "kill: SIGTERM and at once SIGKILL (during the clean stop), restart",
                "verify": "kill: verify requested and at once SIGKILL (during its saves), restart"}[
                    st.get("during", "rest")]
    elif k == "term":
        head = "term: SIGTERM (exit 0), restart"
    elif k == "hup":
        how = "SIGHUP" if st["how"] == "signal" else "control reload"
        ch = st["change"]
        if ch == "none":
            head = "hup: %s, plan unchanged" % how
        elif ch == "drop":
            head = "hup: %s, plan without %s" % (how, " ".join(st["codes"]))
        elif ch == "restore":
            head = "hup: %s, plan with %s back" % (how, " ".join(st["codes"]))
        else:
            head = "hup: %s, plan budgets %s" % (how, " ".join("%s=%d" % kv for kv in sorted(st["budgets"].items())))
        if st.get("kill"):
            head += "; SIGKILL %s, restart" % ("at once" if st["kill"] == "at_once" else "after RELOADING=1")
    elif k == "adjust":
        head = "adjust: " + " ".join("%s=%d" % (c, b) for c, b in st["items"])
    elif k == "advance":
        head = "advance: to %s" % ts_text(st["to"])
    elif k == "verify":
        head = "verify"
    elif k == "replay":
        head = "replay_rejected"
    if evs:
        shown = evs if full else evs[:3]
        head += ": " + "; ".join(ev_text(e) for e in shown)
        if len(shown) < len(evs):
            head += "; ... (+%d)" % (len(evs) - len(shown))
    return head


# ---- the generator ----------------------------------------------------------


class Generator:
    """Writes one history: a list of steps, a function of the seed alone. It
    runs its own model as if the daemon were right, so that refunds name
    accepted disbursements, drops name projects with fresh payments, and every
    event carries the ack the model expects."""

    SRC_SEQ = "treasury"     # carries seq; never sends an event that is refused
    SRC_BANK = "bank"        # no seq; also sends the events that must be refused
    SRC_SUB = "sub"          # the SUB path

    def __init__(self, rnd, plan, steps, big, prefix):
        self.r = rnd
        self.plan = plan
        self.nsteps = steps
        self.big = big
        self.prefix = prefix
        self.m = Model(plan)
        self.cursor = JAN1 + DAY // 2
        self.adv = max(60, (300 * DAY) // max(1, steps))
        self.ids = 0
        self.seq = 0
        self.recent = []
        n = len(plan.codes)
        batch_avg = 450 if big else 15
        # Spread each project's payments so that rates cross every threshold.
        self.per_project = max(1, int(steps * 0.45 * batch_avg / n))

    def new_id(self, src):
        self.ids += 1
        return "%s-%d" % (src[0], self.ids)

    def tick(self, scale=1):
        self.cursor = min(YEAR_END - 2 * DAY, self.cursor + self.r.randint(0, 2 * self.adv * scale))
        return self.cursor

    def ts(self):
        if self.r.random() < 0.1:       # a late payment: before the clock
            return max(JAN1, self.cursor - self.r.randint(0, 20 * DAY))
        return min(YEAR_END - 1, self.cursor + self.r.randint(0, 3600))

    def pick_active(self):
        act = self.m.active()
        return act[self.r.randrange(len(act))]

    def disbursement(self, src, code=None, amount=None):
        code = code or self.pick_active()
        b = self.m.budget(code)
        if amount is None:
            if self.r.random() < 0.03:
                amount = b + self.r.randint(1, max(1, b // 10))       # overspends at once
            else:
                amount = self.r.randint(1, max(1, 2 * b // self.per_project))
        ev = {"type": "disbursement", "src": src, "id": self.new_id(src), "project": code,
              "amount": amount, "ts": self.ts()}
        r = self.r.random()
        if r < 0.3:
            ev["fund"] = "other"
        elif r < 0.5:
            ev["fund"] = "fiscal"
        if self.r.random() < 0.3:
            ev["unit"] = self.plan.unit[code]
        return ev

    def refund(self, src):
        """A valid refund of a disbursement of src, or None if there is none."""
        cands = [e for k, e in self.m.ledger.items() if k[0] == src and e["type"] == "disbursement"
                 and e["project"] not in self.m.dropped]
        self.r.shuffle(cands)
        for orig in cands[:20]:
            left = orig["amount"] - self.m.refunded.get(ev_key(orig), 0)
            left = min(left, self.m.paid[orig["project"]][fund_ix(orig)])
            if left <= 0:
                continue
            amount = left if self.r.random() < 0.2 else self.r.randint(1, left)
            ev = {"type": "refund", "src": src, "id": self.new_id(src), "project": orig["project"],
                  "amount": amount, "ts": self.ts(), "ref": orig["id"]}
            if orig.get("fund"):
                ev["fund"] = orig["fund"]
            return ev
        return None

    def bad(self):
        """An event from the bank that the daemon must refuse (most of the time:
        the model judges, so a 'bad' one that is in fact fine is expected fine)."""
        kind = self.r.choice(["unknown", "unknown", "unit", "year", "over", "wrongproj", "noref", "below",
                              "malformed"])
        if kind == "malformed":         # decodable src and id: its ack must name them
            ev = self.disbursement(self.SRC_BANK)
            if self.r.random() < 0.5:
                ev["amount"] = 0
            else:
                ev["fund"] = "cash"
            return ev
        if kind == "unknown":
            if self.m.dropped and self.r.random() < 0.8:
                code = self.r.choice(sorted(self.m.dropped))
            else:
                code = "NO-SUCH-%d" % self.r.randint(1, 5)
            ev = self.disbursement(self.SRC_BANK, code=self.pick_active())
            ev["project"] = code
            ev.pop("unit", None)
            return ev
        if kind == "unit":
            ev = self.disbursement(self.SRC_BANK)
            ev["unit"] = "X" + self.plan.unit[ev["project"]]
            return ev
        if kind == "year":
            ev = self.disbursement(self.SRC_BANK)
            ev["ts"] = self.r.choice([JAN1 - 1, JAN1 - 40 * DAY, YEAR_END, YEAR_END + 3 * DAY])
            return ev
        if kind in ("over", "wrongproj"):
            ev = self.refund(self.SRC_BANK)
            if ev is None:
                return self.disbursement(self.SRC_BANK)
            orig = self.m.ledger[(self.SRC_BANK, ev["ref"])]
            if kind == "over":
                ev["amount"] = orig["amount"] - self.m.refunded.get(ev_key(orig), 0) + self.r.randint(1, 100)
            else:
                others = [c for c in self.m.active() if c != orig["project"]]
                if others:
                    ev["project"] = self.r.choice(others)
            return ev
        if kind == "noref":
            code = self.pick_active()
            return {"type": "refund", "src": self.SRC_BANK, "id": self.new_id(self.SRC_BANK),
                    "project": code, "amount": self.r.randint(1, 1000), "ts": self.ts(),
                    "ref": "never-sent-%d" % self.r.randint(1, 10 ** 6)}
        code = self.pick_active()            # a refund without ref, past what was paid
        return {"type": "refund", "src": self.SRC_BANK, "id": self.new_id(self.SRC_BANK),
                "project": code, "amount": self.m.paid[code][0] + self.r.randint(1, 1000),
                "ts": self.ts()}

    def finish_events(self, evs, only_accepted=False):
        """Runs the events through the model in order; notes what each must be
        acked. Treasury events get their seq here, in sending order."""
        out = []
        seen = set()
        for ev in evs:
            if ev is None or ev_key(ev) in seen:
                continue
            want, _ = self.m.judge(ev)
            if only_accepted and want != "accepted":
                continue
            if ev["src"] == self.SRC_SEQ:
                if want != "accepted":
                    continue        # a refused event would leave a hole in the seq
                if "seq" not in ev:
                    self.seq += 1
                    ev["seq"] = self.seq
            seen.add(ev_key(ev))
            ev["expect"] = self.m.ingest(ev)
            if ev["expect"].startswith("rejected"):
                self.m.dead.append(ev)
            out.append(ev)
        self.recent = [e["project"] for e in out if e["expect"] == "accepted"] + self.recent[:50]
        return out

    def mixed_events(self, n, bad_share=0.0, refund_share=0.15):
        self.tick()
        evs = []
        for _ in range(n):
            x = self.r.random()
            src = self.SRC_SEQ if self.r.random() < 0.5 else self.SRC_BANK
            if x < bad_share:
                evs.append(self.bad())
            elif x < bad_share + refund_share:
                evs.append(self.refund(src) or self.disbursement(src))
            else:
                evs.append(self.disbursement(src))
        return evs

    def batch_size(self):
        if self.big:
            return self.r.randint(100, 800)
        return self.r.choice([1, 2, 3, self.r.randint(1, 30), self.r.randint(10, 40)])

    # -- step kinds --
    def s_batch(self, label=None, n=None, bad_share=None, one_each=False):
        if one_each:
            self.tick()
            evs = [self.disbursement(self.r.choice([self.SRC_SEQ, self.SRC_BANK]), code=c)
                   for c in self.m.active()]
            self.r.shuffle(evs)
        else:
            if bad_share is None:
                bad_share = 0.04
            evs = self.mixed_events(n or self.batch_size(), bad_share=bad_share)
        evs = self.finish_events(evs)
        window = self.r.choice([1, 8, 64, max(1, len(evs))])
        return {"kind": "batch", "label": label, "events": evs, "window": window}

    def s_refunds(self):
        self.tick()
        evs = [self.refund(self.r.choice([self.SRC_SEQ, self.SRC_BANK])) for _ in range(self.r.randint(1, 12))]
        evs += [self.bad() for _ in range(self.r.randint(0, 3))]
        self.r.shuffle(evs)
        evs = self.finish_events(evs)
        return {"kind": "batch", "label": "refunds", "events": evs, "window": max(1, len(evs))}

    def s_bad(self):
        return self.s_batch(label="refusals", n=self.r.randint(2, 12), bad_share=0.6)

    def old_events(self, n):
        olds = [e for e in self.m.ledger.values() if e["project"] not in self.m.dropped]
        self.r.shuffle(olds)
        out = []
        for e in olds[:n]:
            e = {k: v for k, v in e.items() if k != "expect"}
            if self.r.random() < 0.3:     # same (src, id), another payload: still counts once
                e["amount"] = e["amount"] + self.r.randint(1, 1000)
                e["ts"] = min(YEAR_END - 1, max(e["ts"], self.cursor) + self.r.randint(0, DAY))
            out.append(e)
        return out

    def s_dups(self):
        evs = self.old_events(self.r.randint(1, 40 if self.big else 12))
        # A refused resend (project dropped since) is a dead letter: fine too.
        evs = self.finish_events(evs)
        return {"kind": "dups", "events": evs, "window": max(1, len(evs))}

    def s_sub(self):
        self.tick()
        evs = [self.disbursement(self.SRC_SUB) for _ in range(self.batch_size())]
        evs += self.old_events(self.r.randint(0, 5))
        self.r.shuffle(evs)
        return {"kind": "sub", "events": self.finish_events(evs, only_accepted=False)}

    def s_kill_mid(self):
        path = self.r.choice(["ack", "ack", "sub"])
        if path == "sub":
            self.tick()
            evs = [self.disbursement(self.SRC_SUB) for _ in range(self.batch_size())]
        else:
            evs = self.mixed_events(self.batch_size() + (0 if self.big else 5), refund_share=0.15)
        evs = self.finish_events(evs, only_accepted=True)
        after = self.r.randint(0, max(0, len(evs) - 1)) if self.r.random() < 0.8 else 0
        return {"kind": "kill_mid", "path": path, "events": evs, "after": after,
                "window": self.r.choice([1, 4, 16, max(1, len(evs))])}

    def s_adjust(self):
        items = []
        for _ in range(self.r.randint(1, 3)):
            if self.m.dropped and self.r.random() < 0.1:
                code = self.r.choice(sorted(self.m.dropped))      # refused: not in the plan
            else:
                code = self.pick_active()
            paid = sum(self.m.paid[code])
            x = self.r.random()
            if x < 0.3 and paid > 1:
                b = self.r.randint(max(1, paid // 2), paid - 1)        # overspent now
            elif x < 0.5 and paid > 0:
                b = paid + self.r.randint(0, max(1, paid // 5))        # just enough
            else:
                b = max(1, self.plan.budget[code] * self.r.randint(50, 150) // 100)
            items.append((code, b))
            if code not in self.m.dropped:
                self.m.adjusted[code] = b
        return {"kind": "adjust", "items": items}

    def hup_how(self):
        return "signal" if self.r.random() < 0.75 else "op"

    def hup_kill(self, st):
        x = self.r.random()
        if x < 0.1:
            st["kill"] = "at_once"
        elif x < 0.2 and st["how"] == "signal":
            st["kill"] = "after_notice"
        return st

    def s_hup(self):
        return self.hup_kill({"kind": "hup", "how": self.hup_how(), "change": "none"})

    def s_hup_drop(self, prefer_recent=False):
        act = self.m.active()
        room = len(act) - max(1, (2 * len(self.plan.codes)) // 3)
        if room <= 0:
            return self.s_hup()
        pool = [c for c in dict.fromkeys(self.recent) if c in act]
        if not pool or (not prefer_recent and self.r.random() < 0.5):
            pool = list(act)
        self.r.shuffle(pool)
        n = (min(room, 6 if not self.big else 150) if prefer_recent else
             min(room, self.r.randint(1, 3 if not self.big else 30)))
        codes = pool[:n]
        self.m.dropped |= set(codes)
        if prefer_recent:       # the opening aimed at rows not saved yet: no kill
            return {"kind": "hup", "how": self.hup_how(), "change": "drop", "codes": codes}
        return self.hup_kill({"kind": "hup", "how": self.hup_how(), "change": "drop", "codes": codes})

    def s_hup_restore(self):
        dropped = sorted(self.m.dropped)
        self.r.shuffle(dropped)
        codes = dropped[:self.r.randint(1, len(dropped))]
        self.m.dropped -= set(codes)
        return self.hup_kill({"kind": "hup", "how": self.hup_how(), "change": "restore", "codes": codes})

    def s_hup_budget(self):
        budgets = {}
        for _ in range(self.r.randint(1, 3 if not self.big else 20)):
            code = self.r.choice(self.plan.codes)
            paid = sum(self.m.paid[code])
            if self.r.random() < 0.4 and paid > 1:
                b = self.r.randint(max(1, paid // 2), paid)
            else:
                b = max(1, self.plan.budget[code] * self.r.randint(30, 200) // 100)
            budgets[code] = b
        self.m.plan_budget.update(budgets)
        return self.hup_kill({"kind": "hup", "how": self.hup_how(), "change": "budget", "budgets": budgets})

    def s_advance(self):
        if self.r.random() < 0.15 and self.done > 0.9 * self.nsteps:
            to = YEAR_END
        else:
            to = min(YEAR_END - 2 * DAY, max(self.m.now, self.cursor) + self.r.randint(DAY // 2, 3 * self.adv))
            to = max(to, self.m.now)
            self.cursor = max(self.cursor, min(to, YEAR_END - 2 * DAY))
        self.m.now = max(self.m.now, to)
        return {"kind": "advance", "to": to}

    def s_kill(self):
        return {"kind": "kill", "during": self.r.choice(["rest", "rest", "rest", "rest", "term", "verify"])}

    def s_simple(self, kind):
        return {"kind": kind}

    def step(self, name):
        if name == "batch1":        # one payment to every project, in one burst: the fresh-ledger case
            st = self.s_batch(label="one to each project", one_each=True)
            st["window"] = max(1, len(st["events"]))
            return st
        if name == "bigbatch":
            st = self.s_batch(label="many", n=(1500 if self.big else 60), bad_share=0.0)
            st["window"] = max(1, len(st["events"]))
            return st
        if name == "restore_all":
            codes = sorted(self.m.dropped)
            self.m.dropped.clear()
            return self.hup_kill({"kind": "hup", "how": self.hup_how(), "change": "restore", "codes": codes})
        if name == "kill_rest":
            return {"kind": "kill", "during": "rest"}
        if name == "drop_recent":
            return self.s_hup_drop(prefer_recent=True)
        return {"batch": self.s_batch, "refunds": self.s_refunds, "bad": self.s_bad,
                "dups": self.s_dups, "sub": self.s_sub, "kill_mid": self.s_kill_mid,
                "adjust": self.s_adjust, "hup": self.s_hup, "hup_drop": self.s_hup_drop,
                "hup_restore": self.s_hup_restore, "hup_budget": self.s_hup_budget,
                "advance": self.s_advance, "kill": self.s_kill,
                "term": lambda: self.s_simple("term"), "verify": lambda: self.s_simple("verify"),
                "replay": lambda: self.s_simple("replay")}[name]()

    WEIGHTS = [("batch", 24), ("sub", 8), ("dups", 5), ("refunds", 7), ("bad", 4), ("adjust", 6),
               ("kill", 7), ("kill_mid", 8), ("term", 4), ("hup", 4), ("hup_drop", 4),
               ("hup_restore", 4), ("hup_budget", 4), ("verify", 3), ("advance", 3), ("replay", 2)]

    def history(self):
        steps = []
        names = list(self.prefix)
        self.done = 0
        year_end_at = int(self.nsteps * 0.9) if self.r.random() < 0.6 else -1
        while len(steps) < self.nsteps:
            if len(steps) == year_end_at:
                steps.append({"kind": "advance", "to": YEAR_END})     # the year-end alerts
                self.m.now = max(self.m.now, YEAR_END)
                self.done += 1
                continue
            if names:
                name = names.pop(0)
            else:
                ok = [(k, w) for k, w in self.WEIGHTS
                      if (k != "hup_restore" or self.m.dropped) and (k != "replay" or self.m.dead)]
                name = self.r.choices([k for k, _ in ok], [w for _, w in ok])[0]
            if name == "replay":
                self.m.replay()
            st = self.step(name)
            if st.get("events") == []:
                continue
            steps.append(st)
            self.done += 1
        steps.append({"kind": "verify"})
        return steps


# ---- running a history --------------------------------------------------------


class Failure(Exception):
    pass


def stats_counts(stats):
    return {"accepted": stats["accepted"], "duplicates": stats["duplicates"],
            **{"rejected:" + k: v for k, v in stats["rejected"].items()}}


class Runner:
    """Runs the steps against a real daemon and checks it against the model
    after each one."""

    def __init__(self, name, seed_text, plan, plan_src, steps, replay_line, extra=""):
        self.name = name
        self.seed_text = seed_text
        self.plan = plan
        self.steps = steps
        self.replay_line = replay_line
        self.dir = tempfile.mkdtemp(prefix="bw-crash-")
        self.plan_path = os.path.join(self.dir, "plan.csv")
        shutil.copy(plan_src, self.plan_path)
        self.d = Daemon(plan=self.plan_path, directory=self.dir, extra=extra)
        self.m = Model(plan)
        self.ctx = self.d.ctx
        self.tally = {}
        self.step_no = -1
        self.seen = set()           # kind/severity of the alerts seen active
        self.summary = ""
        self.restarts = 0

    # -- process --
    def start(self):
        self.restarts += 1
        self.d.start()
        self.tally = {"accepted": 0, "duplicates": 0}

    def count(self, status):
        """One event processed by the running process, as stats names it."""
        key = {"duplicate": "duplicates"}.get(status, status)
        self.tally[key] = self.tally.get(key, 0) + 1

    def kill(self):
        self.d.kill()

    # -- sockets --
    def send_acked(self, events, window, kill_after=None, timeout=60):
        """Sends events on one DEALER with `window` in flight; returns
        {(src, id): ack}. With kill_after, SIGKILLs the daemon once that many
        acks are in (0: as soon as everything is sent)."""
        s = self.d.dealer()
        acks = {}
        try:
            keys = [ev_key(e) for e in events]
            pending = set()
            sent = 0
            deadline = time.monotonic() + timeout
            while sent < len(events) or pending:
                while sent < len(events) and len(pending) < window:
                    s.send(pack(events[sent]))
                    pending.add(keys[sent])
                    sent += 1
                if kill_after is not None and len(acks) >= kill_after:
                    self.kill()
                    while s.poll(0):        # acks already on their way are still acks
                        a = msgpack.unpackb(s.recv(), raw=False)
                        acks[(a["src"], a["id"])] = a
                    return acks
                left = deadline - time.monotonic()
                if self.d.proc.poll() is not None:
                    raise Failure("budgetwatchd exited %s with %d event(s) unacknowledged" % (
                        self.d.proc.returncode, len(pending)))
                if left <= 0:
                    raise Failure("no ack within %d s for %d event(s), e.g. %s" % (
                        timeout, len(pending), sorted(pending)[:3]))
                if not s.poll(min(1000, max(1, int(left * 1000)))):
                    continue
                while s.poll(0):
                    a = msgpack.unpackb(s.recv(), raw=False)
                    k = (a["src"], a["id"])
                    if k not in pending:
                        raise Failure("ack for an event not in flight: %r%s" % (a, (
                            " (PROTOCOL §1.2: src and id are empty only when the message could not "
                            "be read at all)") if k == ("", "") else ""))
                    pending.discard(k)
                    acks[k] = a
                    if kill_after is not None and len(acks) >= kill_after:
                        break
        finally:
            s.close()
        return acks

    def xpub(self):
        """A publisher to the daemon's SUB socket that has seen its subscription."""
        x = self.ctx.socket(zmq.XPUB)
        x.setsockopt(zmq.LINGER, 0)
        x.setsockopt(zmq.SNDHWM, 0)
        x.setsockopt(zmq.XPUB_VERBOSE, 1)
        x.connect(self.d.sub_ep)
        if not x.poll(30000):
            x.close()
            raise Failure("the daemon's SUB socket never subscribed")
        sub = x.recv()
        if sub != b"\x01disb.":
            x.close()
            raise Failure("unexpected subscription %r" % sub)
        return x

    def publish(self, x, events):
        for ev in events:
            topic = "disb.%s.%s" % (self.plan.unit.get(ev["project"], "x"), ev["project"])
            x.send_multipart([topic.encode(), pack(ev)])

    def wait_counted(self, n, timeout=60):
        """Polls stats until the running process has processed n events in all
        (accepted + duplicates + rejected); returns that stats reply."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.d.ok("stats")
            c = stats_counts(st)
            if sum(c.values()) >= n:
                return st
            if time.monotonic() > deadline:
                raise Failure("SUB events not all counted within %d s: the daemon counts %s, "
                              "%d events expected in all" % (timeout, c, n))

    # -- acks against the model --
    def judge_acks(self, events, acks, resent=(), current=None):
        """Feeds the events to the model in sending order and compares each ack
        with what the model expects. Events in `resent` were in flight at a
        SIGKILL and sent again: duplicate then also means counted. The acks of
        `current` (default: all) came from the running process: its stats
        count them."""
        bad = []
        for ev in events:
            k = ev_key(ev)
            a = acks.get(k)
            want, _ = self.m.judge(ev)
            got = a["status"] if a else "no ack"
            got_full = got + (":" + a.get("reason", "") if got == "rejected" else "")
            if a and (current is None or k in current):
                self.count(got if got != "rejected" else want if want.startswith("rejected") else "rejected:?")
            if k in resent:
                if want != "accepted" or got not in ("accepted", "duplicate"):
                    bad.append("event %s resent after the SIGKILL: acked %s, the model expects "
                               "accepted (or duplicate)" % (ev_text(ev), got_full))
                self.m.ingest(ev)
                continue
            if not (got == want or (want.startswith("rejected") and got == "rejected")):
                bad.append("event %s: acked %s, the model expects %s%s" % (
                    ev_text(ev), got_full, want, self.why(ev)))
            st = self.m.ingest(ev)
            if st.startswith("rejected"):
                self.m.dead.append(ev)
        if bad:
            raise Failure("\n".join(bad[:10]) + ("\n... (%d in all)" % len(bad) if len(bad) > 10 else ""))

    def why(self, ev):
        p = ev["project"]
        if p not in self.m.paid:
            return ""
        s = " (model: project paid fiscal %d other %d" % tuple(self.m.paid[p])
        if ev.get("ref"):
            k = (ev["src"], ev["ref"])
            o = self.m.ledger.get(k)
            if o:
                s += ", %s paid %d, %d refunded against it" % (ev["ref"], o["amount"], self.m.refunded.get(k, 0))
        return s + ")"

    # -- checks --
    def check(self, what):
        """Every figure the model can compute, against status, alerts and stats."""
        diffs = []
        st = self.d.ok("status")
        al = self.d.ok("alerts")
        stats = self.d.ok("stats")
        m = self.m
        if st["at"] != m.now:
            diffs.append("clock: status 'at' model %s (%d) daemon %s (%d)" % (
                ts_text(m.now), m.now, ts_text(st["at"]), st["at"]))
        active = m.active()
        rows = st["projects"]
        got_codes = [r["project"] for r in rows]
        if got_codes != active:
            missing = [c for c in active if c not in got_codes]
            extra = [c for c in got_codes if c not in active]
            diffs.append("status rows: %d in the daemon, %d in the model; missing %s, not expected %s%s" % (
                len(got_codes), len(active), missing[:10], extra[:10],
                "" if missing or extra else " (order differs)"))
        alerts = {}
        for a in al["alerts"]:
            alerts.setdefault(a.get("project"), {})[a["kind"]] = a
            if a["state"] != "firing":      # nothing is ever acknowledged here
                diffs.append("alert %s/%s is %s" % (a["kind"], a.get("project"), a["state"]))
            self.seen.add("%s/%s" % (a["kind"], a["severity"]))
        figs = {}
        proj_diffs = []
        for r in rows:
            c = r["project"]
            if c not in m.paid:
                continue
            f = figs[c] = m.project_figures(c)
            bad = ["%s model %d daemon %d" % (k, f[k], r[k]) for k in
                   ("paid", "paid_fiscal", "paid_other", "budget", "shortfall", "rate_bp", "planned_bp",
                    "lag_bp", "pace_bp", "projects") if r[k] != f[k]]
            if r["unit"] != m.plan.unit[c] or r["project_name"] != m.plan.name[c] or \
                    r["unit_name"] != m.plan.unit_name[c]:
                bad.append("unit/name %s/%s/%s, plan %s/%s/%s" % (
                    r["unit"], r["unit_name"], r["project_name"], m.plan.unit[c], m.plan.unit_name[c], m.plan.name[c]))
            want = m.expected_alerts(c, f)
            got = {k: a["severity"] for k, a in alerts.get(c, {}).items()}
            for k in KINDS:
                g = got.get(k, "none")
                if g not in want[k]:
                    bad.append("%s alert model %s daemon %s" % (k, "/".join(sorted(want[k])), g))
            if r["firing"] != len(got):
                bad.append("firing %d but %d active alerts listed" % (r["firing"], len(got)))
            worst = max([SEVERITIES.index(s) for s in got.values()] + [0])
            if r["severity"] != SEVERITIES[worst]:
                bad.append("severity %s but the worst active alert is %s" % (r["severity"], SEVERITIES[worst]))
            if bad:
                proj_diffs.append("project %s (unit %s): %s" % (c, m.plan.unit[c], "; ".join(bad)))
        for c in alerts:
            if c not in figs:
                diffs.append("alerts lists %s for project %s, which is not in the plan" % (sorted(alerts[c]), c))
        if proj_diffs:
            diffs.append("%d project row(s) differ from the model:\n    " % len(proj_diffs) +
                         "\n    ".join(proj_diffs[:12]) + ("\n    ..." if len(proj_diffs) > 12 else ""))
        # Unit subtotals and the department total, from the model's own rows.
        units = []
        for c in active:
            if m.plan.unit[c] not in units:
                units.append(m.plan.unit[c])
        got_units = [u["unit"] for u in st["units"]]
        if got_units != units:
            diffs.append("units: daemon %s, model %s" % (got_units, units))
        by_code = {r["project"]: r for r in rows}
        for u in st["units"]:
            members = [c for c in active if m.plan.unit[c] == u["unit"]]
            diffs += self.sum_diffs("unit %s" % u["unit"], u, [c for c in members if c in figs], figs, by_code)
        diffs += self.sum_diffs("部门整体 (total)", st["total"], [c for c in active if c in figs], figs, by_code)
        # Stats.
        want_stats = {"events_in_ledger": len(m.ledger), "dead_letters_pending": len(m.dead),
                      "projects": len(active), "gaps": 0, "restarts": 0, "alert_seq": al["seq"]}
        for k, v in want_stats.items():
            if stats[k] != v:
                diffs.append("stats %s model %d daemon %d" % (k, v, stats[k]))
        counts = stats_counts(stats)
        for k in set(counts) | set(self.tally):
            if counts.get(k, 0) != self.tally.get(k, 0):
                diffs.append("stats %s since the start model %d daemon %d" % (
                    k.replace("rejected:", "rejected."), self.tally.get(k, 0), counts.get(k, 0)))
        if diffs:
            raise Failure("after %s:\n  " % what + "\n  ".join(diffs))
        return st, al

    def sum_diffs(self, label, row, members, figs, by_code):
        s = self.m.sum_figures([figs[c] for c in members])
        bad = ["%s model %d daemon %d" % (k, s[k], row[k]) for k in
               ("paid", "paid_fiscal", "paid_other", "budget", "shortfall", "rate_bp", "planned_bp",
                "lag_bp", "pace_bp", "projects") if row[k] != s[k]]
        firing = sum(by_code[c]["firing"] for c in members if c in by_code)
        worst = max([SEVERITIES.index(by_code[c]["severity"]) for c in members if c in by_code] + [0])
        if row["firing"] != firing:
            bad.append("firing %d, its rows %d" % (row["firing"], firing))
        if row["severity"] != SEVERITIES[worst]:
            bad.append("severity %s, its rows' worst %s" % (row["severity"], SEVERITIES[worst]))
        return ["%s: %s" % (label, "; ".join(bad))] if bad else []

    def same_alerts(self, before, what):
        after = self.d.ok("alerts")
        log = self.d.ok("history", limit=1)["alerts"]
        if (log[-1]["seq"] if log else 0) != after["seq"]:
            raise Failure("after %s the alert log's newest seq is %s, but the alert seq is %d" % (
                what, log[-1]["seq"] if log else "none", after["seq"]))
        if after == before:
            return
        new = [a for a in self.d.ok("history", limit=50)["alerts"] if a["seq"] > before["seq"]]
        lines = ["%s/%s %s %s paid %d budget %d" % (a["kind"], a.get("project", a.get("src")), a["state"],
                                                    a["severity"], a.get("paid", 0), a.get("budget", 0))
                 for a in new[:10]]
        raise Failure("%s published or changed alerts: seq %d -> %d%s" % (
            what, before["seq"], after["seq"], (":\n    " + "\n    ".join(lines)) if lines else
            " (the active alerts differ)"))

    # -- the steps --
    def run_step(self, st):
        k = st["kind"]
        if k in ("batch", "dups"):
            acks = self.send_acked(st["events"], st["window"])
            self.judge_acks(st["events"], acks)
            self.check(k)
        elif k == "sub":
            x = self.xpub()
            try:
                self.publish(x, st["events"])
                tally_before = sum(self.tally.values())
                for ev in st["events"]:
                    s = self.m.ingest(ev)
                    if s.startswith("rejected"):
                        self.m.dead.append(ev)
                    self.count(s)
                self.wait_counted(tally_before + len(st["events"]))
            finally:
                x.close()
            self.check("the SUB events")
        elif k == "kill_mid":
            evs = st["events"]
            if st["path"] == "ack":
                acks = self.send_acked(evs, st["window"], kill_after=st["after"])
            else:
                x = self.xpub()
                try:
                    self.publish(x, evs)
                    if st["after"]:
                        self.wait_counted(sum(self.tally.values()) + st["after"])
                    self.kill()
                finally:
                    x.close()
                acks = {}
            if self.d.proc.poll() is None:
                self.kill()
            # What was committed of the batch is not known until the resend:
            # the model is compared after it.
            self.start()
            rest = [e for e in evs if ev_key(e) not in acks]
            again = self.send_acked(rest, max(1, len(rest))) if rest else {}
            acks.update(again)
            self.judge_acks(evs, acks, resent={ev_key(e) for e in rest}, current=set(again))
            self.check("the resend of %d event(s) in flight at the SIGKILL" % len(rest))
        elif k in ("kill", "term"):
            before = self.d.ok("alerts")
            if k == "kill":
                during = st.get("during", "rest")
                if during == "term":            # in the middle of the clean stop's saves
                    self.d.proc.send_signal(signal.SIGTERM)
                elif during == "verify":        # in the middle of verify's saves
                    req = self.ctx.socket(zmq.REQ)
                    req.setsockopt(zmq.LINGER, 0)
                    req.connect(self.d.ctl_ep)
                    req.send(msgpack.packb({"op": "verify"}))
                self.kill()
                if during == "verify":
                    req.close()
            else:
                rc = self.d.stop()
                if rc != 0:
                    raise Failure("SIGTERM: budgetwatchd exited %d" % rc)
            self.start()
            self.check("the restart")
            self.same_alerts(before, "a restart with no new event")
        elif k == "hup":
            before = self.d.ok("alerts")
            ch = st["change"]
            if ch == "drop":
                self.m.dropped |= set(st["codes"])
            elif ch == "restore":
                self.m.dropped -= set(st["codes"])
            elif ch == "budget":
                self.m.plan_budget.update(st["budgets"])
            self.plan.write(self.plan_path, self.m.dropped, self.m.plan_budget)
            if st.get("kill"):
                # SIGKILL while the reload runs (or before it began): the
                # restart reads the new plan, and nothing may be lost.
                if st["how"] == "signal":
                    self.d.proc.send_signal(signal.SIGHUP)
                    if st["kill"] == "after_notice":
                        self.d.wait_notice("RELOADING=1")
                else:
                    req = self.ctx.socket(zmq.REQ)
                    req.setsockopt(zmq.LINGER, 0)
                    req.connect(self.d.ctl_ep)
                    req.send(msgpack.packb({"op": "reload"}))
                self.kill()
                if st["how"] != "signal":
                    req.close()
                self.start()
                self.check("the restart after a SIGKILL during the reload")
                if ch == "none":
                    self.same_alerts(before, "a reload with the plan unchanged, killed, and a restart")
            elif st["how"] == "signal":
                self.d.proc.send_signal(signal.SIGHUP)
                self.d.wait_notice("RELOADING=1")
                self.d.wait_notice("READY=1")
            else:
                r = self.d.control("reload")
                if not r.get("ok"):
                    raise Failure("reload: %s" % r.get("error"))
                self.d.wait_notice("RELOADING=1")       # consumed, so that a later SIGHUP
                self.d.wait_notice("READY=1")           # waits for its own
                if r["projects"] != len(self.m.active()):
                    raise Failure("reload says %d projects, the plan has %d" % (r["projects"], len(self.m.active())))
            if "reload failed" in self.d.logtext():
                raise Failure("the daemon refused the plan: see its log")
            if not st.get("kill"):
                self.check("the reload")
            if ch == "none" and not st.get("kill"):
                self.same_alerts(before, "a reload with the plan unchanged")
            for c in st.get("codes", []) if ch == "drop" else []:
                r = self.d.control("status", project=c)
                if r.get("ok"):
                    raise Failure("status of dropped project %s answered ok" % c)
        elif k == "adjust":
            for code, b in st["items"]:
                old = self.m.budget(code) if code in self.m.paid else None
                r = self.d.control("adjust", project=code, budget=b, reason="crash test")
                if code in self.m.dropped:
                    if r.get("ok"):
                        raise Failure("adjust of dropped project %s answered ok" % code)
                    continue
                if not r.get("ok"):
                    raise Failure("adjust %s to %d failed: %s" % (code, b, r.get("error")))
                if r["old_budget"] != old or r["project"]["budget"] != b:
                    raise Failure("adjust %s: old_budget model %d daemon %d; new budget %d, row says %d" % (
                        code, old, r["old_budget"], b, r["project"]["budget"]))
                self.m.adjusted[code] = b
            self.check("the adjustment")
        elif k == "advance":
            r = self.d.ok("advance", to=st["to"])
            self.m.now = max(self.m.now, st["to"])
            if r["now"] != self.m.now:
                raise Failure("advance: now model %d daemon %d" % (self.m.now, r["now"]))
            self.check("advance")
        elif k == "verify":
            r = self.d.ok("verify")
            if not r["consistent"] or r["differences"]:
                diffs = r["differences"]
                lines = ["%s: saved fiscal %d other %d, ledger fiscal %d other %d%s" % (
                    x["project"], x["saved_fiscal"], x["saved_other"], x["ledger_fiscal"], x["ledger_other"],
                    " (dropped from the plan)" if x["project"] in self.m.dropped else "")
                    for x in diffs[:12]]
                raise Failure("verify: consistent=%s, %d difference(s):\n    %s" % (
                    r["consistent"], len(diffs), "\n    ".join(lines)))
            self.check("verify")
        elif k == "replay":
            pending = list(self.m.dead)
            statuses = self.m.replay()
            for s in statuses:
                self.count(s)
            r = self.d.ok("replay_rejected")
            want = (len(pending), sum(1 for s in statuses if s == "accepted"),
                    sum(1 for s in statuses if s.startswith("rejected")))
            got = (r["replayed"], r["accepted"], r["still_rejected"])
            if got != want:
                raise Failure("replay_rejected (replayed, accepted, still_rejected): model %s daemon %s; "
                              "dead letters: %s" % (want, got, "; ".join(ev_text(e) for e in pending[:8])))
            self.check("replay_rejected")
        else:
            raise AssertionError(k)

    def run(self):
        """Returns None, or the failure report."""
        t0 = time.monotonic()
        try:
            self.start()
            self.check("the first start")
            for i, st in enumerate(self.steps):
                self.step_no = i
                self.run_step(st)
            self.step_no = len(self.steps)
            stats = self.d.ok("stats")
            self.summary = "%d events in the ledger, %d dead letters, %d alerts, %d starts; alerts seen: %s" % (
                stats["events_in_ledger"], stats["dead_letters_pending"], stats["alert_seq"], self.restarts,
                " ".join(sorted(self.seen)) or "none")
            rc = self.d.stop()
            if rc != 0:
                raise Failure("the final SIGTERM: budgetwatchd exited %d" % rc)
            log = self.d.logtext()
            for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if mark in log:
                    raise Failure("sanitizer report in the daemon's log")
        except (Failure, AssertionError, zmq.ZMQError, KeyError, TypeError) as e:
            return self.report(e)
        finally:
            self.elapsed = time.monotonic() - t0
            self.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return None

    def close(self):
        d = self.d
        if d.proc and d.proc.poll() is None:
            d.proc.send_signal(signal.SIGTERM)
            try:
                d.proc.wait(60)
            except subprocess.TimeoutExpired:
                d.proc.kill()
                d.proc.wait()
        d.close_notify()

    def report(self, e):
        i = self.step_no
        where = ("step %d of %d (%s)" % (i, len(self.steps), self.steps[i]["kind"]) if 0 <= i < len(self.steps)
                 else "the start" if i < 0 else "the end")
        detail = str(e) if isinstance(e, Failure) else "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
        lines = ["history %s FAILED at %s" % (self.name, where),
                 "  seed: %s" % self.seed_text,
                 "  replay: %s" % self.replay_line,
                 detail, "", "steps (>> the failing one; every event of it listed):"]
        for j, st in enumerate(self.steps):
            mark = ">>" if j == i else "  "
            lines.append("%s #%d %s" % (mark, j, step_text(st, full=(j == i))))
            if j > i + 2 and j < len(self.steps) - 1:
                lines.append("   ... %d more step(s) not run" % (len(self.steps) - 1 - j))
                break
        log = self.d.logtext().splitlines() if os.path.exists(self.d.log_path) else []
        lines.append("daemon log (last 25 lines of %d):" % len(log))
        lines += ["  | " + x for x in log[-25:]]
        if KEEP:
            lines.append("kept: %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return "\n".join(lines)


# ---- the histories ----------------------------------------------------------

# Openings that reach the cases a random walk finds rarely: a crash or a reload
# right after the first commits of a new ledger, a project dropped while it has
# unsaved payments and then put back.
PREFIXES = [
    ["batch1", "kill_rest"],
    ["batch1", "hup"],
    ["batch", "batch", "kill_mid"],
    ["batch", "term", "bigbatch", "drop_recent", "batch", "restore_all"],
    ["sub", "kill_rest"],
    ["bigbatch", "drop_recent", "restore_all"],
    ["batch1", "kill_mid"],
    [],
]


def big_plan(path, n, seed):
    gen = os.path.join(SOURCE_DIR, "bench", "gen_plan.py")
    with open(path, "w", encoding="utf-8") as f:
        subprocess.run([sys.executable, gen, str(n), "--seed", str(seed), "--per-unit", "250"],
                       stdout=f, check=True)


class CrashRandom(unittest.TestCase):
    def setUp(self):
        if not DAEMON:
            self.fail("BW_DAEMON is not set; run the integration tests through ctest")

    def histories(self):
        out = []
        for h in range(HISTORIES):
            out.append((str(h), BUNDLED_PLAN, STEPS, False,
                        PREFIXES[h] if h < len(PREFIXES) else
                        PREFIXES[random.Random("%s-%d-prefix" % (SEED, h)).randrange(len(PREFIXES))]))
        if BIG_STEPS > 0:
            out.append(("big", None, BIG_STEPS, True, ["bigbatch", "kill_rest", "bigbatch", "drop_recent", "batch",
                                                       "restore_all"]))
        return [x for x in out if not ONLY or x[0] in ONLY]

    def test_random_histories(self):
        sys.stderr.write("test_crash_random: BW_CRASH_SEED=%s BW_CRASH_STEPS=%d BW_CRASH_HISTORIES=%d "
                         "BW_CRASH_BIG_STEPS=%d BW_CRASH_BIG_PROJECTS=%d%s\n" % (
                             SEED, STEPS, HISTORIES, BIG_STEPS, BIG_PROJECTS, " (ASan)" if SANITIZED else ""))
        failures = []
        total_steps = 0
        t0 = time.monotonic()
        tmp_plans = tempfile.mkdtemp(prefix="bw-crash-plans-")
        try:
            for name, plan_src, nsteps, big, prefix in self.histories():
                seed_text = "%s/%s" % (SEED, name)
                rnd = random.Random(seed_text)
                if big:
                    plan_src = os.path.join(tmp_plans, "big.csv")
                    big_plan(plan_src, BIG_PROJECTS, rnd.randrange(1, 10 ** 6))
                plan = Plan(plan_src)
                steps = Generator(rnd, plan, nsteps, big, prefix).history()
                replay = ("BW_CRASH_SEED=%s BW_CRASH_ONLY=%s BW_CRASH_STEPS=%d BW_CRASH_HISTORIES=%d "
                          "BW_CRASH_BIG_STEPS=%d BW_CRASH_BIG_PROJECTS=%d" % (
                              SEED, name, STEPS, HISTORIES, BIG_STEPS, BIG_PROJECTS))
                # Daily reminders of thousands of firing projects while the event
                # clock jumps weeks per step would be most of the work: fewer.
                runner = Runner(name, seed_text, Plan(plan_src), plan_src, steps, replay,
                                extra=BIG_EXTRA if big else "")
                with self.subTest(history=name, seed=seed_text):
                    rep = runner.run()
                    total_steps += min(len(steps), max(0, runner.step_no))
                    sys.stderr.write("  history %-4s %4d steps on %5d projects: %s in %.1f s\n" % (
                        name, len(steps), len(plan.codes), "ok (%s)" % runner.summary if rep is None else
                        "FAILED at step %d (%s)" % (runner.step_no, steps[runner.step_no]["kind"]
                                                   if 0 <= runner.step_no < len(steps) else "-"),
                        runner.elapsed))
                    if rep is not None:
                        failures.append(name)
                        self.fail("\n" + rep)
        finally:
            shutil.rmtree(tmp_plans, ignore_errors=True)
            sys.stderr.write("test_crash_random: %d steps run in %.1f s; seed %s%s\n" % (
                total_steps, time.monotonic() - t0, SEED,
                "; failed: " + ", ".join(failures) if failures else ""))


if __name__ == "__main__":
    unittest.main()
