"""The core: depends on nothing else in this project."""
