"""Proof modules run by ``vigilnet prove``."""
