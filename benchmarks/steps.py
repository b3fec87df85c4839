"""What a learner feels on /sim, measured in Chromium (issue 17.15).

    .venv/bin/python benchmarks/steps.py [--steps 30] [--plays 30] [--seconds 8] [--server-only]

It starts its own server (`python -m app`, offline mode, on a free loopback port) and drives the
system Chromium with Playwright (`--server-only` leaves the browser out, and prints only the
server's rows):
- step, the server alone: a step's answer as a browser asks for it (htmx headers, `Sim-Shown`
  the step before, gzip), at n = 30, timed by a plain HTTP client on a kept-alive connection;
  every answer is one nobody asked for before (each run a new seed), as when a student steps
  on, so the page cache never answers;
- step: a key press (→) to the page updated, at n = 2 and n = 30, with the CPU as it is and
  slowed 4x (CDP Emulation.setCPUThrottlingRate), as on a cheap school laptop; median and p90
  of `--steps` steps each, twice: as a learner steps (looking at each step for `--look`
  seconds before the next press, while the page fetches the next steps ahead), and pressed back
  to back (each press the moment the step before is drawn, as held-down keys are, whose order
  tests/browser checks: the steps fetched ahead must keep up). "swapped" is when htmx has
  swapped and settled the new stage (what this script measured first); "shown" is the first
  frame after that (style, layout and paint of the new state done), what a student sees, and
  what the targets are judged on; "CPU" is the page's main-thread CPU time per step from a
  Chromium trace, which a busy machine hardly changes (slowed 4x it counts the slowed time);
- play: `--plays` plays of the same n = 30 run at once over SSE, at "normal" (2 steps/s) and
  "very fast" (10 steps/s), the steps per second each shows against the nominal: first the
  server alone (plain HTTP clients read the streams), then `--plays` Chromium pages, with how
  the machine's CPU was shared meanwhile: the server's part, the rest being chiefly the
  benchmark's own Chromium pages, which run on the same two cores as the server (in a
  classroom each student's browser has its own computer).

Targets: a step's answer in a few ms at the server (median <= 5 ms); p90 step shown <= 50 ms
at n = 30, <= 150 ms with the CPU slowed 4x, as a learner steps; every play within 10% of its
nominal speed with 30 at once. Print the load average with the figures: on a shared machine
they are noisy, so run it several times and compare medians.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import statistics
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from app.sim import Config, Mode, Permalink, Scenario, simulate
from app.web.infra import urls
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.serving import descendants, live_server

# Timers and frames at full rate even in a window Chromium thinks is hidden: steps are timed.
ARGS = [*CHROMIUM_ARGS, "--disable-renderer-backgrounding",
        "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"]
RUN = "/sim?scenario=inc-inc&mode=none&n={n}&step=0"

# Time from the key press to the end of the swap it caused ("swapped"), and to the first frame
# after it ("shown": a task posted from requestAnimationFrame runs once that frame is drawn),
# in the page's own clock.
TIMING = """() => {
  window.__steps = [];
  let pressed = null;
  document.addEventListener('keydown', () => { pressed = performance.now(); }, true);
  document.addEventListener('htmx:afterSettle', (event) => {
    if (pressed === null || !event.detail.elt || event.detail.elt.id !== 'stage') return;
    const start = pressed, swapped = performance.now();
    pressed = null;
    requestAnimationFrame(() => setTimeout(() => {
      window.__steps.push([swapped - start, performance.now() - start]);
      if (window.__stepped) window.__stepped();
    }, 0));
  });
}"""
# Wait for the step in the page without polling it: Playwright's wait_for_function runs its
# test on every animation frame, work of the benchmark's own on the page's main thread (and it
# keeps frames coming) that made steps look slower than they are.
STEPPED = """(count) => new Promise((resolve) => {
  window.__stepped = () => { if (window.__steps.length >= count) resolve(); };
  window.__stepped();
})"""


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


@dataclass(frozen=True, slots=True, kw_only=True)
class Steps:
    swapped: list[float]  # ms from the key press to the swap settled, each step
    shown: list[float]  # ms from the key press to the first frame after it
    main_thread_ms: float  # the page's main-thread CPU time per step


def _main_thread_ms(trace: bytes) -> float:
    """CPU time the renderer's main thread spent in tasks, from a Chromium trace. Thread time
    (`tdur`), not wall time: it hardly changes when other work shares the cores, so it tells
    what a step costs the browser even on a busy machine (run alone, a step takes about this
    long plus the server's answer and the wait for a frame)."""
    events = json.loads(trace)["traceEvents"]
    mains = {(e["pid"], e["tid"]) for e in events
             if e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"}
    tasks = sorted((e for e in events if (e["pid"], e["tid"]) in mains and e.get("ph") == "X"
                    and "tdur" in e), key=lambda e: (e["ts"], -e["dur"]))
    total, ends = 0.0, 0
    for task in tasks:  # count the outermost ones: inner events are part of them
        if task["ts"] >= ends:
            total += task["tdur"]
            ends = task["ts"] + task["dur"]
    return total / 1000


def measure_steps(
    browser: Browser, url: str, steps: int, *, throttle: float, look: float = 0.0
) -> Steps:
    """`steps` steps after a first one that warms up, each pressed `look` seconds after the
    step before was drawn."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        if throttle > 1:
            session = page.context.new_cdp_session(page)
            session.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
        page.goto(url)
        page.wait_for_function("() => window.htmx !== undefined")
        page.evaluate(TIMING)
        page.keyboard.press("ArrowRight")  # warm-up: the first swap compiles code paths
        page.evaluate(STEPPED, 1)
        total = int(page.get_attribute("#stage", "data-total") or 0)
        taken = range(2, min(steps + 2, total + 1))  # n = 2 has only 12 steps
        browser.start_tracing(page=page, categories=["devtools.timeline"])
        for number in taken:
            if look:
                page.wait_for_timeout(look * 1000)
            page.keyboard.press("ArrowRight")
            page.evaluate(STEPPED, number)
        main_thread = _main_thread_ms(browser.stop_tracing())
        times: list[list[float]] = page.evaluate("() => window.__steps.slice(1)")
        return Steps(swapped=[t[0] for t in times], shown=[t[1] for t in times],
                     main_thread_ms=main_thread / len(taken))
    finally:
        page.close()


def _cpu_seconds(pids: set[int]) -> float:
    """CPU time (user + system) the processes `pids` have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU time every core of the machine has spent busy so far (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True, kw_only=True)
class Plays:
    rates: list[float]  # steps a second each page showed
    server_cpu: float  # seconds of CPU the server used while they played
    machine_cpu: float  # seconds of CPU the whole machine used meanwhile
    seconds: float


def open_pages(browser: Browser, url: str, plays: int) -> tuple[list[BrowserContext], list[Page]]:
    """`plays` pages at `url`, each in its own context, as each student has their own browser
    (one browser keeps at most six connections to a host, and a play holds one open)."""
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900})
                for _ in range(plays)]
    pages = []
    for context in contexts:
        context.set_default_timeout(120_000)  # 30 browsers on two cores start slowly
        page = context.new_page()
        page.goto(url)
        pages.append(page)
    return contexts, pages


