"""Pieces shared by every area: column types, time, errors, CLI plumbing."""
