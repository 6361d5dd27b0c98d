"""Twinning (结对帮扶) in chat: the views of the notices the twinning service records; for
members /twins (`twins`: their households, a household's card, logging a visit); for
coordinators the 🤝 结对帮扶 section of /admin (`households`: registering households, pairing,
ending pairs, the needs-attention list)."""
