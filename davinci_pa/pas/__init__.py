"""pas layer."""
