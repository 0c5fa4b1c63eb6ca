"""The canonical football match frame shared by ingest, features, models and the pipeline.

One row per match, sorted by ``kickoff``. Unplayed fixtures have NaN goals and ``result`` None.
Matches stored without a result because the file shows them abandoned, awarded or left unplayed
(``events.status`` other than finished / scheduled) are not in the frame: a result-less row here
always means a fixture still to come.
Everything downstream (features, models, backtests) reads this shape, whether it came from a CSV
parser, the store, or a test fixture built in code.
"""

from __future__ import annotations

# Identity and timing
KEY_COLUMNS = ["competition", "season", "kickoff", "home_team", "away_team"]
# Results: floats so that NaN marks a fixture still to be played.
RESULT_COLUMNS = ["home_goals", "away_goals", "ht_home_goals", "ht_away_goals"]
# "H" / "D" / "A" or None.
RESULT_CODE = "result"
STAT_COLUMNS = [
    "home_shots", "away_shots",
    "home_shots_on_target", "away_shots_on_target",
    "home_corners", "away_corners",
    "home_fouls", "away_fouls",
    "home_yellow", "away_yellow",
    "home_red", "away_red",
]
OTHER_COLUMNS = ["referee"]

# Wide odds columns attached to the frame by ``football.data.attach_odds`` (decimal prices, NaN if absent):
#   odds_open_{H,D,A}    pre-closing reference price (Pinnacle, else market average, else Bet365)
#   odds_close_{H,D,A}   closing reference price (Pinnacle closing, else average closing)
#   odds_best_{H,D,A}    best price available at close (max over closing columns; else max over opening)
#   odds_open_{over,under}, odds_close_{over,under}, odds_best_{over,under}  totals 2.5 goals
#   Asian handicap (``odds.WIDE_AH_COLUMNS``), each a home line and the home / away prices at it:
#   ah_line_open,  odds_open_ah_{home,away}   pre-closing reference (as for 1X2) at its line
#   ah_line_close, odds_close_ah_{home,away}  closing reference (Pinnacle closing, else average closing):
#                                             the line models are scored and bets are settled against
#   ah_line_best,  odds_best_ah_{home,away}   best price at the closing line (max over closing books at
#                                             that line); without a closing line, best pre-closing at the
#                                             pre-closing reference line
OUTCOMES_1X2 = ("H", "D", "A")
OUTCOMES_OU = ("over", "under")
OUTCOMES_AH = ("home", "away")

MATCH_COLUMNS = KEY_COLUMNS + RESULT_COLUMNS + [RESULT_CODE] + STAT_COLUMNS + OTHER_COLUMNS

# Long odds frame (one row per price) produced by the parser and stored in the ``odds`` table:
#   competition, season, kickoff, home_team, away_team  (the match key)
#   bookmaker  e.g. "Bet365", "Pinnacle", "Market max", "Market average", "Betbrain max", "Betbrain average";
#              a football-data prefix not in ``odds.BOOKMAKERS`` is stored as the prefix itself ("XYZ")
#   market     "1X2", "OU2.5" or "AH" (Asian handicap)
#   selection  "H"/"D"/"A", "over"/"under" or "home"/"away"
#   price      decimal odds > 1.0
#   is_closing bool
#   line       the home side's handicap (AH; a multiple of 0.25), 2.5 (OU2.5), NaN (1X2)
ODDS_COLUMNS = KEY_COLUMNS + ["bookmaker", "market", "selection", "price", "is_closing", "line"]
