#!/usr/bin/env python3
"""The configurator benchmark (issue 17), driven by bench/run_ui.sh against a running fxgate.

Measures, in one run:

1. Page loads in headless Chromium (Selenium, Debian's /usr/bin/chromium + chromedriver), logged in
   through the login form, cold (CDP Network.setCacheDisabled + clearBrowserCache before each
   load): the Tags page (/ui/tags showing the folder FOLDER, clicked in the tree if the page does
   not open it by itself), the Overview, and a static copy of the Tags page's table served by this
   script (no script, no API: the browser's floor for the same table). Per load: first contentful
   paint, time until the table's first row holds a value (a MutationObserver installed before the
   page's scripts run, plus the next animation frame), bytes (Resource Timing).
2. fxgate's cost (utime+stime of its PID only, VmRSS) over WINDOW_S in phases: idle (no client),
   BROWSERS headless browsers on the Tags page (the page polls), the same number of plain HTTP
   sessions polling the same API URLs at the same period as the browsers did, idle again.

Writes <raw>/ui.json (everything) and the Markdown report (--report). Standard library + selenium.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PIDS_FILE = os.environ.get("UI_BENCH_PIDS")  # chromedriver PIDs, for run_ui.sh's cleanup
TAGS_ROWS = "#tags tbody tr"
OVERVIEW_ROWS = "#components tbody tr"
GOAL_MS = 1000
GOAL_KB = 500
GOAL_CORES = 0.05

# Installed with Page.addScriptToEvaluateOnNewDocument, so it runs before the page's own scripts:
# records performance.now() when a watched table first has a row whose second cell (the value /
# health) has text, and the start of the next animation frame after that.
OBSERVER_JS = r"""
(() => {
  const SEL = %s;
  const b = window.__bench = {seen: {}, frame: {}};
  const filled = tr => !!tr && (tr.cells && tr.cells.length >= 2 ? tr.cells[1].textContent.trim() !== '' : tr.textContent.trim() !== '');
  const check = () => {
    for (const s of SEL) {
      if (b.seen[s] !== undefined) continue;
      if (filled(document.querySelector(s))) {
        b.seen[s] = performance.now();
        requestAnimationFrame(() => { b.frame[s] = performance.now(); });
      }
    }
  };
  // Every request the page starts (fetch and XHR), so a folder being loaded is seen before it ends.
  const f = b.fetches = [];
  const of = window.fetch;
  if (of) window.fetch = function (u, ...r) { f.push({url: String(u && u.url || u), t: performance.now()}); return of.call(this, u, ...r); };
  const oo = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (m, u, ...r) { f.push({url: String(u), t: performance.now()}); return oo.call(this, m, u, ...r); };
  const mo = new MutationObserver(check);
  mo.observe(document, {childList: true, subtree: true, characterData: true});
  setTimeout(() => mo.disconnect(), 60000);
})();
""" % json.dumps([TAGS_ROWS, OVERVIEW_ROWS])

# Everything the page's performance timeline says about the load, plus the watcher's times.
COLLECT_JS = r"""
const nav = performance.getEntriesByType('navigation')[0];
const paint = n => { const e = performance.getEntriesByName(n)[0]; return e ? e.startTime : null; };
return {nav: nav ? nav.toJSON() : null, res: performance.getEntriesByType('resource').map(r => r.toJSON()),
        fp: paint('first-paint'), fcp: paint('first-contentful-paint'), bench: window.__bench || null,
        rows: document.querySelectorAll(arguments[0]).length, dom_nodes: document.getElementsByTagName('*').length,
        now: performance.now(), url: location.href,
        heap: performance.memory ? performance.memory.usedJSHeapSize : null};
"""

# Candidates for the folder in the tree: the innermost clickable element whose own text starts
# with the folder's name (followed by nothing, a space, "(" or a count), preferring the tree.
FIND_FOLDER_JS = r"""
const name = arguments[0];
const re = new RegExp('^' + name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '(\\s|\\(|$)');
const all = [...document.querySelectorAll('a, button, summary, [role=treeitem], li > span, li')];
const hits = all.filter(e => re.test((e.textContent || '').trim()) && e.offsetParent !== null)
  .filter(e => ![...e.querySelectorAll('a, button, summary, [role=treeitem], span')].some(c => re.test((c.textContent || '').trim())));
const score = e => (e.closest('#tree, nav, [role=tree]') ? 0 : 10) + (e.matches('a, [role=treeitem]') ? 0 : 1);
hits.sort((a, b) => score(a) - score(b));
if (!hits.length) return null;
const t = performance.now();
hits[0].click();
return t;
"""

# After a click: the time the table has a filled row and an API request naming the folder ended.
FOLDER_SHOWN_JS = r"""
const [sel, name, since] = arguments;
const tr = document.querySelector(sel);
const ok = !!tr && tr.cells && tr.cells.length >= 2 && tr.cells[1].textContent.trim() !== '';
const api = performance.getEntriesByType('resource').filter(e => e.name.includes('/ui/api/') && e.startTime >= since
  && decodeURIComponent(e.name).includes(name));
