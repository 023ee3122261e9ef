"""GraphQL of the social map: types, loaders, queries, and one module per mutation.

This package's ``__init__`` imports nothing: ``service.schema.types`` imports
``case_fields`` from here, and ``queries`` imports ``service.schema.types`` in turn.
"""
