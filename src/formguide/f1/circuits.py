"""Circuit facts: which circuits are street circuits.

``circuit_type`` is a race-level feature (walls, little run-off, more safety cars, qualifying matters
more), so it is a small fact table keyed by Ergast ``circuitRef`` rather than something learned.

Rule: a circuit is ``"street"`` when it is a temporary track laid out on public roads or on park /
parking-lot roads lined with barriers, in or next to a city; every dedicated racing facility is
``"permanent"``. Historic open-road courses through the countryside (Spa's old layout, Reims, Rouen,
Pescara, Bremgarten, Ain-Diab, AVUS) are counted as permanent: they were fast road courses, not the
walled low-speed layouts the feature is about, and they predate the data the models use. Semi-street
circuits (Albert Park, Circuit Gilles Villeneuve, Sochi's Olympic Park, Miami's stadium circuit) are
counted as street: public-road or park layouts lined with walls.

A circuit not in Ergast's table (a race folder for a new venue) is ``"permanent"`` unless its
``race.json`` says ``"circuit_type": "street"``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

STREET = "street"
PERMANENT = "permanent"

#: Ergast ``circuitRef`` of every street circuit (see the module docstring for the rule).
STREET_CIRCUITS: frozenset[str] = frozenset({
    "monaco",       # Circuit de Monaco
    "marina_bay",   # Singapore
    "baku",         # Baku City Circuit
    "jeddah",       # Jeddah Corniche Circuit
    "vegas",        # Las Vegas Strip (2023-)
    "las_vegas",    # Caesars Palace car park (1981-82)
    "miami",        # Miami International Autodrome (temporary, around the stadium)
    "albert_park",  # Melbourne park roads
    "villeneuve",   # Montreal, Ile Notre-Dame roads
    "valencia",     # Valencia Street Circuit
    "sochi",        # Sochi Olympic Park roads
    "adelaide",     # Adelaide Street Circuit
    "phoenix",      # Phoenix street circuit
    "detroit",      # Detroit street circuit
    "dallas",       # Fair Park
    "long_beach",   # Long Beach
    "monsanto",     # Lisbon, Monsanto park
    "boavista",     # Oporto streets
    "montjuic",     # Barcelona, Montjuic park
    "pedralbes",    # Barcelona streets
})


def circuit_type(refs: Iterable[str | None]) -> np.ndarray:
    """``"street"`` or ``"permanent"`` for each ``circuitRef`` (object array, same order)."""
    refs = list(refs)
    out = np.full(len(refs), PERMANENT, dtype=object)
    out[[i for i, r in enumerate(refs) if r in STREET_CIRCUITS]] = STREET
    return out
