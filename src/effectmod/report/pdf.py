"""report.pdf: print report.html with headless Chromium (Debian's chromium package)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import UsageError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# quiet, offline, throw-away profile: printing a local file must never touch the network
BASE_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
              "--mute-audio", "--hide-scrollbars")
TIMEOUT_SECONDS = 120


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary on PATH, or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def open_details(html: str) -> str:
    """The page with every collapsed <details> section open, so that printing shows its content.

    Text from the data or the plan is escaped in report.html, so a literal ``<details>`` tag can
    only be the template's own."""
    return html.replace("<details>", "<details open>")


def chromium_command(binary: str, profile: str, *flags: str) -> list[str]:
    return [binary, *BASE_FLAGS, f"--user-data-dir={profile}", *flags]


def html_to_pdf(html_path: str | Path, pdf_path: str | Path) -> Path:
    """Print ``html_path`` to ``pdf_path``; raises UsageError when Chromium is missing or fails."""
    binary = find_chromium()
    if binary is None:
        raise UsageError("--pdf needs headless Chromium, which was not found on PATH; install Debian's chromium "
                         "package (apt-get install chromium) or open report.html in a browser and print it")
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    with tempfile.TemporaryDirectory(prefix="effectmod-chromium-") as profile:
        tmp_pdf = Path(profile) / "report.pdf"
        # the page is self-contained (data: URIs), so a copy with every section open prints the same page
        printable = Path(profile) / "print.html"
        printable.write_text(open_details(html_path.read_text(encoding="utf-8")), encoding="utf-8")
        cmd = chromium_command(binary, profile, "--no-pdf-header-footer", f"--print-to-pdf={tmp_pdf}",
                               printable.as_uri())
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise UsageError(f"Chromium did not finish printing {html_path.name} within {TIMEOUT_SECONDS} s") from None
        if not tmp_pdf.is_file() or tmp_pdf.stat().st_size == 0:
            tail = "; ".join(line for line in proc.stderr.splitlines()[-3:] if line.strip())
            raise UsageError(f"Chromium could not print {html_path.name} to PDF (exit {proc.returncode}): {tail}")
        shutil.move(str(tmp_pdf), pdf_path)
    return pdf_path
