"""The 📰 你说我做 buttons of /admin: each one's callback data defined once. A month travels as
yyyymm (202611), a story as its key ("s12": suggestion 12, "w7": wish 7, "f3": finding 3)."""

from __future__ import annotations

from handlers.buttons import Button, button


@button("dg:open")
class DigestMenu(Button):
    """Open the screen on last month."""


@button("dg:m")
class DigestMonth(Button):
    month: int


@button("dg:t")
class ToggleStory(Button):
    month: int
    key: str


@button("dg:w")
class RewriteStory(Button):
    month: int
    key: str


@button("dg:o")
class OwnWordsOff(Button):
    """Back to the story's own words (drop the coordinator's rewrite)."""

    month: int
    key: str


@button("dg:p")
class PreviewDigest(Button):
    month: int


@button("dg:s")
class SendDigest(Button):
    month: int
