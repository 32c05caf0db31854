"""Scoping-matrix entries, one module per area; test_route_matrix.py merges every module here."""
