"""The convoy effect: an I/O thread's round trip, alone and beside one CPU-bound thread.

Usage: python -I convoy.py INTERVAL_MS

An echo thread serves one end of a socket.socketpair(); a client sends it one byte every 2 ms
and times the reply. Alone, the echo thread gets the GIL back the moment its recv returns: a
round trip of some 0.02 ms. Beside a thread that spins on the CPU, the spinner holds the GIL
while the echo thread waits for data; when the byte arrives the echo thread must wait until
the spinner is asked to drop the GIL, which happens only after a whole switch interval. Every
request pays about one interval, whatever the I/O itself costs: the convoy effect.

The client is a forked, single-threaded process (like a real client across a network), so its
own timing never waits for this interpreter's GIL. With both ends as threads of one process
the two I/O threads mostly pass the GIL back and forth between themselves and starve the
spinner: measured on 3.9 to 3.13, about half the runs then show no convoy at all, the others
one or two intervals, which measures a coin toss rather than the effect.

Prints one JSON object: the interpreter, the switch interval, and the median round trip in
milliseconds alone and loaded, with the number of trips behind each median.

Standard library only, no syntax newer than 3.6: every CPython from 3.6 on runs this file
(POSIX only: it forks).
"""

import json
import os
import platform
import socket
import sys
import threading
import time
from typing import Any, Dict, List, Tuple

IDLE_TRIPS = 100
LOADED_TRIPS = 30
# Between requests the client waits this long, as requests from outside arrive spaced out.
PAUSE_S = 0.002
# Each measurement stops early past this many seconds, so a slow interpreter stays bounded.
BUDGET_S = 3.0


def echo(sock: socket.socket) -> None:
    while True:
        data = sock.recv(1)
        if not data:
            return
        sock.sendall(data)


def spin(running: List[bool], spins: List[int]) -> None:
    while running[0]:
        spins[0] += 1


def median(values: List[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def round_trips(sock: socket.socket, trips: int) -> Tuple[float, int]:
    """The median round trip in ms over at most `trips` trips and BUDGET_S seconds."""
    times = []  # type: List[float]
    deadline = time.perf_counter() + BUDGET_S
    for _ in range(trips):
        time.sleep(PAUSE_S)
        start = time.perf_counter()
        sock.sendall(b"x")
        if not sock.recv(1):
            break
        end = time.perf_counter()
        times.append((end - start) * 1000.0)
        if end > deadline:
            break
    return median(times), len(times)


def client(sock: socket.socket, control: socket.socket) -> None:
    """The forked client: time the idle trips, ask for the spinner, time the loaded trips."""
    round_trips(sock, 10)  # warm up: both ends running, buffers allocated
    idle_rtt_ms, idle_trips = round_trips(sock, IDLE_TRIPS)
    control.sendall(b"s")
    control.recv(1)  # the spinner is running
    loaded_rtt_ms, loaded_trips = round_trips(sock, LOADED_TRIPS)
    report = {
        "idle_rtt_ms": idle_rtt_ms,
        "loaded_rtt_ms": loaded_rtt_ms,
        "idle_trips": idle_trips,
        "loaded_trips": loaded_trips,
    }
    control.sendall(json.dumps(report).encode())


def serve(sock: socket.socket, control: socket.socket) -> Dict[str, Any]:
    """This interpreter's side: the echo thread, and the spinner once the client asks."""
    echoer = threading.Thread(target=echo, args=(sock,), daemon=True)
    echoer.start()
    if control.recv(1) != b"s":
        raise SystemExit("the client stopped before the loaded measurement")
    running, spins = [True], [0]
    spinner = threading.Thread(target=spin, args=(running, spins), daemon=True)
    spinner.start()
    while spins[0] == 0:  # wait until the spinner really runs
        time.sleep(0.001)
    control.sendall(b"g")
    chunks = []  # type: List[bytes]
    while True:
        chunk = control.recv(4096)
        if not chunk:
            break
        chunks.append(chunk)
    running[0] = False
    spinner.join()
    if not chunks:
        raise SystemExit("the client sent no measurement")
    report = json.loads(b"".join(chunks).decode())  # type: Dict[str, Any]
    return report


def main(argv: List[str]) -> None:
    interval_ms = float(argv[1])
    sys.setswitchinterval(interval_ms / 1000.0)
    # Fork before any thread exists, so the child is a clean single-threaded process.
    server_end, client_end = socket.socketpair()
    control_parent, control_child = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        server_end.close()
        control_parent.close()
        status = 0
        try:
            client(client_end, control_child)
        except BaseException:
            status = 1
        finally:
            control_child.close()
            client_end.close()
            os._exit(status)
    client_end.close()
    control_child.close()
    try:
        report = serve(server_end, control_parent)
    finally:
        server_end.close()
        control_parent.close()
        os.waitpid(pid, 0)
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    report.update(
        {
            "python": platform.python_version(),
            "gil_enabled": True if is_gil_enabled is None else bool(is_gil_enabled()),
            "interval_ms": interval_ms,
        }
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv)
