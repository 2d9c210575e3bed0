"""report.html in a real browser: headless Chromium driven over the DevTools protocol.

The protocol runs over ``--remote-debugging-pipe`` (file descriptors 3 and 4, messages separated
by NUL bytes), so no websocket package is needed. Skipped when no Chromium binary is installed.
"""
from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
from PIL import Image, ImageStat

from effectmod.report.pdf import chromium_command, find_chromium
from report_cases import written

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (apt-get install chromium)")

# a page load of a ~0.5 MB local file takes well under a second; generous for loaded CI machines
TIMEOUT = 30.0
LAPTOP, PHONE = (1366, 768), (390, 844)
# a rendered figure has plenty of ink; a blank or broken image box is nearly one colour
MIN_FIGURE_STDDEV = 8.0
MIN_FIGURE_PX = 100


class Browser:
    """The smallest DevTools client that does what these tests need."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="effectmod-cdp-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Chromium reads fd 3 and writes fd 4; move our ends above them first, so that dup2 never
        # gets equal numbers (which would leave close-on-exec set and the pipe shut at exec)
        high_r, high_w = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        to_chrome_r, from_chrome_w = high_r, high_w

        def wire():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        cmd = chromium_command(CHROMIUM, self.profile, "--remote-debugging-pipe",
                               '--host-resolver-rules=MAP * ~NOTFOUND', "about:blank")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=wire, close_fds=False)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next = 0
        self._replies: dict[int, dict] = {}
        self.events: "queue.Queue[dict]" = queue.Queue()
        self.seen: list[dict] = []
        self._lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)

    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        self._replies[msg["id"]] = msg
                        self._lock.notify_all()
                else:
                    self.seen.append(msg)
                    self.events.put(msg)

    def call(self, method: str, session: bool = False, **params) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        with self._lock:
            while msg["id"] not in self._replies:
                if not self._lock.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(method)
            reply = self._replies.pop(msg["id"])
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def load(self, url: str, size: tuple[int, int]) -> None:
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=size[0], height=size[1],
                  deviceScaleFactor=1, mobile=size[0] < 600)
        while not self.events.empty():
            self.events.get_nowait()
        self.seen.clear()
        self.call("Page.navigate", session=True, url=url)
        deadline = time.monotonic() + TIMEOUT
        while True:
            msg = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if msg.get("method") == "Page.loadEventFired":
                break
        # images are decoded after load: wait until every one is complete
        self.evaluate("Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)))")

    def evaluate(self, expression: str):
        r = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(r["exceptionDetails"])
        return r["result"].get("value")

    def screenshot(self, clip: dict | None = None) -> Image.Image:
        params = {"format": "png", "captureBeyondViewport": True}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        data = self.call("Page.captureScreenshot", session=True, **params)["data"]
        return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, dialogs (a script ran) and network requests."""
        out = []
        for m in self.seen:
            method, p = m.get("method"), m.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled":
                out.append(f"console.{p['type']}: {[a.get('value') for a in p['args']]}")
            elif method == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append(f"log {p['entry']['level']}: {p['entry']['text']}")
            elif method == "Page.javascriptDialogOpening":
                out.append(f"dialog: {p.get('message')}")
            elif method == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if not url.startswith(("file:", "data:", "about:")):
                    out.append(f"network request: {url}")
        return out

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def folders():
    return {"demo": written("demo"), "rich": written("rich")}


FIGURE_BOXES = """Array.from(document.querySelectorAll('figure img')).map(i => {
  const r = i.getBoundingClientRect();
  return {id: i.closest('figure').id, x: r.left + window.scrollX, y: r.top + window.scrollY,
          width: r.width, height: r.height, natural: i.naturalWidth, complete: i.complete};
})"""
OVERFLOW = "[document.documentElement.scrollWidth, document.documentElement.clientWidth, document.body.scrollWidth]"