def measure_plays(pages: list[Page], url: str, speed: float, seconds: float,
                  server: set[int]) -> Plays:
    """Steps per second each page shows while all of them play at `speed`."""
    for page in pages:
        page.goto(url)
        page.select_option("#speed", f"{speed:g}")
        page.evaluate("""() => { window.__shown = [];
          document.addEventListener('htmx:sseMessage',
            () => window.__shown.push(performance.now())); }""")
    for page in pages:
        page.click("#play-toggle")
    server_before, machine_before = _cpu_seconds(server), _machine_busy_seconds()
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    server_cpu = _cpu_seconds(server) - server_before
    machine_cpu = _machine_busy_seconds() - machine_before
    rates = []
    for page in pages:
        shown: list[float] = page.evaluate("() => window.__shown")
        # Skip the first second (the stream opening); count steps shown over the rest.
        settled = [t for t in shown if t - shown[0] >= 1000] if shown else []
        if len(settled) >= 2:
            rates.append((len(settled) - 1) / ((settled[-1] - settled[0]) / 1000))
        else:
            rates.append(0.0)
        page.click("#play-toggle")  # pause, so the next speed starts from a quiet server
    return Plays(rates=rates, server_cpu=server_cpu, machine_cpu=machine_cpu, seconds=elapsed)


