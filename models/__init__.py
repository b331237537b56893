"""Executable models checked by ``vigilnet check``."""
