"""One index: its settings, analyzers, immutable segments and the shard that writes and refreshes them."""
