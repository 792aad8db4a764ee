"""Pytest configuration shared by every test package."""
