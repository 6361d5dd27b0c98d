"""Telegram adapters, one module per feature: parse, check the role, call a service, render."""
