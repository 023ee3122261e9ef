"""Exports of a shelter's case data in standard formats (HTCDS)."""