def figure_problems(browser: Browser) -> list[str]:
    """Figures that are missing, not decoded, collapsed, or blank in the screenshot."""
    out = []
    boxes = browser.evaluate(FIGURE_BOXES)
    for b in boxes:
        if not b["complete"] or b["natural"] == 0 or b["width"] < MIN_FIGURE_PX or b["height"] < MIN_FIGURE_PX:
            out.append(f"{b['id']}: not rendered ({b})")
            continue
        shot = browser.screenshot({"x": b["x"], "y": b["y"], "width": b["width"], "height": b["height"]})
        spread = max(ImageStat.Stat(shot.convert("L")).stddev)
        if spread < MIN_FIGURE_STDDEV:
            out.append(f"{b['id']}: blank in the screenshot (grey-level SD {spread:.1f})")
    return out


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop-1366", "phone-390"])
def test_demo_report_loads_cleanly_and_holds_its_layout(browser, folders, size):
    browser.load((folders["demo"] / "report.html").as_uri(), size)
    assert browser.problems() == []
    scroll, client, body = browser.evaluate(OVERFLOW)
    assert scroll <= client and body <= client, f"horizontal overflow at {size[0]} px: {scroll} > {client}"
    boxes = browser.evaluate(FIGURE_BOXES)
    assert {b["id"] for b in boxes} >= {"figure-consort_flow", "figure-forest_interactions"}
    assert figure_problems(browser) == []
    # wide tables scroll inside their own box rather than pushing the page sideways
    assert browser.evaluate("Array.from(document.querySelectorAll('table')).every(t => t.closest('.wrap') || t.closest('dl'))")


def test_injected_script_label_is_shown_as_text_and_never_runs(browser, folders):
    browser.load((folders["rich"] / "report.html").as_uri(), LAPTOP)
    assert browser.problems() == []
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("document.body.innerText.includes('<script>alert(1)</script>')")
    assert figure_problems(browser) == []


def test_screenshot_check_fails_when_a_figure_is_missing(browser, folders, tmp_path):
    """The figure check is not vacuous: a report with one figure's image emptied is caught."""
    html = (folders["demo"] / "report.html").read_text(encoding="utf-8")
    start = html.index('src="data:image/svg+xml;base64,', html.index('id="figure-forest_interactions"'))
    end = html.index('"', start + 5)
    broken = html[:start] + 'src="data:image/svg+xml;base64,' + base64.b64encode(
        b'<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400"></svg>').decode() + html[end:]
    (tmp_path / "report.html").write_text(broken, encoding="utf-8")
    browser.load((tmp_path / "report.html").as_uri(), LAPTOP)
    found = figure_problems(browser)
    assert len(found) == 1 and found[0].startswith("figure-forest_interactions:"), found


def test_report_prints_to_pdf(folders, tmp_path):
    """`effectmod report DIR --pdf` through the same headless browser."""
    from effectmod.cli import main
    folder = tmp_path / "out"
    shutil.copytree(folders["rich"], folder)
    assert main(["report", str(folder), "--pdf"]) == 0
    blob = (folder / "report.pdf").read_bytes()
    assert blob.startswith(b"%PDF-") and len(blob) > 20_000
    assert blob.count(b"/Type /Page") - blob.count(b"/Type /Pages") >= 3


ALL_TESTS_RIGHT_EDGES = """(() => {
  const t = document.querySelector('#results table');
  // a note as long as the longest effectmod writes (a reason plus the follow-up and the model's words)
  t.querySelectorAll('td .lo').forEach(n => { if (n.textContent.length > 60) n.textContent = n.textContent.repeat(3); });
  const rows = Array.from(t.querySelectorAll('tbody tr')).filter(r => !r.classList.contains('band'));
  return {view: document.documentElement.clientWidth, box: t.closest('.wrap').getBoundingClientRect().right,
          notes: rows.filter(r => r.querySelector('.lo') && r.querySelector('.lo').textContent.length > 60).length,
          right: Math.max(...rows.map(r => r.lastElementChild.getBoundingClientRect().right))};
})()"""


