#!/usr/bin/python3
"""Writes a synthetic plan of any size for benchmarks and scale tests:
N projects spread over units of about 200 projects each, budgets from
0.01 to 99,999.99 万元, a few own schedules and targets. Deterministic per seed.

usage: gen_plan.py N [--seed S] > plan.csv"""

import argparse
import random
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-unit", type=int, default=200)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    out = sys.stdout
    out.write("unit_code,unit_name,project_code,project_name,budget_wan,fiscal_wan,milestones,target_pct\n")
    schedules = ["", "", "", "", "06-30:50;12-31:100", "03-31:25;09-30:75;12-31:100"]
    for i in range(args.n):
        unit = i // args.per_unit
        budget = rnd.randint(1, 9999999)          # hundredths of 万元
        out.write("U%06d,单位%06d,P%09d,项目%09d,%d.%02d,,%s,%s\n" % (
            unit, unit, i, i, budget // 100, budget % 100, rnd.choice(schedules),
            "100" if i % 10 == 0 else ""))


if __name__ == "__main__":
    main()
