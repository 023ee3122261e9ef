"""The social map as GeoJSON (RFC 7946), for any map library or GIS tool to draw.

``feature_collection`` is pure: it turns organisations into a ``FeatureCollection`` of ``Point``
features. Coordinates are ``[longitude, latitude]`` in WGS 84, as RFC 7946 requires; only
organisations with coordinates are features (a feature without a geometry draws nowhere).
Properties hold the public facts a map shows: names, kind, country, place, services, target
groups, languages, freshness. Contact details stay out (they are on the organisation's page).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from service.socialmap.model import Organisation, is_stale

__all__ = ["MEDIA_TYPE", "feature_collection"]

MEDIA_TYPE = "application/geo+json"


def _feature(
    org: Organisation, global_id: str, today: dt.date, stale_months: int
) -> dict[str, Any]:
    d = org.data
    assert d.latitude is not None
    assert d.longitude is not None
    return {
        "type": "Feature",
        "id": global_id,
        "geometry": {"type": "Point", "coordinates": [d.longitude, d.latitude]},
        "properties": {
            "name": d.name,
            "nameNl": d.name_nl,
            "localName": d.local_name,
            "kind": d.kind.value,
            "country": d.country,
            "city": d.city,
            "region": d.region,
            "services": [s.value for s in d.services],
            "targetGroups": [t.value for t in d.target_groups],
            "languages": list(d.languages),
            "lastVerifiedOn": d.last_verified_on.isoformat() if d.last_verified_on else None,
            "stale": is_stale(d.last_verified_on, today, stale_months),
            "active": org.active,
        },
    }


def feature_collection(
    located: Iterable[tuple[Organisation, str]], today: dt.date, stale_months: int
) -> dict[str, Any]:
    """Organisations (each with its global id) as a ``FeatureCollection``."""
    return {
        "type": "FeatureCollection",
        "features": [
            _feature(org, gid, today, stale_months)
            for org, gid in located
            if org.data.latitude is not None and org.data.longitude is not None
        ],
    }
