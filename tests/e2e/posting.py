"""Posting a wish through the dialogue the way a resident does, for tests that need one:
the wish first, then the card (kind of help and date changed only when asked), then post."""

from __future__ import annotations

from tests.support.fake_bot_api import FakeMessage, FakeUser

CARD = "请看一下您的微心愿"


async def open_card(
    user: FakeUser,
    text: str | None = None,
    *,
    photo: str | None = None,
    voice: str | None = None,
    command: str = "/wish",
) -> FakeMessage:
    """Start posting (`command`), send the wish (words, a photo with `text` as its caption,
    or a voice note) and return the card to check it."""
    await user.send(command)
    await user.wait_for("您想请人帮什么忙")
    await send_content(user, text, photo=photo, voice=voice)
    return await user.wait_for(CARD)


async def send_content(
    user: FakeUser, text: str | None = None, *, photo: str | None = None, voice: str | None = None
) -> None:
    if photo is not None:
        await user.send_photo(photo, caption=text)
    elif voice is not None:
        await user.send_voice(voice)
    else:
        assert text is not None
        await user.send(text)


async def change(
    user: FakeUser, card: FakeMessage, *, kind: str | None = None, when: str | None = None
) -> FakeMessage:
    """Change the kind of help (its label, e.g. "家庭维修") and/or the date (a button's label,
    e.g. "明天"); the card again."""
    if kind is not None:
        await user.press(card, "🏷 改类别")
        await user.press(await user.wait_for("需要哪方面的帮助"), kind)
        card = await user.wait_for(CARD)
    if when is not None:
        await user.press(card, "🕒 改时间")
        await user.press(await user.wait_for("什么时候之前需要"), when)
        card = await user.wait_for(CARD)
    return card


async def post(
    user: FakeUser,
    text: str | None = None,
    *,
    kind: str | None = None,
    when: str | None = None,
    photo: str | None = None,
    voice: str | None = None,
) -> FakeMessage:
    """The whole of it: /wish, the wish, changes if any, "✅ 发布"; the "posted" answer."""
    card = await open_card(user, text, photo=photo, voice=voice)
    card = await change(user, card, kind=kind, when=when)
    await user.press(card, "✅ 发布")
    return await user.wait_for("已发布")
