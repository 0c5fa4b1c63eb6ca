"""NFL models: one predictive distribution of the home margin and of the total points per game, read
coherently by every bet type (moneyline, spread, total), and the baselines scored next to them."""
