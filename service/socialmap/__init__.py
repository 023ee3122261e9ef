"""Shared organisation data: the international social map, referral mechanisms, import, search.

Not tenant data: every authenticated principal reads it; CoMensha's social-map editors change
it (``editing``), one organisation at a time or by bulk import (``importer``). ``model`` holds
the validated shape, ``search`` the accent-insensitive normalisation, ``repository``,
``history`` and ``mechanisms`` the SQL, ``seed`` the real and the demo data.
"""
