"""Plumbing every other part uses: errors, logging, seeded generators, file I/O, CPU
records, the results layout and run keys, the config and its schema, search spaces,
provenance and a clean stop.
"""
