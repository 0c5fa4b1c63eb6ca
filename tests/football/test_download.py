"""download_football against a real HTTP server on 127.0.0.1 serving <season>/<league>.csv."""

from __future__ import annotations

import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from formguide.core.errors import DownloadError
from formguide.football.download import download_football
from formguide.football.parse import parse_file


class _Handler(SimpleHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server naming
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/site; yields (base_url, site folder, list of requested paths)."""
    site = tmp_path / "site"
    site.mkdir()
    handler = type("Handler", (_Handler,), {"requests": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", site, handler.requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """The default client honours proxy variables; requests to 127.0.0.1 must not go through one."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


def _publish(site: Path, source: Path, league: str, season: str) -> Path:
    target = site / season / f"{league}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def test_download_real_files(server, football_dir, tmp_path):
    base_url, site, requests = server
    _publish(site, football_dir / "E0_2324.csv", "E0", "2324")
    _publish(site, football_dir / "E0_2425.csv", "E0", "2425")  # has a byte-order mark
    _publish(site, football_dir / "D1_2324.csv", "D1", "2324")
    dest = tmp_path / "out"
    paths = download_football(["E0"], ["2324", "2425"], dest, base_url=base_url)
    paths += download_football("d1", "2324", dest, base_url=base_url + "/")
    assert [p.name for p in paths] == ["E0_2324.csv", "E0_2425.csv", "D1_2324.csv"]
    for p in paths:
        league, season = p.stem.split("_")
        assert p.read_bytes() == (football_dir / f"{league}_{season}.csv").read_bytes()
    assert requests == ["/2324/E0.csv", "/2425/E0.csv", "/2324/D1.csv"]
    assert sorted(f.name for f in dest.iterdir()) == ["D1_2324.csv", "E0_2324.csv", "E0_2425.csv"]  # no temp files
    assert len(parse_file(paths[1]).matches) == 380  # the name it gets is the one the parser checks


def test_download_with_given_client_overwrites(server, football_dir, tmp_path):
    base_url, site, _ = server
    _publish(site, football_dir / "SC1_2122.csv", "SC1", "2122")
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "SC1_2122.csv").write_text("old")
    with httpx.Client() as client:
        (path,) = download_football("SC1", 2122, dest, base_url=base_url, client=client)
        assert not client.is_closed  # a caller's client is left open
    assert path.read_bytes() == (football_dir / "SC1_2122.csv").read_bytes()


def test_404_names_the_url_and_keeps_old_file(server, tmp_path):
    base_url, _, requests = server
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "E0_2324.csv").write_text("previous good copy")
    with pytest.raises(DownloadError) as info:
        download_football("E0", "2324", dest, base_url=base_url)
    assert f"{base_url}/2324/E0.csv" in str(info.value) and "404" in str(info.value)
    assert (dest / "E0_2324.csv").read_text() == "previous good copy"
    assert [f.name for f in dest.iterdir()] == ["E0_2324.csv"]
    assert requests == ["/2324/E0.csv"]


def test_body_that_is_not_a_csv(server, tmp_path):
    base_url, site, _ = server
    (site / "2324").mkdir()
    (site / "2324" / "E0.csv").write_text("<html><body>Maintenance</body></html>")
    with pytest.raises(DownloadError, match="did not return a football-data CSV"):
        download_football("E0", "2324", tmp_path / "out", base_url=base_url)
    assert not (tmp_path / "out" / "E0_2324.csv").exists()


def test_connection_refused_names_the_url(tmp_path):
    import socket

    with socket.socket() as s:  # a port that was free a moment ago, nothing listens on it now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(DownloadError, match=f"{url}/2324/E0.csv"):
        download_football("E0", "2324", tmp_path, base_url=url, timeout=5)


@pytest.mark.parametrize(("leagues", "seasons", "match"), [
    ("E0", "2325", "consecutive"), ("E0", "23-24", "consecutive"), ("E0", "324", "consecutive"),
    ("E0", "9900", None), ("Premier League", "2324", "league"), ("E0/../x", "2324", "league"),
    (["E0", "E"], ["2324", "2527"], "consecutive"),
])
def test_codes_are_validated_before_any_request(server, tmp_path, leagues, seasons, match):
    base_url, _, requests = server
    if match is None:  # 1999/2000 is a valid code; the server simply has no such file
        with pytest.raises(DownloadError, match="404"):
            download_football(leagues, seasons, tmp_path, base_url=base_url)
        return
    with pytest.raises(ValueError, match=match):
        download_football(leagues, seasons, tmp_path, base_url=base_url)
    assert requests == []
