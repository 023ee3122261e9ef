"""Integrator clients: OAuth 2 client-credentials for a shelter's own systems."""
