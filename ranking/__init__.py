"""Search and Related Pins requests, learning to rank, evaluation."""
