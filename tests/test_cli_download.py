"""`formguide download` against a real local HTTP server laid out like football-data.co.uk's mmz4281 tree."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from formguide.cli import app


@pytest.fixture
def mirror(tmp_path, football_dir):
    root = tmp_path / "mirror"
    for league, season in [("E0", "2324"), ("SP1", "2425")]:
        (root / season).mkdir(parents=True, exist_ok=True)
        shutil.copy(football_dir / f"{league}_{season}.csv", root / season / f"{league}.csv")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_writes_the_served_bytes(mirror, tmp_path, football_dir):
    dest = tmp_path / "dl"
    result = CliRunner().invoke(app, ["football", "download", "--leagues", "E0", "--seasons", "2324",
                                      "--base-url", mirror, "--dest", str(dest)])
    assert result.exit_code == 0, result.output
    assert (dest / "E0_2324.csv").read_bytes() == (football_dir / "E0_2324.csv").read_bytes()


def test_download_of_a_missing_file_names_the_url(mirror, tmp_path):
    result = CliRunner().invoke(app, ["football", "download", "--leagues", "D1", "--seasons", "2324",
                                      "--base-url", mirror, "--dest", str(tmp_path / "dl")])
    assert result.exit_code != 0
    assert "2324/D1.csv" in str(result.exception) + result.output


def test_downloaded_files_ingest(mirror, tmp_path):
    dest = tmp_path / "dl"
    runner = CliRunner()
    for league, season in [("E0", "2324"), ("SP1", "2425")]:
        r = runner.invoke(app, ["football", "download", "--leagues", league, "--seasons", season,
                                "--base-url", mirror, "--dest", str(dest)])
        assert r.exit_code == 0, r.output
    db = f"sqlite:///{tmp_path / 'dl.sqlite'}"
    r = runner.invoke(app, ["ingest", "football", str(dest / "E0_2324.csv"), str(dest / "SP1_2425.csv"),
                            "--db", db, "--json", "-"])
    assert r.exit_code == 0, r.output
    assert '"inserted": 760' in r.output
