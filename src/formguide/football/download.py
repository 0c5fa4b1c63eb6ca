"""Download league-season CSV files from football-data.co.uk.

Files land as ``<league>_<season>.csv`` (the name ``parse_file`` checks against the content). Each
file is written to a temporary file in the destination folder and renamed into place, so an
interrupted or failed download never leaves a half-written CSV where an older good one stood.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import httpx

from formguide.core.errors import DownloadError
from formguide.core.jsonio import write_text_atomic

BASE_URL = "https://www.football-data.co.uk/mmz4281"
_LEAGUE = re.compile(r"^[A-Z]{1,3}[0-9]?$")  # E0, SC1, SP2, EC (National League)
_SEASON = re.compile(r"^[0-9]{4}$")


def _as_list(values: str | int | Iterable[str | int]) -> list[str]:
    items = [values] if isinstance(values, (str, int)) else list(values)
    return [f"{v:04d}" if isinstance(v, int) else str(v).strip() for v in items]


def validate_league(code: str) -> str:
    """A football-data division code such as ``E0`` or ``SP1`` (upper-cased)."""
    league = code.strip().upper()
    if not _LEAGUE.match(league):
        raise ValueError(f"invalid league code {code!r}: expected a football-data division such as 'E0' or 'SP1'")
    return league


def validate_season(code: str) -> str:
    """A season code of two consecutive two-digit years, e.g. ``2324`` for 2023/24 or ``9900``."""
    if not _SEASON.match(code) or (int(code[:2]) + 1) % 100 != int(code[2:]):
        raise ValueError(f"invalid season code {code!r}: expected two consecutive years such as '2324'")
    return code


def _fetch(client: httpx.Client, url: str, timeout: float) -> bytes:
    try:
        response = client.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise DownloadError(f"could not download {url}: {exc.__class__.__name__}: {exc}") from exc
    if response.status_code != 200:
        raise DownloadError(f"could not download {url}: HTTP {response.status_code} {response.reason_phrase}")
    body = response.content
    first_line = body[:512].removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    if not first_line.startswith(b"Div"):
        raise DownloadError(f"{url} did not return a football-data CSV (first bytes: {body[:60]!r})")
    return body


def download_football(
    leagues: str | Iterable[str],
    seasons: str | int | Iterable[str | int],
    dest_dir: str | Path,
    base_url: str = BASE_URL,
    timeout: float = 30,
    client: httpx.Client | None = None,
) -> list[Path]:
    """Fetch ``{base_url}/{season}/{league}.csv`` for every league and season into ``dest_dir``.

    All codes are checked before the first request. Returns the written paths, league by league.
    Raises ``DownloadError`` naming the URL on a network error, an HTTP error status or a body that is
    not a football-data CSV; files already fetched in the same call stay in place.
    """
    league_codes = [validate_league(code) for code in _as_list(leagues)]
    season_codes = [validate_season(code) for code in _as_list(seasons)]
    dest = Path(dest_dir)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot write into {dest}: {exc.strerror or exc}") from None
    own_client = client is None
    http = httpx.Client() if own_client else client
    written: list[Path] = []
    try:
        for league in league_codes:
            for season in season_codes:
                url = f"{base_url.rstrip('/')}/{season}/{league}.csv"
                target = dest / f"{league}_{season}.csv"
                write_text_atomic(target, _fetch(http, url, timeout))
                written.append(target)
    finally:
        if own_client:
            http.close()
    return written
