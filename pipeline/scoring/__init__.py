"""Scoring new articles: reading inputs, the scorer and its process pool, writing outputs, Dask."""
