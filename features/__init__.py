"""Epoch features, vectorised over windows."""
