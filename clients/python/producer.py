#!/usr/bin/python3
"""A payment system in a few lines: sends disbursements to budgetwatchd on the
reliable path (DEALER -> ROUTER) and prints each acknowledgement. Needs only
Debian's python3-zmq and python3-msgpack; money is integer fen.

usage: producer.py ENDPOINT SRC PROJECT AMOUNT_FEN TS [COUNT]"""

import sys

import msgpack
import zmq


def main():
    endpoint, src, project, amount, ts = sys.argv[1:6]
    count = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    for i in range(count):
        sock.send(msgpack.packb({"v": 1, "type": "disbursement", "src": src, "id": "py-%d" % i,
                                 "seq": i + 1, "project": project, "amount": int(amount), "ts": int(ts)}))
    for _ in range(count):
        if not sock.poll(10000):
            sys.exit("no acknowledgement from %s within 10 s; is budgetwatchd running?" % endpoint)
        ack = msgpack.unpackb(sock.recv(), raw=False)
        print(ack["id"], ack["status"], ack.get("reason", ""))


if __name__ == "__main__":
    main()
