"""Placeholder; filled in by the judges issue."""
