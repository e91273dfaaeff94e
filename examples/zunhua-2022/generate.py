#!/usr/bin/python3
"""Generates one realistic, deterministic year (2022) of payments for the Zunhua
plan: monthly pension payrolls, lumpy one-off payments, a few refunds, one
project that overspends, several that fall behind, one that never pays, events
slightly out of order and one duplicate resend.

Writes the events as CSV for `budgetwatch push` and the totals the daemon must
end with, per project, to the fen (expected.json). Same seed, same year."""

import argparse
import csv
import json
import random
import sys

TZ = 8 * 3600                      # Asia/Shanghai, no daylight saving since 1991
JAN1 = 1640966400                  # 2022-01-01 00:00 +08:00
MONTH_STARTS = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]
DAY = 86400


def wan(text):
    whole, _, frac = text.strip().partition(".")
    return int(whole) * 1000000 + int((frac + "000000")[:6])


def at(month, day, hour=10, minute=0):
    """Unix time of a local date in 2022."""
    return JAN1 + (MONTH_STARTS[month - 1] + day - 1) * DAY + hour * 3600 + minute * 60


def read_plan(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [{k: (v or "").strip() for k, v in r.items()} for r in csv.DictReader(f)]


# Who does what, by position in the plan (27 projects). Chosen so that the
# year tells a story: most projects keep pace, some fall behind, one never pays.
NEVER_PAYS = 7          # 建国前老工人工资: no payment all year
OVERSPENDS = 18         # 行政奖励证书款: pays 3 % over its budget
LAGGARDS = {3: 0.55, 11: 0.70, 20: 0.45, 24: 0.80}   # pay this share of the budget, late
LUMPY = {4, 16, 25}     # a few large payments instead of a monthly payroll

# The monthly allocation that meets the 30/60/90/100 plan: per mille of the
# budget paid in each month.
ALLOCATION = [100, 100, 100, 100, 100, 100, 75, 75, 75, 75, 50, 50]


def instalments(budget, dated_permille):
    """Turns cumulative shares into payments; each cumulative total is rounded
    up to the fen so that a share of the plan is never missed by rounding."""
    out, paid, cum = [], 0, 0
    for ts, permille in dated_permille:
        cum += permille
        target = -(-budget * cum // 1000)
        out.append((ts, target - paid))
        paid = target
    return out


def payroll(budget):
    """A payroll on the 15th of every month, following the allocation."""
    return instalments(budget, [(at(m, 15), ALLOCATION[m - 1]) for m in range(1, 13)])


def lumpy(budget, rnd):
    """Four large payments: in February, May, September and December."""
    return instalments(budget, [(at(2, rnd.randint(5, 20)), 300), (at(5, rnd.randint(5, 25)), 300),
                                (at(9, rnd.randint(1, 25)), 300), (at(12, rnd.randint(1, 20)), 100)])


def laggard(budget, share, rnd):
    """Pays only `share` of the budget, in late, uneven instalments."""
    total = int(budget * share)
    parts = [100, 200, 300, 400]
    return [(ts, total * p // 1000 if i < 3 else total - sum(total * q // 1000 for q in parts[:3]))
            for i, (ts, p) in enumerate(zip([at(m, rnd.randint(1, 27)) for m in (4, 7, 9, 11)], parts))]


def year_of(i, budget, rnd):
    if i == NEVER_PAYS:
        return []
    if i == OVERSPENDS:
        return payroll(budget) + [(at(12, 20), budget * 3 // 100)]
    if i in LAGGARDS:
        return laggard(budget, LAGGARDS[i], rnd)
    if i in LUMPY:
        return lumpy(budget, rnd)
    return payroll(budget)


def generate(plan, seed):
    rnd = random.Random(seed)
    events, totals = [], {}
    for i, p in enumerate(plan):
        budget = wan(p["budget_wan"])
        code = p["project_code"]
        totals[code] = 0
        for n, (ts, amount) in enumerate(year_of(i, budget, rnd)):
            if amount <= 0:
                continue
            eid = "%s-%02d" % (code, n + 1)
            events.append({"id": eid, "type": "disbursement", "project": code, "unit": p["unit_code"],
                           "amount_fen": amount, "ts": ts + rnd.randint(0, 7 * 3600)})
            totals[code] += amount
    # A few refunds of mistaken payments, each naming its original.
    for e in rnd.sample([e for e in events if e["amount_fen"] > 1000000], 3):
        amount = e["amount_fen"] // 50
        events.append({"id": e["id"] + "-R", "type": "refund", "project": e["project"], "unit": e["unit"],
                       "amount_fen": amount, "ts": e["ts"] + 3 * DAY, "ref": e["id"]})
        totals[e["project"]] -= amount
    events.sort(key=lambda e: e["ts"])
    # Payment systems deliver a little out of order: swap some neighbours that
    # are less than a day apart.
    for k in range(1, len(events)):
        if events[k]["ts"] - events[k - 1]["ts"] < DAY and rnd.random() < 0.2:
            events[k - 1], events[k] = events[k], events[k - 1]
    # The sending order numbers the events (seq); payment times stay a little
    # out of order, as they arrive from the banks.
    for seq, e in enumerate(events, 1):
        e["seq"] = seq
    # And one resend of an event already sent — the same id and seq, as a
    # payment system retrying would send it: it must count once.
    events.insert(len(events) // 2 + 5, dict(events[len(events) // 2]))
    return events, totals


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plan", required=True)
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--events", default="-", help="CSV output (default stdout)")
    ap.add_argument("--expected", help="JSON file of the final totals per project, in fen")
    args = ap.parse_args()
    events, totals = generate(read_plan(args.plan), args.seed)
    out = sys.stdout if args.events == "-" else open(args.events, "w", newline="", encoding="utf-8")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["src", "id", "seq", "type", "project", "unit", "amount_fen", "ts", "ref"])
    for e in events:
        w.writerow(["treasury-zunhua", e["id"], e["seq"], e["type"], e["project"], e["unit"],
                    e["amount_fen"], e["ts"], e.get("ref", "")])
    if out is not sys.stdout:
        out.close()
    if args.expected:
        with open(args.expected, "w", encoding="utf-8") as f:
            json.dump({"total": sum(totals.values()), "projects": totals}, f, ensure_ascii=False,
                      indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
