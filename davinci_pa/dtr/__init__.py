"""dtr layer."""
