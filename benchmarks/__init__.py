"""Measurements that print ratios and write JSON (not part of the test suite)."""
