"""crd layer."""
