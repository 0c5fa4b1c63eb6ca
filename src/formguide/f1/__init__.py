"""Formula 1: the second sport, a field of ~20 drivers per race."""
