"""Per-pin signals computed in batch over a corpus (one module per signal; no logic here)."""
