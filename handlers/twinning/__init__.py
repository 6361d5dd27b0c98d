"""Twinning (结对帮扶) in chat. For now only the views of the notices the twinning service
records; the dialogues (/twins, the pairs section of /admin) come with the UI."""
