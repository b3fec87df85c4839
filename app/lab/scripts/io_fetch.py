"""I/O releases the GIL: fetch a slow URL several times, one after another, then in threads.

Usage: python -I io_fetch.py URL REQUESTS [ROUNDS]

URL answers after a delay (the site's own /api/gil/delay, so this works with no internet).
A thread that waits for the network has dropped the GIL, so the threads' waits overlap:
REQUESTS fetches of d seconds take about REQUESTS * d in sequence and about d in threads.
Both are taken in turn, ROUNDS rounds (default 3); prints one JSON object with every round's
two wall-clock times.

Standard library only, no syntax newer than 3.6: every CPython from 3.6 on runs this file.
"""

import json
import platform
import sys
import threading
import time
import urllib.request
from typing import List

TIMEOUT_S = 10.0


def fetch(url: str) -> int:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        return len(response.read())


def sequential(url: str, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        fetch(url)
    return time.perf_counter() - started


def threaded(url: str, requests: int) -> float:
    failures = []  # type: List[BaseException]

    def worker() -> None:
        try:
            fetch(url)
        except Exception as exc:  # reported below: a failed fetch must not look fast
            failures.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return elapsed


def main(argv: List[str]) -> None:
    url = argv[1]
    if not url.startswith(("http://", "https://")):
        raise SystemExit("URL must be http(s)")
    requests = int(argv[2])
    rounds = int(argv[3]) if len(argv) > 3 else 3
    fetch(url)  # warm up: the first connection may cost more than the others
    timings = []
    for _ in range(rounds):
        timings.append(
            {"sequential_s": sequential(url, requests), "threaded_s": threaded(url, requests)}
        )
    print(
        json.dumps(
            {"python": platform.python_version(), "requests": requests, "rounds": timings}
        )
    )


if __name__ == "__main__":
    main(sys.argv)
