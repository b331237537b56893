"""SDBC: Byzantine consensus of the continental hubs (DESIGN.md section 4.1)."""
