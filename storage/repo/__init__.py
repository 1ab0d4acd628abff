"""Repositories: async functions taking a connection, returning dataclasses from `storage.records`."""
