"""Versioned index settings and mappings (JSON), shipped as package data of pinsearch."""