return ok && api.length ? performance.now() : null;
"""


def log(msg: str) -> None:
    print(f"[ui_bench] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# /proc
# ------------------------------------------------------------------------------------------------

def ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])
    except (OSError, IndexError, ValueError):
        return 0


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def machine() -> tuple[int, int, int]:
    """(busy, steal, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    steal = v[7] if len(v) > 7 else 0
    total = sum(v[:8])
    return total - idle - steal, steal, total


def descendants(root: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


class Window:
    """fxgate's CPU (ticks delta) and RSS (sampled every 0.5 s) over a window, plus the machine's
    busy and stolen CPU and, optionally, the CPU of other process trees (the browsers)."""

    def __init__(self, pid: int, trees: list[int] | None = None):
        self.pid, self.trees = pid, trees or []

    def _tree_ticks(self) -> dict[int, int]:
        procs = set()
        for r in self.trees:
            procs.add(r)
            procs.update(descendants(r))
        return {p: ticks(p) for p in procs}

    def run(self, seconds: float) -> dict:
        rss: list[int] = []
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                r = rss_kb(self.pid)
                if r is not None:
                    rss.append(r)
                stop.wait(0.5)

        th = threading.Thread(target=sample, daemon=True)
        m0, tt0, c0, t0 = machine(), self._tree_ticks(), ticks(self.pid), time.monotonic()
        th.start()
        time.sleep(seconds)
        c1, t1, m1, tt1 = ticks(self.pid), time.monotonic(), machine(), self._tree_ticks()
        stop.set()
        th.join()
        dt = t1 - t0
        cores = (c1 - c0) / CLK_TCK / dt
        n_cpu = os.cpu_count() or 1
        busy = (m1[0] - m0[0]) / max(1, m1[2] - m0[2]) * n_cpu
        steal = (m1[1] - m0[1]) / max(1, m1[2] - m0[2]) * n_cpu
        tree = sum(tt1[p] - tt0[p] for p in tt1 if p in tt0) / CLK_TCK / dt if self.trees else None
        return {"seconds": round(dt, 3), "fxgate_cores": round(cores, 4), "fxgate_ticks": c1 - c0,
                "rss_kb_mean": round(statistics.mean(rss)) if rss else None, "rss_kb_peak": max(rss) if rss else None,
                "rss_kb_start": rss[0] if rss else None, "rss_kb_end": rss[-1] if rss else None,
                "machine_busy_cores": round(busy, 3), "steal_cores": round(steal, 3),
                "browsers_cores": round(tree, 3) if tree is not None else None}


# ------------------------------------------------------------------------------------------------
# Browser
# ------------------------------------------------------------------------------------------------

def browser(raw: str, n: int) -> webdriver.Chrome:
    o = Options()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,900",
              "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--disable-default-apps", "--metrics-recording-only", "--password-store=basic"):
        o.add_argument(a)
    svc = Service(CHROMEDRIVER, log_output=os.path.join(raw, f"chromedriver-{n}.log"))
    d = webdriver.Chrome(service=svc, options=o)
    if PIDS_FILE and driver_pid(d):
        with open(PIDS_FILE, "a") as f:
            f.write(f"{driver_pid(d)}\n")
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    d.execute_cdp_cmd("Network.enable", {})
    try:
        d.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        d.cache_disabled = True
    except Exception as e:  # noqa: BLE001 - reported, the run goes on
        log(f"Network.setCacheDisabled failed: {e}")
        d.cache_disabled = False
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER_JS})
    return d


def driver_pid(d: webdriver.Chrome) -> int | None:
    try:
        return d.service.process.pid
    except AttributeError:
        return None


def login(d: webdriver.Chrome, base: str, user: str, password: str) -> None:
    d.get(base + "/ui/login")
    d.find_element(By.ID, "user").send_keys(user)
    d.find_element(By.ID, "password").send_keys(password)
    d.find_element(By.ID, "login").click()
    deadline = time.monotonic() + 15
    while "/ui/login" in d.current_url or d.get_cookie("fxgate_session") is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"login as {user} failed: still at {d.current_url}")
        time.sleep(0.05)


