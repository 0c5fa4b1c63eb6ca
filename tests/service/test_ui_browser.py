"""The web UI in a real browser: Debian's Chromium (``/usr/bin/chromium``, never a downloaded browser) driven
by Playwright's Python package, against ``formguide.service`` served by uvicorn on a free loopback port with one
job worker inside it (``create_app(workers=1)``, as ``formguide serve --workers 1``), on a store built here
(E0 2022/23-2024/25, no model yet).

The click-through: sign in with the token → configure (sport, league, model type) → start → the progress bar
runs to completion → history shows the run → a second run → promote a version (confirm dialog) → the
dashboard shows the new champion → the predictions page serves the promoted version. Screenshots of each page, desktop and 390×844, go to ``docs/screenshots/``
with ``FORMGUIDE_SCREENSHOTS=1`` (else the test's tmp folder). With ``FORMGUIDE_UI_DEMO_HOME`` set to a copy of
a ``make demo`` home, a second test saves the README's screenshots of every page of that store.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers import E0_SEASONS, copy_sqlite, ingest_e0

from formguide.core.settings import Settings
from formguide.core.store.db import open_store
from formguide.service.api import create_app

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-test-token"
REPO = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
#: A screenshot larger than this is reduced to a 256-colour palette (README images stay small).
MAX_PNG_BYTES = 300_000

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} is missing: install Debian's "
                                "chromium (`apt-get install -y chromium`; `make test` does it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """The app on uvicorn in a thread; ``workers`` job workers run inside it (``formguide serve --workers``)."""

    def __init__(self, settings: Settings, workers: int) -> None:
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(settings, workers=workers), host="127.0.0.1",
                                                    port=self.port, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start within 60 s"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True  # the lifespan stops the workers
        self.thread.join(60)


@pytest.fixture
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _shots_dir(tmp_path: Path) -> Path:
    folder = REPO / "docs" / "screenshots" if os.environ.get("FORMGUIDE_SCREENSHOTS") == "1" else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shot(page, folder: Path, name: str) -> Path:
    """A full-page PNG of ``page``; above MAX_PNG_BYTES it is saved with a 256-colour palette."""
    data = page.screenshot(full_page=True)
    path = folder / f"{name}.png"
    if len(data) > MAX_PNG_BYTES:
        from PIL import Image

        image = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        data = buffer.getvalue()
    path.write_bytes(data)
    return path


@pytest.fixture
def store(tmp_path, football_dir) -> Settings:
    path = tmp_path / "ui.sqlite"
    engine = open_store(f"sqlite:///{path}")
    ingest_e0(engine, football_dir, E0_SEASONS)
    engine.dispose()
    return Settings(db_url=f"sqlite:///{path}", artifacts_dir=tmp_path / "artifacts", api_token=TOKEN)


def _train(page, base: str, model_type: str, timeout_s: float = 180, running_shot: Path | None = None,
           keyboard: bool = False) -> str:
    """Configure and start one football E0 run from the training page; wait for its task to complete (a
    screenshot to ``running_shot`` when a poll finds the run under way; a run done within one poll has none). ``keyboard``: choose the model type
    and start with the keyboard only."""
    page.goto(base + "/training")
    page.select_option("#sport", "football")  # the page reloads with that sport's leagues and options
    page.wait_for_url(re.compile(r"sport=football"))
    page.select_option("#league", ["E0"])
    if keyboard:
        page.focus("#model_type")
        options = page.eval_on_selector("#model_type", "s => Array.from(s.options).map(o => o.value)")
        for _ in range(options.index(model_type)):
            page.keyboard.press("ArrowDown")
        assert page.eval_on_selector("#model_type", "s => s.value") == model_type
    else:
        page.select_option("#model_type", model_type)
    summary = page.locator("#summary-list")
    assert "leagues: E0" in summary.inner_text() and f"model type: {model_type}" in summary.inner_text()
    if running_shot is not None:  # the bar drawn at its value at once (no width transition) for the picture
        page.add_style_tag(content=".bar > span { transition: none !important; }")
    before = page.locator("#live [data-task]").count()
    if keyboard:
        page.focus("#start")
        page.keyboard.press("Enter")
    else:
        page.click("#start")
    page.locator("#live [data-task]").nth(before).wait_for(state="attached")  # locators: the CSP forbids eval
    task = page.locator("#live [data-task]").first
    page.locator("#live [data-task][data-status]").first.wait_for(state="attached")
    deadline = time.monotonic() + timeout_s
    while task.get_attribute("data-status") not in ("completed", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"the task did not finish in {timeout_s} s: {task.inner_text()}"
        if running_shot is not None and task.get_attribute("data-status") == "running" and int(
                task.locator(".bar").get_attribute("aria-valuenow") or 0) > 0:
            page.screenshot(path=str(running_shot), full_page=True)  # best effort: a quick run may skip it
            running_shot = None
        time.sleep(0.25)
    page.wait_for_timeout(500)  # the bar's width transition
    assert task.get_attribute("data-status") == "completed", task.inner_text()
    assert task.locator(".bar").get_attribute("aria-valuenow") == "100"
    return task.inner_text()


def test_configure_train_watch_history_promote(browser, store, tmp_path):
    shots = _shots_dir(tmp_path)
    with Served(store, workers=1) as served:
        page = browser.new_page(viewport=DESKTOP)
        problems: list[str] = []  # script errors and refused resources (the pages' CSP), none expected
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(served.url + "/")
        assert "No champion yet" in page.inner_text("main")
        page.keyboard.press("Tab")  # keyboard users meet the skip link first
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        # writes need the token: the training page says so and its Start button is disabled
        page.goto(served.url + "/training")
        assert page.locator("#start").is_disabled()
        page.click("text=sign in")
        page.fill("#token", "wrong")
        page.click("button[type=submit]")
        assert "wrong token" in page.inner_text("main")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/training$"))
        assert page.locator("text=Sign out").is_visible()

        # configure: clear-selection buttons, the show/hide toggle, an error shown in place
        page.select_option("#sport", "football")
        page.wait_for_url(re.compile(r"sport=football"))
        page.select_option("#league", ["E0"])
        page.select_option("#season", ["2425"])
        assert "seasons: 2425" in page.inner_text("#summary-list")
        page.click("text=Clear seasons")
        assert "every stored season" in page.inner_text("#summary-list")
        page.fill("#date_from", "2025-01-01")
        page.fill("#date_to", "2024-01-01")
        page.click("#start")
        error = page.locator("#train-error")
        error.wait_for(state="visible")
        assert "after" in error.inner_text() and "2024-01-01" in error.inner_text()
        page.fill("#date_from", "")
        page.fill("#date_to", "")
        page.click("text=Hide configuration")
        assert page.locator("#config").is_hidden()
        page.click("text=Show configuration")
        assert page.locator("#config").is_visible()
        shot(page, shots, "flow-training-configured")

        # train (Elo: the line's first version becomes its champion), watching the bar to completion
        first = _train(page, served.url, "elo", running_shot=shots / "flow-training-running.png")
        assert "completed" in first
        shot(page, shots, "flow-training-completed")

        page.goto(served.url + "/history")
        history = page.inner_text("main")
        assert "football-E0" in history and "succeeded" in history
        shot(page, shots, "flow-history")

        # a second version, then promote whichever of the two is not the champion
        _train(page, served.url, "poisson", keyboard=True)
        page.goto(served.url + "/models")
        rows = page.locator("tr[data-model]")
        assert rows.count() == 2
        candidate = page.locator("tr[data-model]:not(.is-champion)")
        target_type = candidate.locator("td").nth(3).inner_text().strip()
        target_version = candidate.locator("td").first.inner_text().strip()  # "v1" or "v2"
        page.once("dialog", lambda d: d.accept())
        candidate.locator("button", has_text="Promote").click()
        page.wait_for_url(re.compile(r"promoted="))
        assert "is now its line's champion" in page.inner_text("main")
        assert page.locator("tr.is-champion td").nth(3).inner_text().strip() == target_type
        shot(page, shots, "flow-models-promoted")

        page.goto(served.url + "/")
        champion = page.locator("article.champion[data-line='football-E0']")
        assert target_type in champion.inner_text() and "champion" in champion.inner_text()
        shot(page, shots, "flow-dashboard")
        page.click("article.champion[data-line='football-E0'] h2 a")
        assert "Reliability diagram" in page.inner_text("main")
        assert page.locator("figure img").evaluate("img => img.complete && img.naturalWidth > 0")
        shot(page, shots, "flow-model")
        # the predictions page (ui-predictions) serves the new champion
        page.goto(served.url + "/predictions?sport=football&league=E0&date=2025-05-25")
        assert f"football-E0 {target_version}" in page.inner_text("#served-version")
        shot(page, shots, "flow-predictions")

        assert [p for p in problems if "the server responded with a status of 4" not in p] == [], problems
        phone = browser.new_page(viewport=PHONE)
        for path, name in (("/", "dashboard"), ("/training?sport=football", "training"), ("/history", "history"),
                           ("/models", "models")):
            phone.goto(served.url + path)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width} px wide at phone width (tables must scroll)"
            shot(phone, shots, f"flow-{name}-phone")
        phone.click("text=Menu")
        assert phone.locator("#nav a", has_text="History").is_visible()


@pytest.mark.skipif(not os.environ.get("FORMGUIDE_UI_DEMO_HOME"),
                    reason="README screenshots: set FORMGUIDE_UI_DEMO_HOME to a copy of a `make demo` home")
def test_screenshots_of_the_demo_store(browser, tmp_path):
    """Every page of a demo store, desktop and phone, and a blend run under way (on a private copy: the
    demo's own store is never written)."""
    home = tmp_path / "demo"
    source = Path(os.environ["FORMGUIDE_UI_DEMO_HOME"])
    shutil.copytree(source / "formguide-artifacts", home / "formguide-artifacts")
    copy_sqlite(source / "formguide.sqlite", home / "formguide.sqlite")
    settings = Settings(db_url=f"sqlite:///{home / 'formguide.sqlite'}", artifacts_dir=home / "formguide-artifacts",
                        api_token=TOKEN)
    shots = _shots_dir(tmp_path)
    with Served(settings, workers=1) as served:
        desktop, phone = browser.new_page(viewport=DESKTOP), browser.new_page(viewport=PHONE)
        for p in (desktop, phone):
            p.goto(served.url + "/login")
            p.fill("#token", TOKEN)
            p.click("button[type=submit]")
        html = desktop.content()  # the model page of the demo's football champion, else the first one
        champion = (re.search(r'data-line="football-E0"[^>]*>\s*<header>.*?<a href="/models/(\d+)"', html, re.S)
                    or re.search(r'href="/models/(\d+)"', html))
        pages = [("/", "dashboard"), ("/training?sport=football", "training"), ("/history", "history"),
                 ("/models", "models")]
        if champion:
            pages.append((f"/models/{champion.group(1)}?monitor=true", "model"))  # with its drift report
        for path, name in pages:
            for p, suffix in ((desktop, ""), (phone, "-phone")):
                p.goto(served.url + path)
                if name == "training":  # a configured panel: two seasons of E0, the summary says so
                    p.select_option("#league", ["E0"])
                    p.select_option("#season", ["2324", "2425"])
                saved = shot(p, shots, f"{name}{suffix}")
                assert saved.stat().st_size < MAX_PNG_BYTES * 1.5, saved
        # a run under way on the demo's data (a blend on ten E0 seasons takes long enough to be seen running)
        desktop.goto(served.url + "/training?sport=football")
        desktop.add_style_tag(content=".bar > span { transition: none !important; }")
        desktop.select_option("#league", ["E0"])
        desktop.select_option("#model_type", "blend")
        seasons = desktop.eval_on_selector("#season", "s => Array.from(s.options).map(o => o.value)")
        desktop.select_option("#season", seasons[:10])  # not the demo's configuration (that one is skipped)
        desktop.click("#start")
        task = desktop.locator("#live [data-task]").first
        deadline = time.monotonic() + 300
        while not (task.get_attribute("data-status") == "running"
                   and int(task.locator(".bar").get_attribute("aria-valuenow") or 0) >= 10):
            assert time.monotonic() < deadline and task.get_attribute("data-status") in ("queued", "running", None), \
                task.inner_text()
            time.sleep(0.2)
        shot(desktop, shots, "training-running")
