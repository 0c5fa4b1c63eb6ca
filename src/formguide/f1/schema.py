"""The canonical F1 entry frame shared by ingest, features, models, simulation and the season pipeline.

One row per (race, driver) entry, sorted by ``date`` then ``race_id`` then ``grid``. Rows of a race not run yet
have NaN ``position``/``points`` and ``status`` None; a race whose qualifying has not happened has NaN ``grid``
and ``quali_position``. Everything downstream reads this shape, whether it came from Ergast tables, a race
data folder, the store, or a test fixture built in code.
"""

from __future__ import annotations

# Identity and timing (race level, repeated on every entry row)
RACE_COLUMNS = [
    "race_id",        # int: store event id (or Ergast raceId before storing)
    "season",         # int year, e.g. 2024
    "round",          # int round within the season
    "race_name",      # "Bahrain Grand Prix"
    "circuit",        # circuitRef, e.g. "bahrain"
    "circuit_type",   # "street" | "permanent"
    "date",           # datetime64: race start (date + time when known)
    "has_sprint",     # bool
]
# Entry level
ENTRY_COLUMNS = [
    "driver",         # driver code / ref, unique: driverRef (e.g. "max_verstappen"); display code in driver_code
    "driver_code",    # three-letter code, e.g. "VER" (may be missing in old seasons)
    "constructor",    # constructorRef, e.g. "red_bull"
    "grid",           # float: starting position (0/NaN = pit lane / unknown); NaN before qualifying
    "quali_position", # float
    "quali_best_ms",  # float: best qualifying lap in ms (min of q1/q2/q3)
    "quali_q2_ms",    # float: Q2 lap in ms (NaN: out in Q1, or a qualifying format without a Q2)
    "quali_q3_ms",    # float: Q3 lap in ms (NaN: out before Q3, or no Q3)
    "sprint_position",  # float, NaN when no sprint
    "sprint_points",  # float
]
# Outcomes (NaN / None until the race has been run)
OUTCOME_COLUMNS = [
    "position",       # float: finishing order of all entrants (Ergast positionOrder) — the ranking target
    "classified",     # bool/NaN: classified finisher (positionText numeric)
    "points",         # float: championship points scored in the race (sprint points separate)
    "status",         # str: "Finished", "+1 Lap", "Engine", "Accident", ...
    "dnf",            # float 0/1: did not finish (not Finished and not "+N Laps")
    "mechanical_dnf", # float 0/1: DNF for a car/technical reason (engine, gearbox, hydraulics, ...)
    "laps",           # float
]
# Race-level conditions known after the race (from lap data / safety-car table); outcomes for point-in-time
CONDITION_COLUMNS = [
    "wet",            # float 0/1: intermediate or wet tyres used in the race (lap data, 2018+), NaN unknown
    "safety_car",     # float 0/1: at least one safety-car deployment
    "safety_car_laps",  # float
]
ENTRY_FRAME_COLUMNS = RACE_COLUMNS + ENTRY_COLUMNS + OUTCOME_COLUMNS + CONDITION_COLUMNS
