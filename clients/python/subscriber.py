#!/usr/bin/python3
"""A supervisor's subscriber in a few lines: prints every alert budgetwatchd
publishes (one JSON object per line) and notes heartbeats on stderr.

usage: subscriber.py ENDPOINT [COUNT]"""

import json
import sys

import msgpack
import zmq


def main():
    endpoint = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    sock = zmq.Context.instance().socket(zmq.SUB)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    seen = 0
    while count == 0 or seen < count:
        topic, body = sock.recv_multipart()
        msg = msgpack.unpackb(body, raw=False)
        if topic == b"hb":
            print("heartbeat: last alert seq %d" % msg["seq"], file=sys.stderr, flush=True)
            continue
        print(json.dumps(msg, ensure_ascii=False), flush=True)
        seen += 1


if __name__ == "__main__":
    main()