def poll(f, timeout: float, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = f()
        if v is not None:
            return v
        if time.monotonic() > deadline:
            return None
        time.sleep(every)


def names_folder(url: str, folder: str) -> bool:
    q = urllib.parse.unquote(urllib.parse.urlsplit(url).query)
    return re.search(r"(^|[=&/])" + re.escape(folder) + r"($|[&/])", q) is not None


def load(d: webdriver.Chrome, url: str, sel: str, folder: str | None = None, wait_s: float = 10) -> dict:
    """One cold load of `url`; wait until `sel` has a filled row (and, with `folder`, shows that
    folder: clicked in the tree when the page does not open it by itself). Timings in ms from the
    navigation's start (performance.timeOrigin)."""
    d.get("about:blank")
    if getattr(d, "cache_disabled", False):
        d.execute_cdp_cmd("Network.clearBrowserCache", {})
    t_wall = time.monotonic()
    d.get(url)
    out: dict = {"url": url, "clicked": False, "error": None}
    frame = lambda: d.execute_script("return window.__bench && window.__bench.frame[arguments[0]]", sel) or None  # noqa: E731
    seen = poll(frame, 3 if folder else wait_s)
    if folder:
        def asked() -> bool:
            urls = d.execute_script("return (window.__bench && window.__bench.fetches || []).map(f => f.url)") or []
            return any(names_folder(u, folder) for u in urls)
        if seen is None and asked():
            seen = poll(frame, wait_s - 3)  # the page asked for the folder by itself: a slow load
        if seen is None or not asked():
            # The page did not open the folder by itself (or shows another one): click it.
            click_at = poll(lambda: d.execute_script(FIND_FOLDER_JS, folder), wait_s - 3, 0.1)
            if click_at is None:
                out["error"] = f"no rows of folder {folder!r} and no element {folder!r} to click"
            else:
                out["clicked"], out["click_ms"] = True, click_at
                seen = poll(lambda: d.execute_script(FOLDER_SHOWN_JS, sel, folder, click_at), wait_s)
    if seen is None and out["error"] is None:
        out["error"] = f"no filled row {sel!r} within {wait_s} s"
    time.sleep(0.2)  # let the frame's entries land
    info = d.execute_script(COLLECT_JS, sel)
    out["wall_s"] = round(time.monotonic() - t_wall, 3)
    shown = None
    if seen is not None:
        shown = float(seen) if out["clicked"] else float(info["bench"]["frame"].get(sel, seen))
        if info["fcp"] is not None:
            shown = max(shown, float(info["fcp"]))  # nothing is on screen before the first contentful paint
    out["shown_from_nav_ms"] = round(shown, 1) if shown is not None else None
    if out["clicked"] and shown is not None:
        # As if the user had clicked the folder at the first contentful paint (the script waited 3 s).
        shown = (info["fcp"] or 0) + (float(seen) - float(out["click_ms"]))
    out["shown_ms"] = round(shown, 1) if shown is not None else None
    out["dom_ms"] = round(info["bench"]["seen"][sel], 1) if info["bench"] and sel in info["bench"]["seen"] and not out["clicked"] else None
    out["fcp_ms"] = round(info["fcp"], 1) if info["fcp"] is not None else None
    out["fp_ms"] = round(info["fp"], 1) if info["fp"] is not None else None
    nav = info["nav"] or {}
    out["dcl_ms"] = round(nav.get("domContentLoadedEventEnd", 0), 1)
    out["load_ms"] = round(nav.get("loadEventEnd", 0), 1)
    out["ttfb_ms"] = round(nav.get("responseStart", 0), 1)
    until = out["shown_from_nav_ms"] if out["shown_from_nav_ms"] is not None else info["now"]
    entries = [{"name": "navigation " + nav.get("name", url), "transferSize": nav.get("transferSize", 0),
                "encodedBodySize": nav.get("encodedBodySize", 0), "decodedBodySize": nav.get("decodedBodySize", 0),
                "startTime": 0, "responseEnd": nav.get("responseEnd", 0)}]
    entries += [{k: r.get(k) for k in ("name", "transferSize", "encodedBodySize", "decodedBodySize", "startTime", "responseEnd",
                                       "initiatorType")} for r in info["res"]]
    first = [e for e in entries if e["responseEnd"] <= until + 1]
    if out["clicked"]:
        # The page's own polls while the script waited before clicking: each URL counted once.
        once: dict[str, dict] = {}
        for e in first:
            once.setdefault(e["name"], e)
        first = list(once.values())
    out["requests"] = len(first)
    out["transfer_bytes"] = sum(e["transferSize"] or 0 for e in first)
    out["body_bytes"] = sum(e["encodedBodySize"] or 0 for e in first)
    out["decoded_bytes"] = sum(e["decodedBodySize"] or 0 for e in first)
    out["api_bytes"] = sum(e["encodedBodySize"] or 0 for e in first if "/ui/api/" in e["name"])
    out["entries"] = entries
    out["rows"] = info["rows"]
    out["dom_nodes"] = info["dom_nodes"]
    out["js_heap_bytes"] = info["heap"]
    out["final_url"] = info["url"]
    out["api_urls"] = sorted({e["name"] for e in first if "/ui/api/" in e["name"]})
    return out


# ------------------------------------------------------------------------------------------------
# Static baseline: the Tags table as a plain page
# ------------------------------------------------------------------------------------------------

class Static:
    def __init__(self, body: bytes):
        page = body

        class H(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path == "/static":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(page)))
                    self.send_header("Cache-Control", "no-store")
                    self.end_headers()
                    self.wfile.write(page)
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/static"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------------------------------------
# Plain HTTP sessions
# ------------------------------------------------------------------------------------------------

