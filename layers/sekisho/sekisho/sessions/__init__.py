"""Signed-in visitors: one-time codes by mail, short signed sessions, their own records."""
