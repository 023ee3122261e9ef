"""CoMensha's cross-tenant reports: a read model without personal data, and disclosure control.

Modules:

- ``model``: the report row of one case, a pure fold of its events (no personal data: no
  pseudonym, names, dates of birth or free text; an age group, months and day offsets only);
- ``projection``: the async projection that follows each shelter's feed and writes rows and
  its checkpoint in one transaction; rebuild from the log;
- ``periods``: fixed calendar periods (month, quarter, year) and ranges of whole months,
  decomposed into fixed periods;
- ``disclosure``: threshold k, secondary suppression, rounding to base k;
- ``queries``: the reports, assembled from aggregates that ``SECURITY DEFINER`` functions
  return (the only cross-tenant path) with disclosure control applied;
- ``access``: who may run reports; ``export`` and ``http``: CSV and JSON over HTTP.
"""
