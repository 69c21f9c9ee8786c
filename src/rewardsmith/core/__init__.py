"""The engine. Knows no concrete component: everything concrete arrives through hooks."""
