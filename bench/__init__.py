"""Benchmarks: `make bench` runs them; never part of `make test`."""
