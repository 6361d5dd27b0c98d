"""Twinning (结对帮扶) in chat: the views of the notices the twinning service records, and for
members /twins (`twins`: their households, a household's card, logging a visit)."""
