"""SSCR: the statistical CAP resolver for partitions (DESIGN.md section 4.3)."""
