"""SHAP: Merkle-verified hierarchical aggregation (DESIGN.md section 4.2)."""