def measure_answers(
    base: str, n: int, runs: int, server: set[int], first_seed: int = 1
) -> tuple[list[float], float]:
    """The server's half of a step: ms from sending each htmx step request to its whole answer
    read, for every step of `runs` runs (seeds `first_seed`, `first_seed` + 1, ...: steps the
    page cache has not seen, on a fresh server), each asked for as static/js/sim.js does from
    the step before; and the server's CPU time per answer (ms), which a busy machine hardly
    changes."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    asked = []
    for seed in range(first_seed, first_seed + runs):
        run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=n), seed=seed)
        asked += [(urls.sim(Permalink.of(run, step)), urls.sim(Permalink.of(run, step - 1)))
                  for step in range(1, len(run.steps) + 1)]
    times = []
    cpu_before = _cpu_seconds(server)
    for url, shown in asked:
        headers = {"HX-Request": "true", "Accept-Encoding": "gzip, deflate", "Sim-Shown": shown}
        started = time.perf_counter()
        connection.request("GET", url, headers=headers)
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, response.status
    cpu_per_answer = (_cpu_seconds(server) - cpu_before) * 1000 / len(asked)
    connection.close()
    return times, cpu_per_answer


def measure_streams(
    base: str, plays: int, speed: float, seconds: float, server: set[int]
) -> tuple[list[float], float]:
    """The server's half of a play, without browsers: `plays` streams of the same run read at
    once by plain HTTP clients (one thread each, which only count events), gzipped as a
    browser asks for them (each stream compressed on its own, as the server does for every
    browser); steps a second each stream delivers after its first second, and the server's CPU
    time per step sent (ms), which a busy machine hardly changes."""
    host, port = base.removeprefix("http://").split(":")
    query = RUN.format(n=30).split("?", 1)[1]
    arrivals: list[list[float]] = [[] for _ in range(plays)]

    def read(times: list[float]) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=seconds + 30)
        connection.request("GET", f"/stream/sim?{query}&speed={speed:g}",
                           headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        assert response.getheader("Content-Encoding") == "gzip"
        gunzip = zlib.decompressobj(wbits=31)
        ends, tail = time.monotonic() + seconds, b""
        while time.monotonic() < ends:
            chunk = response.read1(1 << 16)  # what has arrived: no parsing, little CPU
            if not chunk:
                break
            text = gunzip.decompress(chunk)  # each event is flushed whole: it inflates whole
            times.extend([time.monotonic()] * (tail + text).count(b"event: step"))
            tail = text[-10:]  # shorter than the marker: never counted twice
        connection.close()

    threads = [threading.Thread(target=read, args=(times,)) for times in arrivals]
    cpu_before = _cpu_seconds(server)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu_per_step = (_cpu_seconds(server) - cpu_before) * 1000 / max(1, sum(map(len, arrivals)))
    rates = []
    for times in arrivals:
        settled = [t for t in times if t - times[0] >= 1] if times else []
        rates.append((len(settled) - 1) / (settled[-1] - settled[0]) if len(settled) >= 2 else 0)
    return rates, cpu_per_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--plays", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--server-only", action="store_true", help="no browser: the server's rows")
    parser.add_argument("--look", type=float, default=0.3,
                        help="seconds a learner looks at a step before pressing → again")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    with live_server(env={"GILLAB_OFFLINE": "1"}) as server:
        server_pids = {server.process.pid, *descendants(server.process.pid)}
        measure_server(server.url, server_pids, args)
        if not args.server_only:
            measure_browsers(server.url, server_pids, args)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def measure_server(url: str, server_pids: set[int], args: argparse.Namespace) -> None:
    """The rows with plain HTTP clients: a step's answer, then plays."""
    times, cpu = measure_answers(url, 30, 3, server_pids)
    print(f"step, the server alone: an htmx step's answer never asked for before, n = 30 (ms):"
          f" median {statistics.median(times):5.1f}  p90 {_p90(times):5.1f}"
          f"  max {max(times):5.1f} ({len(times)} steps); server CPU {cpu:.2f} ms an answer")
    print(f"play, the server alone: {args.plays} streams at once read by plain HTTP"
          " clients, n = 30 (steps/s each delivers)")
    for speed in (2.0, 10.0):
        rates, cpu = measure_streams(url, args.plays, speed, args.seconds, server_pids)
        print(f"  nominal {speed:4g}/s: median {statistics.median(rates):5.2f}"
              f"  slowest {min(rates):5.2f}  ({min(rates) / speed:.0%} of nominal);"
              f" server CPU {cpu:.2f} ms a step sent")


def measure_browsers(base: str, server_pids: set[int], args: argparse.Namespace) -> None:
    """The rows in Chromium: steps, then plays in `args.plays` pages."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        print("step: key press to the page updated (ms): swapped / shown;"
              " the page's main-thread CPU per step")
        paces = ((args.look, f"looking {args.look:g} s"), (0.0, "back to back"))
        for (look, pace), n, throttle in itertools.product(paces, (2, 30), (1.0, 4.0)):
            taken = measure_steps(browser, base + RUN.format(n=n), args.steps,
                                  throttle=throttle, look=look)
            swapped, shown = taken.swapped, taken.shown
            print(f"  {pace}, n = {n:2}, CPU /{throttle:g}:"
                  f" median {statistics.median(swapped):6.1f} / {statistics.median(shown):6.1f}"
                  f"  p90 {_p90(swapped):6.1f} / {_p90(shown):6.1f}"
                  f"  max {max(swapped):6.1f} / {max(shown):6.1f};"
                  f" CPU {taken.main_thread_ms:5.1f}")
        print(f"play: {args.plays} pages at once, n = 30 (steps/s each page shows)")
        url = base + RUN.format(n=30)
        contexts, pages = open_pages(browser, url, args.plays)
        try:
            for speed in (2.0, 10.0):
                plays = measure_plays(pages, url, speed, args.seconds, server_pids)
                rates = plays.rates
                cores = plays.machine_cpu / plays.seconds
                print(f"  nominal {speed:4g}/s: median {statistics.median(rates):5.2f}"
                      f"  slowest {min(rates):5.2f}  ({min(rates) / speed:.0%} of nominal);"
                      f" CPU busy {cores:.2f} of 2 cores, the server"
                      f" {plays.server_cpu / plays.seconds:.2f}"
                      f" ({plays.server_cpu / max(plays.machine_cpu, 1e-9):.0%})")
        finally:
            for context in contexts:
                context.close()
        browser.close()


if __name__ == "__main__":
    main()
