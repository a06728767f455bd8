"""Readers of recorded sessions: the interchange layout (CSV, gzip CSV, Parquet)."""
