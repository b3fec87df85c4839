// Lighthouse's best-practices category on many pages in one Chromium (tests/browser/
// test_best_practices.py runs it): one Chrome and one module load for all pages, instead of a
// `lighthouse` CLI process and a browser per page.
//
// Each page is audited as on a phone (Lighthouse's default, a mid-range one): that emulation
// runs every audit of the category, the phone-only ones too (legible font sizes, images sharp at
// 1.75 device pixels per CSS pixel). Lighthouse's desktop preset found nothing more on any page
// here and doubled the time; the console at desktop width is test_accessibility's.
//
// Reads a JSON request on standard input:
//   {"baseUrl": "http://127.0.0.1:8000", "paths": ["/", ...],
//    "chromePath": "/usr/bin/chromium", "chromeFlags": ["--no-sandbox", ...]}
// and prints one JSON line per page:
//   {"path", "score" (0..1, null if the run failed), "seconds" (the run's), "runtimeError",
//    "runWarnings", "failing": [{"id", "title", "items"}]}
// where "failing" lists every audit of the category that scored below 1, with what it found.
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import {performance} from 'node:perf_hooks';
import {text} from 'node:stream/consumers';

// Lighthouse's defaults wait a second each after first paint and load and for a quiet network
// and CPU, for its performance metrics. Best practices need what a page requests and logs until
// its network settles: half a second of quiet still catches requests that start after the
// load event (static/js/loader.js's CDN probes with GILLAB_OFFLINE=0: checked, they count).
const WAITS = {
  pauseAfterFcpMs: 0, pauseAfterLoadMs: 0, networkQuietThresholdMs: 500, cpuQuietThresholdMs: 0,
};

const request = JSON.parse(await text(process.stdin));
const chrome = await chromeLauncher.launch({
  chromePath: request.chromePath,
  chromeFlags: ['--headless=new', ...request.chromeFlags],
  logLevel: 'silent',
});
try {
  for (const path of request.paths) {
    const started = performance.now();
    const result = await lighthouse(request.baseUrl + path, {
      port: chrome.port,
      onlyCategories: ['best-practices'],
      logLevel: 'error',
      // Neither is read by a best-practices audit; the screenshot alone costs about a second.
      disableFullPageScreenshot: true,
      skipAboutBlank: true,
      ...WAITS,
    });
    const report = result.lhr;
    const category = report.categories['best-practices'];
    const failing = category.auditRefs
      .map((ref) => report.audits[ref.id])
      .filter((audit) => audit.score !== null && audit.score < 1)
      .map((audit) => ({id: audit.id, title: audit.title, items: audit.details?.items ?? []}));
    process.stdout.write(JSON.stringify({
      path, score: category.score, seconds: (performance.now() - started) / 1000,
      failing, runtimeError: report.runtimeError ?? null, runWarnings: report.runWarnings,
    }) + '\n');
  }
} finally {
  await chrome.kill();
}
