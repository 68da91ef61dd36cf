"""What the test files share: the order `make test` runs them in, and the browser tests' set-up.

Order: under pytest-xdist's ``--dist loadfile`` each file runs on one worker, in collection order. The
in-browser run of chapters (tests/test_lite.py) is by far the longest file, so it goes first: one worker
starts it while the other works through everything else, instead of it starting last and running alone.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=MediaRouter,OptimizationHints,Translate",
]
# Longest first (seconds on the 2-core CI machine): the Lite run, the built book's pages, a chapter in JupyterLab.
RUN_FIRST = ["test_lite.py", "test_browser.py", "test_jupyterlab.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(RUN_FIRST)))  # stable: the rest keep their order


@contextlib.contextmanager
def serve(directory: Path, handler: type[http.server.SimpleHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(directory)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@contextlib.contextmanager
def chromium(sync_api, extra_args: tuple[str, ...] = ()) -> Iterator[object]:
    """Debian's headless Chromium under Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is required: apt-get install chromium (make test installs it)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def offline_page(browser, base_url: str, *, service_workers: bool = False,
                 viewport: dict | None = None, rewrite: Callable | None = None) -> Iterator[object]:
    """A page in a fresh browser context (its own storage) where every request leaving ``base_url``'s host
    is refused and recorded in ``page.outside_requests``; JavaScript errors go to ``page.page_errors``.

    The route is on the context, so requests from web workers and service workers are caught too.
    ``rewrite(route, path)`` may answer a request to the host itself (return True if it did)."""
    options = {"service_workers": "allow" if service_workers else "block"}
    if viewport is not None:
        options["viewport"] = viewport
    context = browser.new_context(**options)
    page = context.new_page()
    page.outside_requests, page.page_errors = [], []
    host = urlparse(base_url).netloc

    def route(r):
        url = urlparse(r.request.url)
        if url.scheme in ("data", "blob"):
            r.continue_()
        elif url.netloc != host:
            page.outside_requests.append(r.request.url)
            r.abort()
        elif rewrite is None or not rewrite(r, url.path):
            r.continue_()

    context.route("**/*", route)
    page.on("pageerror", lambda e: page.page_errors.append(str(e)))
    try:
        yield page
    finally:
        context.close()
