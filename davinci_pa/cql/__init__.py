"""cql layer."""
