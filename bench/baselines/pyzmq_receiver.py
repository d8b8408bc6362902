#!/usr/bin/python3
"""Baseline: the seed's own design in pyzmq. One thread per SUB socket, each with a blocking
recv_multipart bounded by RCVTIMEO (ZMQ_RECEIVE_TIMEOUT_MS, 500 ms as in the seed), a
threading.Event checked between receives, and a join with a deadline at shutdown.

The per-message work is the same as every other design's (bench/services/core.js): count,
one-way latency (CLOCK_MONOTONIC ns in the payload's first 8 bytes, time.monotonic_ns here),
a CPU burn, a relay on a PUB socket owned by the receiving thread. Reads BENCH_SPEC and the
BENCH_* variables; prints JSON lines: ready, relay, result, hanging. Exit 0 after a clean
stop, 75 when a thread missed the join deadline.
"""

import array
import json
import os
import signal
import sys
import threading
import time

import zmq

_print_lock = threading.Lock()


def emit(**fields):
    line = json.dumps(fields)
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def receive_loop(ctx, sock_spec, relay, hang, shutdown, ready, env):
    name = sock_spec["name"]
    burn_s = float(env.get("BENCH_BURN_MS_" + name.upper(), "0")) / 1000
    latency = env.get("BENCH_LATENCY") == "1"
    warmup = int(env.get("BENCH_WARMUP", "0"))
    out_dir = env.get("BENCH_OUT", ".")
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, int(env.get("ZMQ_RECEIVE_TIMEOUT_MS", "500")))
    sub.connect(sock_spec["endpoint"])
    component = sock_spec["component"]
    sub.setsockopt_string(zmq.SUBSCRIBE, component + ".data")
    sub.setsockopt_string(zmq.SUBSCRIBE, component + ".end")
    pub = None
    if relay:
        pub = ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 0)
        pub.bind("tcp://127.0.0.1:*")
        emit(event="relay", endpoint=pub.getsockopt_string(zmq.LAST_ENDPOINT))
    ready.release()
    lat = array.array("d")
    count = 0
    first = 0
    monotonic_ns = time.monotonic_ns
    perf_counter = time.perf_counter
    try:
        while not shutdown.is_set():
            try:
                frames = sub.recv_multipart()
            except zmq.Again:
                continue
            now = monotonic_ns()
            if len(frames) != 2:
                continue
            topic, payload = frames
            if topic.endswith(b".end"):
                if latency:
                    with open(os.path.join(out_dir, name + ".f64"), "wb") as f:
                        lat.tofile(f)
                emit(event="result", socket=name, count=count, firstNs=first, lastNs=now)
                if pub is not None:
                    pub.send_multipart([b"relay.end", payload])
                continue
            if hang:
                emit(event="hanging")
                while True:
                    pass
            count += 1
            if count == 1:
                first = now
            if latency and count > warmup:
                lat.append((now - int.from_bytes(payload[:8], "little")) / 1000)
            if burn_s:
                until = perf_counter() + burn_s
                while perf_counter() < until:
                    pass
            if pub is not None:
                pub.send_multipart([b"relay.data", payload])
    finally:
        sub.close()
        if pub is not None:
            pub.close()


def main():
    spec = json.loads(os.environ["BENCH_SPEC"])
    stop = threading.Event()
    shutdown = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    ctx = zmq.Context()
    ready = threading.Semaphore(0)
    threads = []
    for i, sock_spec in enumerate(spec["sockets"]):
        relay = spec["relay"] and i == 0
        t = threading.Thread(
            target=receive_loop,
            args=(ctx, sock_spec, relay, spec["hang"], shutdown, ready, os.environ),
            name="rx-" + sock_spec["name"],
        )
        t.start()
        threads.append(t)
    for _ in threads:
        ready.acquire()
    emit(event="ready")
    stop.wait()
    shutdown.set()
    deadline = time.monotonic() + spec["joinMs"] / 1000
    clean = True
    for t in threads:
        t.join(timeout=max(0, deadline - time.monotonic()))
        clean = clean and not t.is_alive()
    if not clean:
        # The seed's "RX thread did not stop cleanly": a thread cannot be killed, so leave.
        os._exit(75)
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
