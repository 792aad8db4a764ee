"""cdshooks layer."""
