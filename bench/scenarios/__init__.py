"""The benchmark scenarios: each returns ``Result`` lines for the table and results.json."""
