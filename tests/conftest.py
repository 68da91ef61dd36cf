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
# axe-core (npm, installed by `make test` into .build/axe): the accessibility rules the browser tests run.
AXE = Path(__file__).resolve().parent.parent / ".build" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
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


def axe_violations(page, contexts: str = "[document]") -> list[dict]:
    """axe-core's critical and serious violations in the open page, one dict per flagged element (rule,
    impact, target, the element's classes, the first lines of axe's summary). ``contexts``: a JavaScript
    expression for the elements to check, each checked on its own (default: the whole document)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: make test installs axe-core from npm")
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        f"""async () => {{
          const found = [];
          for (const context of {contexts}) {{
            const result = await axe.run(context, {{resultTypes: ['violations']}});
            for (const v of result.violations) {{
              if (v.impact !== 'critical' && v.impact !== 'serious') continue;
              for (const n of v.nodes)
                found.push({{rule: v.id, impact: v.impact, target: n.target.join(' '),
                             classes: document.querySelector(n.target[0])?.getAttribute('class'),
                             summary: n.failureSummary.split('\\n').slice(0, 2).join(' ')}});
            }}
          }}
          return found;
        }}"""
    )


def describe(violations: list[dict]) -> list[str]:
    """One line per axe violation, for an assertion message."""
    return [f"{v['impact']} {v['rule']} at {v['target']}: {v['summary']}" for v in violations]
