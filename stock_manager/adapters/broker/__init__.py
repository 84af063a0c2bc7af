"""Broker adapters."""