class HttpSession:
    def __init__(self, host: str, port: int):
        self.host, self.port, self.cookie, self.conn = host, port, "", None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=15)
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        c = r.getheader("Set-Cookie")
        if c:
            self.cookie = c.split(";")[0]
        return r.status, data

    def login(self, user: str, password: str) -> None:
        body = urllib.parse.urlencode({"user": user, "password": password}).encode()
        status, _ = self.request("POST", "/ui/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 303 or "fxgate_session=" not in self.cookie:
            raise RuntimeError(f"HTTP login failed: {status}")

    def close(self):
        if self.conn:
            self.conn.close()


def http_pollers(base: str, user: str, password: str, n: int, polls: list[tuple[str, float]]):
    """n sessions, each GETting every path once per its period (sessions' phases spread)."""
    u = urllib.parse.urlsplit(base)
    stats = [{"requests": 0, "bytes": 0, "errors": 0, "lat": []} for _ in range(n)]
    stop = threading.Event()
    counting = threading.Event()
    sessions = []
    for _ in range(n):
        s = HttpSession(u.hostname, u.port)
        s.login(user, password)
        sessions.append(s)

    def run(i: int):
        s, st = sessions[i], stats[i]
        t0 = time.monotonic()
        nxt = [t0 + period * i / n for _, period in polls]
        while not stop.is_set():
            k = min(range(len(polls)), key=lambda j: nxt[j])
            if stop.wait(max(0.0, nxt[k] - time.monotonic())):
                break
            p, period = polls[k]
            nxt[k] += max(period, 0.1)
            t = time.monotonic()
            try:
                status, data = s.request("GET", p, headers={"Accept": "*/*"})
                ok = status == 200
            except (OSError, http.client.HTTPException):
                ok, data = False, b""
            if counting.is_set():
                st["requests"] += 1
                st["bytes"] += len(data)
                st["lat"].append(time.monotonic() - t)
                if not ok:
                    st["errors"] += 1

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()

    def finish():
        stop.set()
        for t in threads:
            t.join(20)
        for s in sessions:
            s.close()

    return stats, counting, finish


# ------------------------------------------------------------------------------------------------
# Report helpers
# ------------------------------------------------------------------------------------------------

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def f0(x):
    return "n/a" if x is None else f"{x:,.0f}"


def f1(x):
    return "n/a" if x is None else f"{x:,.1f}"


def f3(x):
    return "n/a" if x is None else f"{x:.3f}"


def mib(kb):
    return "n/a" if kb is None else f"{kb / 1024:.1f}"


def ratio(a, b):
    return "–" if a is None or b in (None, 0) else f"{a / b:.2f}"


def yes(ok) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--pid", type=int, required=True, help="fxgate's PID")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-env", default="UI_BENCH_PASSWORD", help="environment variable holding the password")
    ap.add_argument("--folder", default="Big")
    ap.add_argument("--tags", type=int, default=10000, help="tags in the folder (for the report)")
    ap.add_argument("--interval-ms", type=int, default=1000, help="simulator interval (for the report)")
    ap.add_argument("--raw", required=True, help="directory for raw JSON and logs")
    ap.add_argument("--report", required=True, help="Markdown report file")
    ap.add_argument("--window-s", type=float, default=30)
    ap.add_argument("--warmup-s", type=float, default=6)
    ap.add_argument("--settle-s", type=float, default=5)
    ap.add_argument("--browsers", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5, help="cold loads per page after the first one")
    ap.add_argument("--idle-after", type=int, default=1, help="1: an idle window again at the end")
    ap.add_argument("--run-id", default=time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    ap.add_argument("--git", default="unknown")
    a = ap.parse_args()
    # TERM (run_ui.sh's cleanup, timeout) ends through the finally below, which quits the browsers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    password = os.environ[a.password_env]
    os.makedirs(a.raw, exist_ok=True)
    res: dict = {"run_id": a.run_id, "git": a.git, "base": a.base, "folder": a.folder, "tags": a.tags,
                 "interval_ms": a.interval_ms, "window_s": a.window_s, "n_browsers": a.browsers, "repeat": a.repeat,
                 "cpus": os.cpu_count(), "clk_tck": CLK_TCK, "notes": []}
    try:
        res["chromium"] = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        res["chromium"] = "unknown"
    drivers: list[webdriver.Chrome] = []
    static = None
    finish_http = None

    res["rss_marks"] = []

    def mark(what: str):
        res["rss_marks"].append([what, rss_kb(a.pid)])

    def save():
        with open(os.path.join(a.raw, "ui.json"), "w") as f:
            json.dump(res, f, indent=1)

    try:
        if not os.path.exists(f"/proc/{a.pid}"):
            raise RuntimeError(f"fxgate (pid {a.pid}) is not running")

        # (a) idle: simulator running, no client at all.
        log(f"settling {a.settle_s} s, then idle window {a.window_s} s")
        time.sleep(a.settle_s)
        res["idle"] = Window(a.pid).run(a.window_s)
        log(f"idle: {res['idle']['fxgate_cores']} cores, RSS {res['idle']['rss_kb_mean']} kB")
        mark("after the idle window")

        # Page loads, one browser.
        log("page loads: starting chromium")
        d = browser(a.raw, 0)
        drivers.append(d)
        res["cache_disabled"] = d.cache_disabled
        login(d, a.base, a.user, password)
        mark("after the login (Overview shown)")
        tags_url = a.base + "/ui/tags"
        loads = {"tags": [], "overview": [], "static": []}
        first = load(d, tags_url, TAGS_ROWS, a.folder)
        res["tags_first"] = first
        mark("after the first Tags page load")
        log(f"tags (first ever): FCP {first['fcp_ms']} ms, values {first['shown_ms']} ms, {first['transfer_bytes']} B, "
            f"{first['rows']} rows, clicked {first['clicked']}, error {first['error']}")
        if first["error"]:
            res["notes"].append(f"first Tags load: {first['error']}")
        table = d.execute_script("const t = document.querySelector('#tags'); return t ? t.outerHTML : null;")
        if table:
            head = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>static copy</title><style>"
                    "body{font-family:system-ui,sans-serif;margin:0;color:#222}main{padding:1em}table{border-collapse:collapse}"
                    "td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left}</style></head><body><main>")
            static = Static((head + table + "</main></body></html>").encode())
        for i in range(a.repeat):
            for page in ("overview", "tags", "static"):
                if page == "static" and static is None:
                    continue
                url, sel, folder = {"overview": (a.base + "/ui/overview", OVERVIEW_ROWS, None),
                                    "tags": (tags_url, TAGS_ROWS, a.folder),
                                    "static": (static.url if static else "", TAGS_ROWS, None)}[page]
                r = load(d, url, sel, folder)
                loads[page].append(r)
                if r["error"]:
                    res["notes"].append(f"{page} load {i + 1}: {r['error']}")
            log(f"round {i + 1}/{a.repeat}: " + ", ".join(
                f"{p} FCP {loads[p][-1]['fcp_ms']} / values {loads[p][-1]['shown_ms']} ms / {loads[p][-1]['transfer_bytes']} B"
                for p in loads if loads[p]))
        res["loads"] = loads
        mark("after all page loads")
        d.quit()
        drivers.clear()
        save()

        # (b) BROWSERS browsers on the Tags page.
        log(f"{a.browsers} browsers on the Tags page")
        for n in range(a.browsers):
            b = browser(a.raw, n + 1)
            drivers.append(b)
            login(b, a.base, a.user, password)
            mark(f"after browser {n + 1}'s login")
            r = load(b, tags_url, TAGS_ROWS, a.folder)
            if r["error"]:
                res["notes"].append(f"browser {n + 1}: {r['error']}")
            b.execute_script("performance.setResourceTimingBufferSize(100000)")
        log(f"warm-up {a.warmup_s} s")
        time.sleep(a.warmup_s)
        for b in drivers:
            b.execute_script("performance.clearResourceTimings(); window.__bench_t0 = performance.now();")
        roots = [p for p in (driver_pid(b) for b in drivers) if p]
        w = Window(a.pid, roots).run(a.window_s)
        per = []
        for b in drivers:
            per.append(b.execute_script(
                "return {t0: window.__bench_t0, now: performance.now(), rows: document.querySelectorAll(arguments[0]).length,"
                " res: performance.getEntriesByType('resource').filter(e => e.name.includes('/ui/api/'))"
                ".map(e => ({name: e.name, start: e.startTime, body: e.encodedBodySize, transfer: e.transferSize, dur: e.duration}))}", TAGS_ROWS))
        reqs = sum(len(p["res"]) for p in per)
        body = sum(sum(e["body"] for e in p["res"]) for p in per)
        w["api_requests"] = reqs
        w["api_requests_per_s"] = round(reqs / w["seconds"], 3)
        w["api_body_bytes_per_s"] = round(body / w["seconds"])
        w["api_p50_ms"] = pct([e["dur"] for p in per for e in p["res"]], 0.5)
        w["api_p99_ms"] = pct([e["dur"] for p in per for e in p["res"]], 0.99)
        w["rows_per_browser"] = [p["rows"] for p in per]
        # What the page polls: each API URL's requests in the window and its period (median time
        # between two requests of the same URL in one browser), over all browsers.
        urls: dict[str, dict] = {}
        for p in per:
            starts: dict[str, list[float]] = {}
            for e in p["res"]:
                starts.setdefault(e["name"], []).append(e["start"])
            for u, ts in starts.items():
                x = urls.setdefault(u, {"requests": 0, "gaps": []})
                x["requests"] += len(ts)
                ts.sort()
                x["gaps"] += [(b - a_) / 1000 for a_, b in zip(ts, ts[1:])]
        w["polled"] = {u: {"requests": x["requests"], "period_s": round(med(x["gaps"]), 3) if x["gaps"] else None}
                       for u, x in urls.items()}
        res["browsers"] = w
        mark(f"after {a.browsers} browsers")
        log(f"browsers: fxgate {w['fxgate_cores']} cores, {w['api_requests_per_s']} API requests/s, "
            f"browsers {w['browsers_cores']} cores, machine busy {w['machine_busy_cores']}")
        for b in drivers:
            try:
                b.quit()
            except Exception:  # noqa: BLE001
                pass
        drivers.clear()
        save()

        # (c) the same API polls in plain HTTP.
        # A URL requested only once or twice in the window (the page's start) is not a poll.
        polls = [(urllib.parse.urlsplit(u).path + "?" + urllib.parse.urlsplit(u).query, x["period_s"])
                 for u, x in w["polled"].items() if x["period_s"] and x["requests"] >= 3 * len(per)]
        if not polls:
            polls = [(f"/ui/api/tags?folder={urllib.parse.quote(a.folder)}&folders=false&below=false&offset=0&limit=500", 2.0)]
            res["notes"].append("the browsers' polls were not recognised; the HTTP sessions poll the folder's first page every 2 s")
        res["http_polls"] = polls
        log(f"{a.browsers} HTTP sessions polling {polls}; settle 3 s")
        time.sleep(3)
        stats, counting, finish_http = http_pollers(a.base, a.user, password, a.browsers, polls)
        time.sleep(a.warmup_s)
        counting.set()
        w = Window(a.pid).run(a.window_s)
        counting.clear()
        finish_http()
        finish_http = None
        lat = [x * 1000 for s in stats for x in s["lat"]]
        w["api_requests"] = sum(s["requests"] for s in stats)
        w["api_requests_per_s"] = round(w["api_requests"] / w["seconds"], 3)
        w["api_body_bytes_per_s"] = round(sum(s["bytes"] for s in stats) / w["seconds"])
        w["api_errors"] = sum(s["errors"] for s in stats)
        w["api_p50_ms"], w["api_p99_ms"] = pct(lat, 0.5), pct(lat, 0.99)
        res["http"] = w
        mark(f"after {a.browsers} HTTP sessions")
        log(f"http: fxgate {w['fxgate_cores']} cores, {w['api_requests_per_s']} requests/s, errors {w['api_errors']}")
        save()

        if a.idle_after:
            log(f"idle again {a.window_s} s")
            time.sleep(3)
            res["idle_after"] = Window(a.pid).run(a.window_s)
        res["ok"] = True
    except Exception as e:  # noqa: BLE001 - recorded in the report, exit status 1
        import traceback
        traceback.print_exc()
        res["ok"] = False
        res["notes"].append(f"FAILED: {type(e).__name__}: {e}")
    finally:
        if finish_http:
            finish_http()
        for b in drivers:
            try:
                b.quit()
            except Exception:  # noqa: BLE001
                pass
        if static:
            static.close()
        save()
    with open(a.report, "w") as f:
        f.write(report(res))
    return 0 if res.get("ok") else 1


def report(r: dict) -> str:
    L: list[str] = []
    L.append(f"# fxgate configurator (issue 17) — {r['run_id']}")
    L.append("")
    L.append(f"git {r['git']} · {r['cpus']} CPU ({platform.processor() or platform.machine()}) · simulator `{r['folder']}`: "
             f"{r['tags']:,} Double tags @ {r['interval_ms']} ms · {r.get('chromium', '?')} headless (Selenium) · "
             f"plain HTTP on loopback · cache disabled: {r.get('cache_disabled')} · window {r['window_s']:g} s · "
             f"raw JSON: bench/results/raw-ui-{r['run_id']}/")
    L.append("")
    loads = r.get("loads", {})
    first = r.get("tags_first")
    if first:
        L.append(f"## Page load, cold (median of {r['repeat']} loads; min–max)")
        L.append("")
        L.append("| Page | first contentful paint (ms) | values shown (ms) | transferred (kB) | of which API (kB) | requests | table rows | DOM nodes |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")

        def row(name, xs):
            if not xs:
                return
            rng = lambda k: f"{f0(med([x[k] for x in xs]))} ({f0(min((x[k] for x in xs if x[k] is not None), default=None))}–{f0(max((x[k] for x in xs if x[k] is not None), default=None))})"  # noqa: E731
            L.append(f"| {name} | {rng('fcp_ms')} | {rng('shown_ms')} | {f1(med([x['transfer_bytes'] for x in xs]) / 1000)} | "
                     f"{f1(med([x['api_bytes'] for x in xs]) / 1000)} | {f0(med([x['requests'] for x in xs]))} | "
                     f"{f0(med([x['rows'] for x in xs]))} | {f0(med([x['dom_nodes'] for x in xs]))} |")

        L.append(f"| Tags, first load after start | {f0(first['fcp_ms'])} | {f0(first['shown_ms'])} | {f1(first['transfer_bytes'] / 1000)} | "
                 f"{f1(first['api_bytes'] / 1000)} | {first['requests']} | {f0(first['rows'])} | {f0(first['dom_nodes'])} |")
        row(f"Tags (`/ui/tags`, folder `{r['folder']}`)", loads.get("tags"))
        row("Overview (`/ui/overview`)", loads.get("overview"))
        row("Baseline: static copy of the Tags table (no script, no API)", loads.get("static"))
        t, s = loads.get("tags"), loads.get("static")
        if t and s:
            L.append(f"| Tags / static | {ratio(med([x['fcp_ms'] for x in t]), med([x['fcp_ms'] for x in s]))} | "
                     f"{ratio(med([x['shown_ms'] for x in t]), med([x['shown_ms'] for x in s]))} | "
                     f"{ratio(med([x['transfer_bytes'] for x in t]), med([x['transfer_bytes'] for x in s]))} | | | | |")
        L.append("")
        clicked = any(x.get("clicked") for x in [first] + (t or []))
        L.append("Times from the navigation's start (`performance.timeOrigin`), login done before. *values shown*: the "
                 "first table row has text in its value cell (MutationObserver installed before the page's scripts), "
                 "then the next animation frame, but not before the first contentful paint. *transferred*: Resource Timing `transferSize` of the document and every "
                 "request that ended by then (Chromium counts the encoded body + 300 B per response for headers); the API "
                 "share is `encodedBodySize` of `/ui/api/` requests. Requests after that (the 2 s poll) are not counted."
                 + (" The folder was **clicked** in the tree (the page did not open it by itself): *values shown* is then "
                    "first contentful paint + (the time the table had rows and an API request naming the folder had "
                    "ended, polled every 50 ms − the click): as if clicked at once; `shown_from_nav_ms` in the JSON "
                    "includes the script's 3 s wait."
                    if clicked else ""))
        L.append("")
        if t:
            shown, kb = med([x["shown_ms"] for x in t]), med([x["transfer_bytes"] for x in t]) / 1000
            L.append(f"- Goal ≤ {GOAL_MS} ms to first render of the Tags page with {r['tags']:,} tags: first contentful paint "
                     f"{f0(med([x['fcp_ms'] for x in t]))} ms, values shown {f0(shown)} ms (first load after start "
                     f"{f0(first['shown_ms'])} ms) — {yes(None if shown is None else shown <= GOAL_MS and (first['shown_ms'] or 1e9) <= GOAL_MS)}.")
            L.append(f"- Goal ≤ {GOAL_KB} kB transferred: {f1(kb)} kB — {yes(kb <= GOAL_KB)}.")
            L.append("")
    idle = r.get("idle")
    if idle:
        L.append("## Cost to the gateway (fxgate's PID only; 1.0 = one core)")
        L.append("")
        L.append("| Phase | fxgate CPU (cores) | extra over idle (cores) | extra / 0.05-core goal | RSS mean / peak (MiB) | "
                 "API requests/s | API kB/s | API p50 / p99 (ms) | browsers' CPU (cores) | machine busy / steal (cores) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        base = idle["fxgate_cores"]
        phases = [("(a) idle: simulator only, no client", "idle"),
                  (f"(b) {r['n_browsers']} headless browsers on the Tags page", "browsers"),
                  (f"(c) {r['n_browsers']} plain HTTP sessions, same API polls", "http"),
                  ("(a′) idle again", "idle_after")]
        for name, k in phases:
            w = r.get(k)
            if not w:
                continue
            extra = w["fxgate_cores"] - base
            is_load = k in ("browsers", "http")
            L.append(f"| {name} | {f3(w['fxgate_cores'])} | {f3(extra) if k != 'idle' else '–'} | "
                     f"{ratio(extra, GOAL_CORES) if is_load else '–'} | {mib(w['rss_kb_mean'])} / {mib(w['rss_kb_peak'])} | "
                     f"{f1(w.get('api_requests_per_s')) if is_load else '–'} | "
                     f"{f1(w['api_body_bytes_per_s'] / 1000) if is_load else '–'} | "
                     f"{(f1(w.get('api_p50_ms')) + ' / ' + f1(w.get('api_p99_ms'))) if is_load else '–'} | "
                     f"{f3(w['browsers_cores']) if w.get('browsers_cores') is not None else '–'} | "
                     f"{f3(w['machine_busy_cores'])} / {f3(w['steal_cores'])} |")
        L.append("")
        b, h = r.get("browsers"), r.get("http")
        if b:
            eb = b["fxgate_cores"] - base
            L.append(f"- Goal ≤ {GOAL_CORES} core while {r['n_browsers']} browsers poll live values: fxgate's extra CPU "
                     f"{f3(eb)} core ({ratio(eb, GOAL_CORES)} × the goal) — {yes(eb <= GOAL_CORES)}"
                     + (f"; with the same polls in plain HTTP {f3(h['fxgate_cores'] - base)} core "
                        f"({ratio(h['fxgate_cores'] - base, GOAL_CORES)} × the goal)." if h else "."))
            L.append(f"- RSS: idle {mib(idle['rss_kb_mean'])} MiB → {mib(b['rss_kb_peak'])} MiB peak with the browsers"
                     + (f", {mib(h['rss_kb_peak'])} MiB with the HTTP sessions" if h else "")
                     + (f", {mib(r['idle_after']['rss_kb_mean'])} MiB idle afterwards" if r.get("idle_after") else "") + ".")
            if h:
                L.append("- What the page polls, measured in (b) (requests in the window by all browsers, median period): "
                         + ", ".join(f"`{urllib.parse.urlsplit(u).path}?{urllib.parse.urlsplit(u).query}` {x['requests']} × "
                                     f"every {x['period_s']} s" for u, x in b.get("polled", {}).items())
                         + "; the HTTP sessions poll " + ", ".join(f"`{p}` every {t} s" for p, t in r.get("http_polls", []))
                         + f" each; HTTP errors: {h.get('api_errors')}.")
            for name, w in (("(b)", b), ("(c)", h)):
                if w and w.get("api_requests"):
                    ms = (w["fxgate_cores"] - base) * w["seconds"] * 1000 / w["api_requests"]
                    L.append(f"- {name}: {ms:.2f} ms of fxgate CPU per API answer over idle "
                             f"({w['api_body_bytes_per_s'] / w['api_requests_per_s'] / 1000:.1f} kB each, "
                             f"{w['api_requests_per_s']:.2f}/s); at that cost the 0.05-core goal allows "
                             + (f"{GOAL_CORES / (ms / 1000):.0f} answers/s." if ms > 0 else "any rate measurable here."))
            L.append("- Extra CPU = the phase's fxgate CPU minus idle (a). The browsers' CPU (chromium and chromedriver "
                     "process trees) is shown for context only and is not fxgate's cost; on a 2-CPU host it competes with "
                     "fxgate, so *machine busy* shows how loaded the host was.")
        L.append("")
    for name, k in (("(a)", "idle"), ("(b)", "browsers"), ("(c)", "http"), ("(a′)", "idle_after")):
        w = r.get(k)
        if w:
            other = w["machine_busy_cores"] - w["fxgate_cores"] - (w.get("browsers_cores") or 0)
            if other >= 0.2 or w["steal_cores"] >= 0.1:
                L.append(f"- **Disturbed** {name}: processes not started by this run used {other:.2f} core"
                         f" and the hypervisor stole {w['steal_cores']:.2f} core during the window.")
    if r.get("rss_marks"):
        L.append("fxgate's RSS (MiB) at each step: " + "; ".join(f"{w} {mib(k)}" for w, k in r["rss_marks"]) + ".")
        L.append("")
    for n in r.get("notes", []):
        L.append(f"- {n}")
    return "\n".join(L).rstrip() + "\n"


if __name__ == "__main__":
    sys.exit(main())
