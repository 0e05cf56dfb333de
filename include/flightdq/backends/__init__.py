"""Backends: the lake, its catalog and its SQL engine, locally (embedded) or on AWS."""
