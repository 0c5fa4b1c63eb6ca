"""The self-updating season pipeline behind ``formguide f1 season``: every race of a season, every scenario, one JSON.

One run:

1. **Ingest** the data folder (an Ergast folder, a race folder or a folder of race folders) into the store
   with :func:`formguide.f1.store_io.ingest_f1` (idempotent; a rejected file is reported, the rest is used)
   and read the canonical entry frame back from the store, history included.
2. **Fingerprint** every race of the season: ``sha256(settings, upstream, race, calendar)``, where *race* hashes
   the race's own rows (entrants, grid, qualifying, sprint, results, conditions), *upstream* chains the hashes
   of every earlier race (``upstream_r = sha256(upstream_{r-1} + race_{r-1})``, from 1950 on) and *calendar*
   hashes the season's rounds and sprint flags (the championship simulation depends on what is left).
   Because of the chain, a change to an early race (a corrected result, a disqualification) changes the
   upstream of every later race, and all of them are recomputed; a race before it keeps its fingerprint and
   is reused. Settings include the code version, so changed code recomputes everything.
3. **Predict** each race whose fingerprint changed, point in time (as of the race's day):

   * prior strengths from the Plackett–Luce model (:mod:`formguide.f1.models`) on the pre-qualifying
     features (:func:`formguide.f1.features.f1_feature_set`), refitted every ``refit_every`` races on races run
     before the block's first race (fits are cached in the model registry by the fingerprint of their
     training data, so an unchanged fit is loaded, not retrained);
   * the model's utilities are scaled by a *temperature* fitted, like every F1 model's, on the winners of
     races before the race (out-of-sample utilities of the ``calibration_seasons`` seasons before it), because
     the probability layer (:mod:`formguide.core.field_forecast`, shared with race predictions) reads
     win probabilities as ``softmax(strength)`` and draws retirements given not winning;
   * the weekend update (:class:`~formguide.f1.simulate.WeekendUpdater`, fitted on the same out-of-sample
     races) turns the prior into a posterior with the grid and the sprint result when they exist;
   * analyst weights, retirement probabilities from each constructor's record, scenario effects estimated
     on the ``scenario_seasons`` seasons before the race, ``simulations`` Monte Carlo races per scenario;
   * the championship as it stood before the race (run races and the next one): title probabilities from the
     standings plus every remaining race of the calendar, sprints included, with the season's points.
4. **Write** the JSON atomically (temporary file in the same folder, then ``os.replace``): a reader sees the
   old or the new file, never half of one. It is checked against its shape first (:class:`Document`,
   :func:`season_json_schema`). A log file sits beside it (``<output stem>.log``).

``watch_season`` keeps the JSON current: a ``watchfiles`` watcher on the data folder, a debounce after the
last change, one run at a time, failures reported and retried at the next change, a clean stop on Ctrl+C /
SIGTERM.

Modules: :mod:`~formguide.f1.season.config` (settings, checks, paths), :mod:`~formguide.f1.season.fingerprints`,
:mod:`~formguide.f1.season.fits` (the block fits and their cache), :mod:`~formguide.f1.season.race` (one race),
:mod:`~formguide.f1.season.championship`, :mod:`~formguide.f1.season.document` (the JSON's shape, built and
written), :mod:`~formguide.f1.season.pipeline` (one run), :mod:`~formguide.f1.season.watch`.
"""

from __future__ import annotations

from formguide.f1.season.config import SeasonConfig, check_output_path, log_path, parse_weights
from formguide.f1.season.document import (
    FORMAT_VERSION,
    Document,
    season_json_schema,
    validate_document,
    write_json_atomic,
)
from formguide.f1.season.fingerprints import race_fingerprints
from formguide.f1.season.pipeline import run_season
from formguide.f1.season.watch import watch_season

__all__ = [
    "FORMAT_VERSION",
    "Document",
    "SeasonConfig",
    "check_output_path",
    "log_path",
    "parse_weights",
    "race_fingerprints",
    "run_season",
    "season_json_schema",
    "validate_document",
    "watch_season",
    "write_json_atomic",
]
