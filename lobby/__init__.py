"""Lobby Guide: shared contracts (schema, settings) and the `lobby` command line."""
