"""What a league table decides: places, tie-breakers and splits of the divisions in football_data.

One :class:`CompetitionRules` per division and range of seasons (football-data.co.uk season codes,
``"2324"`` = 2023/24): the number of teams, the place classes the final table hands out (title, European
qualification, promotion, promotion play-offs, relegation play-offs, relegation), the order of the
tie-breakers after points, and — for leagues that split — when the table splits and how the groups play on.

Conventions (also in the README's simulation section):

* European places are the places the league position gives under UEFA's access list of the following
  season *when the domestic cup winners have already qualified through the league* (their places then pass
  down the table, the usual case for the big five). A cup won from lower down, the UEFA title-holder rules
  and licensing are not modelled. UEFA's European Performance Spots are in the season they were earned for
  (2023/24 Italy and Germany, 2024/25 England and Spain); a season after the table's last uses its last row.
* Classes are by final league position only; what a play-off then decides (a relegation play-off against a
  lower division's side, Serie B's play-out) is the class "play-off", not an outcome.
* Tie-breakers run in the order given; a head-to-head criterion compares the teams level on everything
  before it ("mini-table" of all the season's matches between them), and is not re-applied to a subset.
  What is left after the last criterion (fair play, drawing lots, a deciding match) is a fair coin.
* European places are given for E0, SP1, I1, D1, F1 (every season in the data) and SC0. For the other
  top divisions (N1, B1, P1, T1, G1) the allocation moved with the UEFA coefficient from year to year and
  is left out; their title and relegation places are in.

Sources: the competitions' regulations as summarised on the pages named in ``sources`` (Premier League
Handbook section C, EFL Regulations section 9, SPFL rules, RFEF/LaLiga, Lega Serie A/B, DFL Spielordnung §4,
LFP règlement art. 518 ter, KNVB Reglement Betaald Voetbal, Liga Portugal, TFF, Super League Greece,
Pro League), UEFA's access lists for European places, and the teams that went up or down between the
seasons in football_data (``tests/football/test_rules.py`` checks every relegation and promotion class
against who played where the season after).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "CRITERIA",
    "CompetitionRules",
    "PlaceClass",
    "RULES",
    "Split",
    "SplitGroup",
    "describe_tiebreak",
    "rules_for",
    "season_start",
]

Criterion = Literal[
    "goal_difference", "goals_for", "wins", "away_goals_for", "away_wins",
    "h2h_points", "h2h_goal_difference", "h2h_goals_for", "h2h_away_goals_for",
    "not_rounded", "split_rank",
]
#: Every tie-breaker the simulation knows, with the words the README and the output use for it.
CRITERIA: dict[str, str] = {
    "goal_difference": "goal difference",
    "goals_for": "goals scored",
    "wins": "wins",
    "away_goals_for": "away goals scored",
    "away_wins": "away wins",
    "h2h_points": "head-to-head points",
    "h2h_goal_difference": "head-to-head goal difference",
    "h2h_goals_for": "head-to-head goals scored",
    "h2h_away_goals_for": "head-to-head away goals",
    "not_rounded": "points not rounded up at the split",
    "split_rank": "position at the split",
}
HEAD_TO_HEAD = frozenset(c for c in CRITERIA if c.startswith("h2h_"))

#: Place classes: key -> (label, short header).
LABELS: dict[str, tuple[str, str]] = {
    "title": ("champions", "title"),
    "cl": ("Champions League", "CL"),
    "el": ("Europa League", "EL"),
    "uefa": ("UEFA Cup", "UEFA"),
    "ecl": ("Conference League", "ECL"),
    "europe": ("European place", "Europe"),
    "europe_playoff": ("European play-off", "Eur PO"),
    "champions_playoff": ("Champions' play-offs", "champ PO"),
    "promotion": ("automatic promotion", "promoted"),
    "promotion_playoff": ("promotion play-offs", "promo PO"),
    "relegation_playoff": ("relegation play-off", "releg PO"),
    "relegation": ("relegation", "relegated"),
}


@dataclass(frozen=True)
class PlaceClass:
    """Final positions ``first``..``last`` (1-based, inclusive) that share an outcome."""

    key: str
    first: int
    last: int
    label: str = ""

    def __post_init__(self) -> None:
        if self.key not in LABELS:
            raise ValueError(f"unknown place class {self.key!r}; one of {', '.join(LABELS)}")
        if not 1 <= self.first <= self.last:
            raise ValueError(f"place class {self.key}: positions {self.first}..{self.last} are not a range")
        if not self.label:
            object.__setattr__(self, "label", LABELS[self.key][0])

    @property
    def header(self) -> str:
        return LABELS[self.key][1]

    @property
    def positions(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


@dataclass(frozen=True)
class SplitGroup:
    """One group after a split: its size, how often each pair meets again, and whether points are halved.

    ``halve_points``: the Belgian rule, points at the split halved and rounded up.
    """

    size: int
    meetings: int
    halve_points: bool = False

    def __post_init__(self) -> None:
        if self.size < 1 or self.meetings not in (1, 2):
            raise ValueError(f"split group of {self.size} teams meeting {self.meetings} times: size >= 1, "
                             "meetings 1 or 2")


@dataclass(frozen=True)
class Split:
    """The table splits after ``after_rounds`` rounds into ``groups`` (top group first); positions stay in them.

    ``tiebreak`` orders teams within a group after the split (default: the league's own).
    """

    after_rounds: int
    groups: tuple[SplitGroup, ...]
    tiebreak: tuple[Criterion, ...] | None = None


@dataclass(frozen=True)
class CompetitionRules:
    """The rules of one division for seasons ``first_season``..``last_season`` (codes like ``"2324"``)."""

    league: str
    name: str
    first_season: str
    last_season: str
    teams: int
    places: tuple[PlaceClass, ...]
    tiebreak: tuple[Criterion, ...]
    split: Split | None = None
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    points: tuple[int, int, int] = (3, 1, 0)
    #: Positions ``p`` where two teams level on points in ``p`` and ``p + 1`` play a one-off play-off (a coin here).
    deciders: tuple[int, ...] = ()
    assumed_for: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for c in self.tiebreak + (self.split.tiebreak or () if self.split else ()):
            if c not in CRITERIA:
                raise ValueError(f"{self.league} {self.first_season}: unknown tie-breaker {c!r}")
        for p in self.places:
            if p.last > self.teams:
                raise ValueError(f"{self.league} {self.first_season}: {p.key} {p.positions} beyond {self.teams} teams")
        if self.split is not None:
            if sum(g.size for g in self.split.groups) != self.teams:
                raise ValueError(f"{self.league} {self.first_season}: split groups do not add up to {self.teams}")
            if self.split.after_rounds % (self.teams - 1):
                raise ValueError(f"{self.league} {self.first_season}: {self.split.after_rounds} rounds are not "
                                 f"whole meetings of {self.teams} teams")
        if any(not 1 <= p < self.teams for p in self.deciders):
            raise ValueError(f"{self.league} {self.first_season}: play-off positions {self.deciders} out of range")
        if season_start(self.first_season) > season_start(self.last_season):
            raise ValueError(f"{self.league}: seasons {self.first_season}..{self.last_season} are reversed")

    @property
    def split_tiebreak(self) -> tuple[Criterion, ...]:
        return (self.split.tiebreak or self.tiebreak) if self.split else self.tiebreak

    @property
    def seasons(self) -> str:
        a, b = season_label(self.first_season), season_label(self.last_season)
        return a if a == b else f"{a}-{b}"

    def place(self, key: str) -> PlaceClass | None:
        return next((p for p in self.places if p.key == key), None)

    def summary(self) -> dict:
        """JSON-ready description (what the simulation output carries beside its numbers)."""
        out = {
            "league": self.league, "name": self.name, "seasons": self.seasons, "teams": self.teams,
            "places": [{"key": p.key, "label": p.label, "first": p.first, "last": p.last} for p in self.places],
            "tiebreak": ["points", *self.tiebreak], "notes": list(self.notes), "sources": list(self.sources),
            "play_off_positions": list(self.deciders),
        }
        if self.split is not None:
            out["split"] = {"after_rounds": self.split.after_rounds,
                            "groups": [{"size": g.size, "meetings": g.meetings, "halve_points": g.halve_points}
                                       for g in self.split.groups],
                            "tiebreak": ["points", *self.split_tiebreak]}
        if self.assumed_for is not None:
            out["assumed_for"] = self.assumed_for
        return out


def season_start(code: str) -> int:
    """First calendar year of a season code: ``"2324"`` -> 2023, ``"9900"`` -> 1999."""
    if len(code) != 4 or not code.isdigit():
        raise ValueError(f"season code {code!r} is not of the form YYZZ (e.g. 2324)")
    yy = int(code[:2])
    return (1900 if yy >= 50 else 2000) + yy


def season_label(code: str) -> str:
    start = season_start(code)
    return f"{start}/{(start + 1) % 100:02d}"


def describe_tiebreak(criteria: Iterable[str]) -> str:
    """``points, goal difference, ...`` in words, ending with the coin that stands for what is left."""
    return ", ".join(["points", *(CRITERIA[c] for c in criteria), "a fair coin"])


# ------------------------------------------------------------------------------------------ the table
def _places(*spec: tuple) -> tuple[PlaceClass, ...]:
    """``(key, first)``, ``(key, first, last)`` or ``(key, first, last, label)`` per class."""
    out = []
    for key, first, *rest in spec:
        out.append(PlaceClass(key, first, rest[0] if rest else first, rest[1] if len(rest) > 1 else ""))
    return tuple(out)


ENGLAND = ("goal_difference", "goals_for", "h2h_points", "h2h_away_goals_for")
EFL = ("goal_difference", "goals_for", "h2h_points", "h2h_goals_for", "h2h_away_goals_for")
SCOTLAND = ("goal_difference", "goals_for")
SPAIN = ("h2h_points", "h2h_goal_difference", "goal_difference", "goals_for")
ITALY = ("h2h_points", "h2h_goal_difference", "goal_difference", "goals_for")
GERMANY = ("goal_difference", "goals_for", "h2h_goal_difference", "h2h_away_goals_for", "away_goals_for")
FRANCE = ("goal_difference", "h2h_points", "h2h_goal_difference", "h2h_goals_for", "h2h_away_goals_for",
          "goals_for", "away_goals_for")
NETHERLANDS = ("goal_difference", "goals_for", "h2h_points", "h2h_goal_difference")
PORTUGAL = ("h2h_points", "h2h_goal_difference", "goal_difference", "goals_for", "wins")
TURKEY = ("h2h_points", "h2h_goal_difference", "h2h_goals_for", "goal_difference", "goals_for")
GREECE = ("h2h_points", "h2h_goal_difference", "h2h_goals_for", "goal_difference", "goals_for")
BELGIUM = ("wins", "goal_difference", "goals_for", "away_goals_for", "away_wins")
BELGIUM_PLAYOFFS = ("not_rounded", "split_rank")

S_PL = "Premier League Handbook, section C (league table); premierleague.com"
S_EFL = "EFL Regulations, section 9 (league table, play-offs); efl.com"
S_SPFL = "SPFL Rules and the split after 33 rounds; spfl.co.uk"
S_LALIGA = "RFEF Reglamento General, art. 201 (head-to-head first); laliga.com"
S_SERIEA = "Lega Serie A / Serie B regulations (classifica avulsa, play-off, play-out); legaseriea.it, legab.it"
S_DFL = "DFL Spielordnung §4 (Tordifferenz, Tore, direkter Vergleich, Auswärtstore); dfl.de"
S_LFP = "LFP règlement des compétitions, art. 518 ter (2023/24); ligue1.com"
S_KNVB = "KNVB Reglement Betaald Voetbal (doelsaldo, doelpunten voor, onderling resultaat)"
S_LIGAPT = "Liga Portugal, Regulamento das Competições (confronto direto first)"
S_TFF = "TFF Süper Lig statutes (head-to-head first)"
S_SLGR = "Super League Greece regulations (regular season, play-off and play-out groups)"
S_PROLEAGUE = "Pro League: 'Comment se déroulent les play-offs ?', proleague.be (2023/24 format)"
S_UEFA = "UEFA access lists of the following season's club competitions"
S_DATA = "teams that changed division between seasons in football_data"


def _big(league: str, name: str, first: str, last: str, teams: int, places: tuple, tiebreak: tuple,
         sources: tuple[str, ...], notes: tuple[str, ...] = (), deciders: tuple[int, ...] = ()) -> CompetitionRules:
    return CompetitionRules(league, name, first, last, teams, _places(*places), tiebreak, notes=notes,
                            sources=sources + (S_UEFA, S_DATA), deciders=deciders)


_E0_NOTE = ("Head-to-head after goals scored is the Handbook's current rule (C.17); used for every season. "
            "Where it matters a tie still level after it goes to a play-off match (a coin here).")
_IT_NOTE = ("From 2022/23 two teams level on points for the title (1st/2nd) or the last safe place (17th/18th) "
            "play a one-off play-off, a fair coin in the simulation; other ties go by head-to-head.")
_FR_NOTE = "2019/20 stopped after 28 rounds and was ranked by points per game; the simulation ranks by points."

RULES: tuple[CompetitionRules, ...] = (
    # ---------------------------------------------------------------------------------- England
    _big("E0", "Premier League", "0506", "0809", 20,
         (("title", 1), ("cl", 1, 4), ("uefa", 5, 7), ("relegation", 18, 20)), ENGLAND, (S_PL,), (_E0_NOTE,)),
    _big("E0", "Premier League", "0910", "1920", 20,
         (("title", 1), ("cl", 1, 4), ("el", 5, 7), ("relegation", 18, 20)), ENGLAND, (S_PL,), (_E0_NOTE,)),
    _big("E0", "Premier League", "2021", "2324", 20,
         (("title", 1), ("cl", 1, 4), ("el", 5, 6), ("ecl", 7), ("relegation", 18, 20)), ENGLAND, (S_PL,),
         (_E0_NOTE,)),
    _big("E0", "Premier League", "2425", "2425", 20,
         (("title", 1), ("cl", 1, 5), ("el", 6, 7), ("ecl", 8), ("relegation", 18, 20)), ENGLAND, (S_PL,),
         (_E0_NOTE, "5th: UEFA's European Performance Spot for England, earned in 2024/25.")),
    CompetitionRules("E1", "Championship", "2021", "2425", 24,
                     _places(("title", 1), ("promotion", 1, 2), ("promotion_playoff", 3, 6), ("relegation", 22, 24)),
                     EFL, sources=(S_EFL, S_DATA)),
    CompetitionRules("E2", "League One", "2021", "2425", 24,
                     _places(("title", 1), ("promotion", 1, 2), ("promotion_playoff", 3, 6), ("relegation", 21, 24)),
                     EFL, sources=(S_EFL, S_DATA)),
    CompetitionRules("E3", "League Two", "2021", "2425", 24,
                     _places(("title", 1), ("promotion", 1, 3), ("promotion_playoff", 4, 7), ("relegation", 23, 24)),
                     EFL, sources=(S_EFL, S_DATA)),
    # --------------------------------------------------------------------------------- Scotland
    CompetitionRules("SC0", "Scottish Premiership", "2021", "2425", 12,
                     _places(("title", 1), ("cl", 1, 2), ("el", 3), ("ecl", 4, 5), ("relegation_playoff", 11),
                             ("relegation", 12)),
                     SCOTLAND, split=Split(33, (SplitGroup(6, 1), SplitGroup(6, 1))),
                     notes=("After 33 rounds (three meetings of every pair) the top six and the bottom six play "
                            "each other once more; a team stays in its half whatever its points, so the bottom "
                            "six finish 7th-12th.",
                            "European places: the Scottish Cup winner's place passed down to 3rd."),
                     sources=(S_SPFL, S_UEFA, S_DATA)),
    CompetitionRules("SC1", "Scottish Championship", "2021", "2425", 10,
                     _places(("title", 1), ("promotion", 1), ("promotion_playoff", 2, 4), ("relegation_playoff", 9),
                             ("relegation", 10)),
                     SCOTLAND, notes=("2020/21 was shortened to 27 rounds (three meetings of every pair).",),
                     sources=(S_SPFL, S_DATA)),
    # ------------------------------------------------------------------------------------ Spain
    _big("SP1", "La Liga", "0506", "0809", 20,
         (("title", 1), ("cl", 1, 4), ("uefa", 5, 7), ("relegation", 18, 20)), SPAIN, (S_LALIGA,)),
    _big("SP1", "La Liga", "0910", "1920", 20,
         (("title", 1), ("cl", 1, 4), ("el", 5, 7), ("relegation", 18, 20)), SPAIN, (S_LALIGA,)),
    _big("SP1", "La Liga", "2021", "2324", 20,
         (("title", 1), ("cl", 1, 4), ("el", 5, 6), ("ecl", 7), ("relegation", 18, 20)), SPAIN, (S_LALIGA,)),
    _big("SP1", "La Liga", "2425", "2425", 20,
         (("title", 1), ("cl", 1, 5), ("el", 6, 7), ("ecl", 8), ("relegation", 18, 20)), SPAIN, (S_LALIGA,),
         ("5th: UEFA's European Performance Spot for Spain, earned in 2024/25.",)),
    CompetitionRules("SP2", "Segunda División", "2021", "2425", 22,
                     _places(("title", 1), ("promotion", 1, 2), ("promotion_playoff", 3, 6), ("relegation", 19, 22)),
                     SPAIN, notes=("Reserve sides cannot be promoted; the classes are by position only.",),
                     sources=(S_LALIGA, S_DATA)),
    # ------------------------------------------------------------------------------------ Italy
    _big("I1", "Serie A", "0506", "0809", 20,
         (("title", 1), ("cl", 1, 4), ("uefa", 5, 7), ("relegation", 18, 20)), ITALY, (S_SERIEA,),
         ("2005/06 (Calciopoli): the points deductions and Juventus's relegation were decided off the pitch; "
          "give them with --deduction.",)),
    _big("I1", "Serie A", "0910", "1011", 20,
         (("title", 1), ("cl", 1, 4), ("el", 5, 7), ("relegation", 18, 20)), ITALY, (S_SERIEA,)),
    _big("I1", "Serie A", "1112", "1617", 20,
         (("title", 1), ("cl", 1, 3), ("el", 4, 6), ("relegation", 18, 20)), ITALY, (S_SERIEA,)),
    _big("I1", "Serie A", "1718", "1920", 20,
         (("title", 1), ("cl", 1, 4), ("el", 5, 7), ("relegation", 18, 20)), ITALY, (S_SERIEA,)),
    _big("I1", "Serie A", "2021", "2122", 20,
         (("title", 1), ("cl", 1, 4), ("el", 5, 6), ("ecl", 7), ("relegation", 18, 20)), ITALY, (S_SERIEA,)),
    _big("I1", "Serie A", "2223", "2223", 20,
         (("title", 1), ("cl", 1, 4), ("el", 5, 6), ("ecl", 7), ("relegation", 18, 20)), ITALY, (S_SERIEA,),
         (_IT_NOTE,), (1, 17)),
    _big("I1", "Serie A", "2324", "2324", 20,
         (("title", 1), ("cl", 1, 5), ("el", 6, 7), ("ecl", 8), ("relegation", 18, 20)), ITALY, (S_SERIEA,),
         (_IT_NOTE, "5th: UEFA's European Performance Spot for Italy, earned in 2023/24."), (1, 17)),
    _big("I1", "Serie A", "2425", "2425", 20,
         (("title", 1), ("cl", 1, 4), ("el", 5, 6), ("ecl", 7), ("relegation", 18, 20)), ITALY, (S_SERIEA,),
         (_IT_NOTE,), (1, 17)),
    CompetitionRules("I2", "Serie B", "2021", "2425", 20,
                     _places(("title", 1), ("promotion", 1, 2), ("promotion_playoff", 3, 8),
                             ("relegation_playoff", 16, 17, "relegation play-out"), ("relegation", 18, 20)),
                     ITALY, notes=("The play-out (16th v 17th) is not held when the gap is more than four points; "
                                   "the 17th then goes down.",),
                     sources=(S_SERIEA, S_DATA)),
    # ---------------------------------------------------------------------------------- Germany
    _big("D1", "Bundesliga", "0506", "0708", 18,
         (("title", 1), ("cl", 1, 3), ("uefa", 4, 6), ("relegation", 16, 18)), GERMANY, (S_DFL,)),
    _big("D1", "Bundesliga", "0809", "0809", 18,
         (("title", 1), ("cl", 1, 3), ("uefa", 4, 6), ("relegation_playoff", 16), ("relegation", 17, 18)), GERMANY,
         (S_DFL,)),
    _big("D1", "Bundesliga", "0910", "1011", 18,
         (("title", 1), ("cl", 1, 3), ("el", 4, 6), ("relegation_playoff", 16), ("relegation", 17, 18)), GERMANY,
         (S_DFL,)),
    _big("D1", "Bundesliga", "1112", "1920", 18,
         (("title", 1), ("cl", 1, 4), ("el", 5, 7), ("relegation_playoff", 16), ("relegation", 17, 18)), GERMANY,
         (S_DFL,)),
    _big("D1", "Bundesliga", "2021", "2223", 18,
         (("title", 1), ("cl", 1, 4), ("el", 5, 6), ("ecl", 7), ("relegation_playoff", 16), ("relegation", 17, 18)),
         GERMANY, (S_DFL,)),
    _big("D1", "Bundesliga", "2324", "2324", 18,
         (("title", 1), ("cl", 1, 5), ("el", 6, 7), ("ecl", 8), ("relegation_playoff", 16), ("relegation", 17, 18)),
         GERMANY, (S_DFL,), ("5th: UEFA's European Performance Spot for Germany, earned in 2023/24.",)),
    _big("D1", "Bundesliga", "2425", "2425", 18,
         (("title", 1), ("cl", 1, 4), ("el", 5, 6), ("ecl", 7), ("relegation_playoff", 16), ("relegation", 17, 18)),
         GERMANY, (S_DFL,)),
    CompetitionRules("D2", "2. Bundesliga", "2021", "2425", 18,
                     _places(("title", 1), ("promotion", 1, 2), ("promotion_playoff", 3), ("relegation_playoff", 16),
                             ("relegation", 17, 18)),
                     GERMANY, sources=(S_DFL, S_DATA)),
    # ----------------------------------------------------------------------------------- France
    _big("F1", "Ligue 1", "0506", "0809", 20,
         (("title", 1), ("cl", 1, 3), ("uefa", 4, 6), ("relegation", 18, 20)), FRANCE, (S_LFP,)),
    _big("F1", "Ligue 1", "0910", "1516", 20,
         (("title", 1), ("cl", 1, 3), ("el", 4, 6), ("relegation", 18, 20)), FRANCE, (S_LFP,)),
    _big("F1", "Ligue 1", "1617", "1920", 20,
         (("title", 1), ("cl", 1, 3), ("el", 4, 6), ("relegation_playoff", 18), ("relegation", 19, 20)), FRANCE,
         (S_LFP,), (_FR_NOTE,)),
    _big("F1", "Ligue 1", "2021", "2122", 20,
         (("title", 1), ("cl", 1, 3), ("el", 4, 5), ("ecl", 6), ("relegation_playoff", 18), ("relegation", 19, 20)),
         FRANCE, (S_LFP,)),
    _big("F1", "Ligue 1", "2223", "2223", 20,
         (("title", 1), ("cl", 1, 3), ("el", 4, 5), ("ecl", 6), ("relegation", 17, 20)), FRANCE, (S_LFP,),
         ("Four went down so that Ligue 1 had 18 clubs from 2023/24.",)),
    _big("F1", "Ligue 1", "2324", "2425", 18,
         (("title", 1), ("cl", 1, 4), ("el", 5, 6), ("ecl", 7), ("relegation_playoff", 16), ("relegation", 17, 18)),
         FRANCE, (S_LFP,)),
    CompetitionRules("F2", "Ligue 2", "2021", "2122", 20,
                     _places(("title", 1), ("promotion", 1, 2), ("promotion_playoff", 3, 5), ("relegation_playoff", 18),
                             ("relegation", 19, 20)),
                     FRANCE, sources=(S_LFP, S_DATA)),
    CompetitionRules("F2", "Ligue 2", "2223", "2223", 20,
                     _places(("title", 1), ("promotion", 1, 2), ("relegation", 17, 20)), FRANCE,
                     notes=("No promotion play-off while Ligue 1 went down to 18 clubs.",),
                     sources=(S_LFP, S_DATA)),
    CompetitionRules("F2", "Ligue 2", "2324", "2324", 20,
                     _places(("title", 1), ("promotion", 1, 2), ("promotion_playoff", 3, 5), ("relegation", 17, 20)),
                     FRANCE, notes=("Four went down so that Ligue 2 had 18 clubs from 2024/25.",),
                     sources=(S_LFP, S_DATA)),
    CompetitionRules("F2", "Ligue 2", "2425", "2425", 18,
                     _places(("title", 1), ("promotion", 1, 2), ("promotion_playoff", 3, 5), ("relegation_playoff", 16),
                             ("relegation", 17, 18)),
                     FRANCE, sources=(S_LFP,)),
    # --------------------------------------------------------------------- other top divisions
    CompetitionRules("N1", "Eredivisie", "2021", "2425", 18,
                     _places(("title", 1), ("relegation_playoff", 16), ("relegation", 17, 18)), NETHERLANDS,
                     notes=("European places and the European play-offs are left out.",),
                     sources=(S_KNVB, S_DATA)),
    CompetitionRules("P1", "Primeira Liga", "2021", "2425", 18,
                     _places(("title", 1), ("relegation_playoff", 16), ("relegation", 17, 18)), PORTUGAL,
                     notes=("European places are left out.",), sources=(S_LIGAPT, S_DATA)),
    CompetitionRules("T1", "Süper Lig", "2021", "2021", 21,
                     _places(("title", 1), ("relegation", 18, 21)), TURKEY,
                     notes=("European places are left out.",), sources=(S_TFF, S_DATA)),
    CompetitionRules("T1", "Süper Lig", "2122", "2122", 20,
                     _places(("title", 1), ("relegation", 17, 20)), TURKEY,
                     notes=("European places are left out.",), sources=(S_TFF, S_DATA)),
    CompetitionRules("T1", "Süper Lig", "2223", "2223", 19,
                     _places(("title", 1), ("relegation", 16, 17)), TURKEY,
                     notes=("Hatayspor and Gaziantep withdrew after the February 2023 earthquake (their remaining "
                            "matches were awarded to the opponents) and were not relegated; two clubs went down.",
                            "European places are left out."),
                     sources=(S_TFF, S_DATA)),
    CompetitionRules("T1", "Süper Lig", "2324", "2324", 20,
                     _places(("title", 1), ("relegation", 17, 20)), TURKEY,
                     notes=("European places are left out.",), sources=(S_TFF, S_DATA)),
    CompetitionRules("T1", "Süper Lig", "2425", "2425", 19,
                     _places(("title", 1), ("relegation", 16, 19)), TURKEY,
                     notes=("European places are left out; four went down (not checked against the data: it "
                            "ends with 2024/25).",),
                     sources=(S_TFF,)),
    CompetitionRules("G1", "Super League Greece", "2021", "2122", 14,
                     _places(("title", 1), ("relegation_playoff", 13), ("relegation", 14)), GREECE,
                     split=Split(26, (SplitGroup(6, 2), SplitGroup(8, 1))),
                     notes=("After 26 rounds the top six play each other twice more (play-off) and the other "
                            "eight once more (play-out), points carried over.", "European places are left out."),
                     sources=(S_SLGR, S_DATA)),
    CompetitionRules("G1", "Super League Greece", "2223", "2324", 14,
                     _places(("title", 1), ("relegation", 13, 14)), GREECE,
                     split=Split(26, (SplitGroup(6, 2), SplitGroup(8, 1))),
                     notes=("After 26 rounds the top six play each other twice more (play-off) and the other "
                            "eight once more (play-out), points carried over.", "European places are left out."),
                     sources=(S_SLGR, S_DATA)),
    CompetitionRules("G1", "Super League Greece", "2425", "2425", 14,
                     _places(("title", 1), ("relegation", 13, 14)), GREECE,
                     split=Split(26, (SplitGroup(4, 2), SplitGroup(4, 2), SplitGroup(6, 2))),
                     notes=("After 26 rounds: places 1-4, 5-8 and 9-14 each play a double round robin, points "
                            "carried over (the data lacks 3 of the 9-14 group's matches).",
                            "European places are left out."),
                     sources=(S_SLGR, S_DATA)),
    CompetitionRules("B1", "Belgian Pro League (regular season)", "2021", "2122", 18,
                     _places(("champions_playoff", 1, 4), ("europe_playoff", 5, 8), ("relegation_playoff", 17),
                             ("relegation", 18)),
                     BELGIUM,
                     notes=("The data holds the 34-round regular season only: the title was decided in the "
                            "Champions' play-offs (top four, points halved), which are not in it.",),
                     sources=(S_PROLEAGUE, S_DATA)),
    CompetitionRules("B1", "Belgian Pro League (regular season)", "2223", "2223", 18,
                     _places(("champions_playoff", 1, 4), ("europe_playoff", 5, 8), ("relegation", 16, 18)), BELGIUM,
                     notes=("The data holds the 34-round regular season only (the play-offs are not in it); three "
                            "went down so that the league had 16 clubs from 2023/24.",),
                     sources=(S_PROLEAGUE, S_DATA)),
    CompetitionRules("B1", "Belgian Pro League", "2324", "2425", 16,
                     _places(("title", 1), ("europe", 1, 3), ("europe_playoff", 4), ("relegation_playoff", 14),
                             ("relegation", 15, 16)),
                     BELGIUM,
                     split=Split(30, (SplitGroup(6, 2, True), SplitGroup(6, 2, True), SplitGroup(4, 2)),
                                 tiebreak=BELGIUM_PLAYOFFS),
                     notes=("After 30 rounds: Champions' play-offs (1-6) and Europe play-offs (7-12) with the points "
                            "halved and rounded up, relegation play-offs (13-16) with points kept; each a double "
                            "round robin. Level on points, a team whose points were rounded up ranks lower, then "
                            "the regular-season position decides.",
                            "4th (5th when the cup winner is in the top four) plays the Europe play-offs' winner for "
                            "the last European place; that match is not a league match and is left out of the "
                            "table.", "European places are by the Pro League's rule, not the UEFA access list."),
                     sources=(S_PROLEAGUE, S_DATA)),
)


def _index(rules: Iterable[CompetitionRules]) -> dict[str, list[CompetitionRules]]:
    by_league: dict[str, list[CompetitionRules]] = {}
    for r in rules:
        by_league.setdefault(r.league, []).append(r)
    for league, entries in by_league.items():
        entries.sort(key=lambda r: season_start(r.first_season))
        for a, b in zip(entries, entries[1:], strict=False):
            if season_start(b.first_season) <= season_start(a.last_season):
                raise ValueError(f"{league}: rules for {a.seasons} and {b.seasons} overlap")
    return by_league


_BY_LEAGUE = _index(RULES)


def rules_for(league: str, season: str) -> CompetitionRules | None:
    """The rules of ``league`` in ``season``; a season after the table's last gets its last row (marked
    ``assumed_for``); ``None`` for a league or an earlier season the table does not cover."""
    entries = _BY_LEAGUE.get(league.upper())
    if not entries:
        return None
    start = season_start(season)
    for r in entries:
        if season_start(r.first_season) <= start <= season_start(r.last_season):
            return r
    last = entries[-1]
    if start > season_start(last.last_season):
        from dataclasses import replace

        return replace(last, assumed_for=season)
    return None