def test_long_notes_in_all_interaction_tests_wrap_and_keep_p_n_tier_in_view(browser, folders):
    """The rich case's not-estimable rows carry long notes (made longer still here); they wrap, and
    P, n and tier stay on screen at 1280 px."""
    browser.load((folders["rich"] / "report.html").as_uri(), (1280, 800))
    edges = browser.evaluate(ALL_TESTS_RIGHT_EDGES)
    assert edges["notes"] > 0, "the rich case must have a long note in the all-tests table"
    assert edges["right"] <= min(edges["view"], edges["box"]) + 1, edges


def test_demo_table2_etables_and_section_tables_fit_a_1920_px_screen(browser, folders):
    """Table 2 holds the main analysis only (sensitivity models are eTables) and the credibility
    table is one compact row per claim, so neither scrolls sideways on a desktop screen."""
    browser.load((folders["demo"] / "report.html").as_uri(), (1920, 1080))
    widths = browser.evaluate("Array.from(document.querySelectorAll('table.jama, section[id^=section-] table'))"
                              ".map(t => [t.scrollWidth, t.closest('.wrap').clientWidth])")
    assert len(widths) >= 5 and all(w <= box for w, box in widths), widths


def test_the_key_findings_block_is_the_first_section(browser, folders):
    """What a reader sees first: the average effects and the claimed modifiers, before the plan."""
    browser.load((folders["demo"] / "report.html").as_uri(), LAPTOP)
    first = browser.evaluate("(() => { const s = document.querySelector('main section');"
                             " return [s.id, s.querySelector('h2').innerText, s.querySelectorAll('li').length,"
                             " s.getBoundingClientRect().top]; })()")
    assert first[:2] == ["key-findings", "Key findings"] and first[2] >= 5
    # above the fold on a laptop screen
    assert first[3] < LAPTOP[1]
    assert browser.evaluate("document.querySelector('#key-findings').innerText.includes('Average treatment effect on pain intensity')")


TABLE_FIT = """Array.from(document.querySelectorAll('main table')).map(t => {
  const box = t.closest('.wrap');
  return [t.closest('section').id, t.scrollWidth, box ? box.clientWidth : -1, t.getBoundingClientRect().right];
})"""


@pytest.mark.parametrize("case", ["demo", "rich"])
def test_no_main_report_table_is_wider_than_a_1280_px_screen(browser, folders, case):
    """Every table of the report - Table 1, Table 2 and the eTables (whose not-estimable cells
    carry long notes in the rich case), the section tables - fits a 1280-px laptop screen without
    scrolling sideways."""
    browser.load((folders[case] / "report.html").as_uri(), (1280, 800))
    found = browser.evaluate(TABLE_FIT)
    view = browser.evaluate("document.documentElement.clientWidth")
    assert len(found) >= 10 and {"table1", "interactions"} <= {s for s, *_ in found}
    wide = [f for f in found if f[2] < 0 or f[1] > f[2] or f[3] > view + 1]
    assert wide == [], wide


def test_a_selected_figure_opens_at_full_size_on_a_phone(browser, folders):
    """On a 390-px phone a figure is scaled to the screen; selecting it shows it at its full size,
    scrolling sideways inside the figure while the page itself keeps its width."""
    url = (folders["demo"] / "report.html").as_uri()
    width = "document.querySelector('#figure-forest_interactions img').getBoundingClientRect().width"
    browser.load(url, PHONE)
    fitted = browser.evaluate(width)
    assert fitted <= PHONE[0]
    # what a tap on the figure's link does
    browser.evaluate("document.querySelector('#figure-forest_interactions a.zoom').click()")
    assert browser.evaluate("location.hash") == "#figure-forest_interactions"
    assert browser.evaluate(width) > 1.5 * fitted
    scroll, client, body = browser.evaluate(OVERFLOW)
    assert scroll <= client and body <= client
    assert browser.problems() == []
