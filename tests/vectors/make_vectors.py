#!/usr/bin/python3
"""Writes the golden vectors: messages encoded by an independent msgpack
implementation (Debian's python3-msgpack). tests/unit/test_proto.c decodes each
and checks every field against the same values, and checks that the C encoder
produces the same bytes (the keys are written in the protocol's order)."""

import os

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))

VECTORS = {
    "event_min": {"v": 1, "type": "disbursement", "src": "treasury-zunhua", "id": "2022-000001",
                  "project": "130281219RAC9NBCKQYEU", "amount": 5607600000, "ts": 1641002400},
    "event_full": {"v": 1, "type": "refund", "src": "treasury-zunhua", "id": "2022-000123",
                   "seq": 123, "project": "323-0804-YXN-8B8X", "unit": "323003",
                   "amount": 1, "ts": 1648742399, "fund": "other", "ref": "2022-000100"},
    "event_unknown_keys": {"v": 1, "x-trace": [1, 2, {"a": None}], "type": "disbursement",
                           "src": "s", "id": "i", "project": "p", "amount": 9007199254740993,
                           "ts": -1, "future": 1.5},
    "ack_rejected": {"v": 1, "src": "treasury-zunhua", "id": "2022-000124", "status": "rejected",
                     "reason": "unknown project \"X\" (not in the plan)"},
    "alert_milestone": {"v": 1, "seq": 42, "kind": "milestone", "state": "firing",
                        "severity": "critical", "unit": "323003", "unit_name": "遵化市社保服务中心",
                        "project": "13028121A4BSUL3AG2ZDW", "project_name": "2022年预计离休干部遗属取暖费",
                        "budget": 5760000, "paid": 1727999, "rate_bp": 2999, "planned_bp": 3000,
                        "lag_bp": 1, "pace_bp": 2465, "shortfall": 1, "milestone": "03-31",
                        "at": 1648742400, "since": 1648742400},
    "alert_gap": {"v": 1, "seq": 43, "kind": "source_gap", "state": "firing", "severity": "warning",
                  "src": "bank", "expected_seq": 4, "got_seq": 7, "at": 1641000000, "since": 1641000000},
    "heartbeat": {"v": 1, "seq": 43, "at": 1641000005},
    # Issue 16's keys, in the encoder's order: a lag band judged against 序时进度,
    # and a large payment's handling step (an acknowledged message).
    "alert_lag_band": {"v": 1, "seq": 44, "kind": "lag", "state": "firing", "severity": "critical",
                       "unit": "323003", "unit_name": "遵化市社保服务中心",
                       "project": "13028121A4BSUL3AG2ZDW", "project_name": "2022年预计离休干部遗属取暖费",
                       "budget": 5760000, "paid": 0, "rate_bp": 0, "planned_bp": 822,
                       "lag_bp": 822, "pace_bp": 1013, "shortfall": 473424, "band": "红一档",
                       "basis": "pace", "pace_lag_bp": 1013, "pace_shortfall": 583520,
                       "handling": "unhandled", "at": 1644076800, "since": 1644076800},
    "alert_large_payment": {"v": 1, "seq": 45, "kind": "large_payment", "state": "acknowledged",
                            "severity": "warning", "unit": "323003", "unit_name": "遵化市社保服务中心",
                            "project": "13028121A4BSUL3AG2ZDW",
                            "project_name": "2022年预计离休干部遗属取暖费",
                            "budget": 5760000, "paid": 3000000, "rate_bp": 5208,
                            "planned_bp": 4000, "lag_bp": -1208, "pace_bp": 2465,
                            "shortfall": -696000, "band": "", "basis": "plan",
                            "pace_lag_bp": -2743, "pace_shortfall": -1580160,
                            "handling": "judged_normal", "src": "treasury-zunhua",
                            "id": "2022-000777", "amount": 3000000, "ref": "",
                            "at": 1648742400, "since": 1648742400, "by": "王科长",
                            "note": "年初一次拨付，认定正常"},
    "ctl_adjust": {"op": "adjust", "project": "130281219RAC9NBCKQYEU", "reason": "预算调整",
                   "budget": 18000000000},
}

if __name__ == "__main__":
    for name, msg in VECTORS.items():
        with open(os.path.join(HERE, name + ".msgpack"), "wb") as f:
            f.write(msgpack.packb(msg, use_bin_type=True))
