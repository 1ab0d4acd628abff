"""Reporting: pure statistics, digests and exports."""
