"""What a learner feels on /sim, measured in Chromium (issue 17.15).

    .venv/bin/python benchmarks/steps.py [--steps 30] [--plays 30] [--seconds 8]

It starts its own server (`python -m app`, offline mode, on a free loopback port) and drives the
system Chromium with Playwright:
- step: a key press (→) to the page updated (the stage's htmx swap settled), at n = 2 and n = 30,
  with the CPU as it is and slowed 4x (CDP Emulation.setCPUThrottlingRate), as on a cheap
  school laptop; median and p90 of `--steps` steps each;
- play: `--plays` pages playing the same n = 30 run at once over SSE, at "normal" (2 steps/s)
  and "very fast" (10 steps/s); the steps per second each page shows, against the nominal.

Targets: p90 step <= 50 ms at n = 30, <= 150 ms with the CPU slowed 4x; every play within 10%
of its nominal speed with 30 at once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Browser, Page, sync_playwright

from tests.serving import live_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-renderer-backgrounding",
        "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"]
RUN = "/sim?scenario=inc-inc&mode=none&n={n}&step=0"

# Time from the key press to the end of the swap it caused, in the page's own clock.
TIMING = """() => {
  window.__steps = [];
  let pressed = null;
  document.addEventListener('keydown', () => { pressed = performance.now(); }, true);
  document.addEventListener('htmx:afterSettle', (event) => {
    if (pressed !== null && event.detail.elt && event.detail.elt.id === 'stage') {
      window.__steps.push(performance.now() - pressed);
      pressed = null;
    }
  });
}"""


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def measure_steps(browser: Browser, url: str, steps: int, *, throttle: float) -> list[float]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        if throttle > 1:
            session = page.context.new_cdp_session(page)
            session.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
        page.goto(url)
        page.wait_for_function("() => window.htmx !== undefined")
        page.evaluate(TIMING)
        page.keyboard.press("ArrowRight")  # warm-up: the first swap compiles code paths
        page.wait_for_function("() => window.__steps.length === 1")
        total = int(page.get_attribute("#stage", "data-total") or 0)
        for number in range(2, min(steps + 2, total + 1)):  # n = 2 has only 12 steps
            page.keyboard.press("ArrowRight")
            page.wait_for_function(f"() => window.__steps.length >= {number}", timeout=30_000)
        times: list[float] = page.evaluate("() => window.__steps.slice(1)")
        return times
    finally:
        page.close()


def measure_plays(
    browser: Browser, url: str, plays: int, speed: float, seconds: float
) -> list[float]:
    """Steps per second each of `plays` pages shows while all of them play at `speed`. Each
    page has its own context, as each student has their own browser (one browser keeps at
    most six connections to a host, and a play holds one open)."""
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900})
                for _ in range(plays)]
    for context in contexts:
        context.set_default_timeout(120_000)  # 30 browsers on two cores start slowly
    pages: list[Page] = []
    try:
        for context in contexts:
            page = context.new_page()
            page.goto(url)
            page.select_option("#speed", f"{speed:g}")
            pages.append(page)
        for page in pages:
            page.evaluate("""() => { window.__shown = [];
              document.addEventListener('htmx:sseMessage',
                () => window.__shown.push(performance.now())); }""")
            page.click("#play-toggle")
        time.sleep(seconds)
        rates = []
        for page in pages:
            shown: list[float] = page.evaluate("() => window.__shown")
            # Skip the first second (the stream opening); count steps shown over the rest.
            settled = [t for t in shown if t - shown[0] >= 1000] if shown else []
            if len(settled) >= 2:
                rates.append((len(settled) - 1) / ((settled[-1] - settled[0]) / 1000))
            else:
                rates.append(0.0)
        return rates
    finally:
        for context in contexts:
            context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--plays", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with live_server(env={"GILLAB_OFFLINE": "1"}) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        print("step: key press to the page updated (ms)")
        for n in (2, 30):
            for throttle in (1.0, 4.0):
                times = measure_steps(browser, server.url + RUN.format(n=n), args.steps,
                                      throttle=throttle)
                print(f"  n = {n:2}, CPU /{throttle:g}: median {statistics.median(times):6.1f}"
                      f"  p90 {_p90(times):6.1f}  max {max(times):6.1f}")
        print(f"play: {args.plays} pages at once, n = 30 (steps/s each page shows)")
        for speed in (2.0, 10.0):
            rates = measure_plays(browser, server.url + RUN.format(n=30), args.plays, speed,
                                  args.seconds)
            print(f"  nominal {speed:4g}/s: median {statistics.median(rates):5.2f}"
                  f"  slowest {min(rates):5.2f}  ({min(rates) / speed:.0%} of nominal)")
        browser.close()


if __name__ == "__main__":
    main()
