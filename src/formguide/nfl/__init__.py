"""The NFL: nflverse games, team statistics and injury reports; moneyline, spread and total markets."""
