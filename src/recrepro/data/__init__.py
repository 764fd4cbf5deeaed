"""MovieLens data: download, verification, parsing, splitting and the in-memory containers."""
