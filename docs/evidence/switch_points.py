"""Where can the GIL change hands? Two threads race on one global with four statements.

Usage: python docs/evidence/switch_points.py   (any CPython 3.6 or later)

Each statement reads `n`, computes, and stores `n`; a thread switch between the read and the
store loses the other thread's updates. Which statements lose updates shows where this
interpreter checks for a GIL drop request (see docs/claims.md). Seen on this project's machine:

    statement                        3.6-3.9  3.10  3.11-3.13
    n += 1                           lost     none  none
    n = n + one()    (Python call)   lost     lost  lost
    n = n + len(S) - 2  (C call)     lost     lost  none
    n = n + ONE  (__radd__ in Python) lost    lost  lost
"""

import sys
import threading


class One:
    def __radd__(self, other):  # Python code run inside one BINARY_ADD / BINARY_OP
        return other + 1


ONE = One()
S = "xxx"


def one():
    return 1


BODIES = {
    "n += 1": "n += 1",
    "n = n + one()": "n = n + one()",
    "n = n + len(S) - 2": "n = n + len(S) - 2",
    "n = n + ONE (__radd__ in Python)": "n = n + ONE",
}
ITERATIONS = 300000


def main():
    print("Python", sys.version.split()[0])
    for label, body in BODIES.items():
        namespace = {"one": one, "S": S, "ONE": ONE, "n": 0}
        source = "def work(k):\n    global n\n    for _ in range(k):\n        " + body + "\n"
        exec(source, namespace)
        lost = []
        for _ in range(3):
            namespace["n"] = 0
            threads = [
                threading.Thread(target=namespace["work"], args=(ITERATIONS,)) for _ in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            lost.append(2 * ITERATIONS - namespace["n"])
        print("{:34} lost in each of 3 runs: {}".format(label, lost))  # noqa: UP032 (3.6)


if __name__ == "__main__":
    main()
