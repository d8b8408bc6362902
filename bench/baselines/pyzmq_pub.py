#!/usr/bin/python3
"""The publisher protocol of bench/peers/zpub.c in pyzmq, for the pyzmq -> pyzmq throughput
row: STREAM = endpoint|topics|size|rate|count|nodrop. One XPUB per stream; waits until each
data topic is subscribed, prints {"event":"subscribed"}, sends after a line on stdin, then
{"event":"done"}, and keeps its sockets open until SIGTERM."""

import json
import signal
import sys
import threading
import time

import zmq


def emit(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main():
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ctx = zmq.Context()
    streams = []
    for i, spec in enumerate(sys.argv[1:]):
        endpoint, topics, size, rate, count, nodrop = spec.split("|")
        sock = ctx.socket(zmq.XPUB)
        sock.setsockopt(zmq.LINGER, 0)
        if nodrop == "1":
            sock.setsockopt(zmq.XPUB_NODROP, 1)
        sock.bind(endpoint)
        emit(event="endpoint", stream=i, endpoint=sock.getsockopt_string(zmq.LAST_ENDPOINT))
        streams.append(
            dict(sock=sock, topics=topics.split(","), size=max(16, int(size)),
                 rate=float(rate), count=int(count))
        )
    for s in streams:
        wanted = {b"\x01" + t.encode() + b".data" for t in s["topics"]}
        while wanted:
            wanted.discard(s["sock"].recv())
    emit(event="subscribed")
    sys.stdin.readline()
    start = time.monotonic_ns()
    sent = []
    for s in streams:
        sock, topics, n = s["sock"], [t.encode() + b".data" for t in s["topics"]], s["count"]
        pad = bytes(s["size"] - 16)
        interval = 1e9 / s["rate"] if s["rate"] > 0 else 0
        i = 0
        while (n == 0 or i < n) and not stop.is_set():
            if interval:
                due = start + i * interval
                while time.monotonic_ns() < due:
                    pass
            payload = time.monotonic_ns().to_bytes(8, "little") + i.to_bytes(8, "little") + pad
            sock.send_multipart([topics[i % len(topics)], payload])
            i += 1
        for t in s["topics"]:
            sock.send_multipart([t.encode() + b".end", bytes(s["size"])])
        sent.append(i)
    emit(event="done", elapsedNs=time.monotonic_ns() - start, sent=sent)
    stop.wait()
    ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
