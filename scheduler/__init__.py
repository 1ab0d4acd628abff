"""Scheduled jobs: reminders, digests, campaign open/close and the outbox dispatcher."""
