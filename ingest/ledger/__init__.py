"""The ledger: every media file seen, its state and the outputs written (SQLite)."""
