"""Reconnect-gap peer: a pyzmq SUB on libzmq's defaults (no reconnect option set), connecting
to argv[1] and printing one JSON line per message with its payload. The bench times the lines
as it reads them."""
import json
import signal
import sys

import zmq

endpoint, topic = sys.argv[1], sys.argv[2]
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.LINGER, 0)
sub.setsockopt(zmq.RCVTIMEO, 200)
sub.connect(endpoint)
sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
stopping = False


def stop(*_):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, stop)
print(json.dumps({"event": "ready"}), flush=True)
while not stopping:
    try:
        _, payload = sub.recv_multipart()
    except zmq.Again:
        continue
    print(json.dumps({"event": "message", "payload": payload.decode()}), flush=True)
sub.close()
ctx.term()
