"""Tests of the fake Bot API server, driven by the real python-telegram-bot Bot/Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.support.fake_bot_api import (
    BOT_ID,
    BOT_USERNAME,
    FakeBotApi,
    FakeUser,
    RateLimits,
    parse_html,
)

TOKEN = "123456:TEST-TOKEN"


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta periods: otherwise RetryAfter() itself warns (and
    filterwarnings=error turns that warning into an exception)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest_asyncio.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


# --- a tiny bot ---------------------------------------------------------------------------


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_user is not None and update.effective_message is not None
    name = html.escape(update.effective_user.first_name)
    args = html.escape(" ".join(context.args or []))
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("喜欢 👍", callback_data="like:1")],
            [InlineKeyboardButton("Site", url="https://example.com")],
        ]
    )
    await update.effective_message.reply_html(
        f"Hello, <b>{name}</b>! args=[{args}]", reply_markup=keyboard
    )


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    if query.data == "like:1":
        await query.answer("Thanks!", show_alert=True)
        await query.edit_message_text(
            f"Liked by <i>{html.escape(query.from_user.first_name)}</i>", parse_mode=ParseMode.HTML
        )
    else:
        await query.answer("This button is not valid any more.", show_alert=True)


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    if message.text:
        await message.reply_text(f"echo: {message.text}")
    elif message.contact:
        await message.reply_text(f"phone {message.contact.phone_number}")
    elif message.photo:
        await message.reply_photo(message.photo[-1].file_id, caption="same photo")


@pytest_asyncio.fixture
async def app(fake: FakeBotApi) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", _start))
    application.add_handler(CallbackQueryHandler(_pressed))
    application.add_handler(MessageHandler(~filters.COMMAND, _echo))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        yield application
        await application.updater.stop()
        await application.stop()


# --- the Application end to end -------------------------------------------------------------


@pytest.mark.asyncio
async def test_command_reaches_command_handler_and_reply_lands_in_inbox(
    fake: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = fake.user(1001, first_name="<Wang & Co>")
    sent = await user.send("/start hello world")
    assert sent.data["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    reply = await user.next_message()
    assert reply.text == "Hello, <Wang & Co>! args=[hello world]"
    assert reply.raw_text is not None and "&lt;Wang &amp; Co&gt;" in reply.raw_text
    assert reply.entities == [{"type": "bold", "offset": 7, "length": 11}]
    assert reply.buttons == [("喜欢 👍", "like:1"), ("Site", "https://example.com")]
    assert user.inbox == [reply] and user.last is reply
    assert "reply_to_message" not in reply.data  # PTB quotes only in groups by default
    assert reply.message_id == sent.message_id + 1  # one id sequence per private chat
    assert fake.calls_to("getMe") and fake.calls_to("deleteWebhook")
    await fake.wait_idle()


@pytest.mark.asyncio
async def test_group_command_with_bot_username(
    fake: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    group = fake.group(-100123, "Members")
    user = fake.user(1002, first_name="Li")
    command = await user.send(f"/start@{BOT_USERNAME} x", chat=group)
    reply = await group.next_message()
    assert reply.data["reply_to_message"]["message_id"] == command.message_id
    assert reply.chat_id == -100123 and reply.data["chat"]["type"] == "supergroup"
    assert reply.text == "Hello, Li! args=[x]"
    assert user.inbox == []
    await user.send("hi there", chat=group)
    echoed = await group.wait_for("echo: hi there")
    assert echoed.data["from"]["id"] == BOT_ID


@pytest.mark.asyncio
async def test_callback_press_is_answered_and_message_edited(
    fake: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = fake.user(1003, first_name="Zhao")
    await user.send("/start")
    menu = await user.next_message()
    answer = await user.press(menu, "喜欢 👍")
    assert answer == "Thanks!"
    assert fake.answered_callbacks[-1][1:] == ("Thanks!", True)
    edited = await user.wait_for("Liked by Zhao")
    assert edited is menu  # records stay current after edits
    assert menu.buttons == []  # editMessageText without reply_markup drops the keyboard
    assert [v.text for v in menu.edited] == ["Hello, Zhao! args=[]"]
    with pytest.raises(AssertionError, match=r"(?i)no button 'nope'"):
        await user.press(menu, "nope")
    forged = await user.press_data(menu, "admin:delete-everything")
    assert forged == "This button is not valid any more."
    stranger = fake.user(1013)
    assert await stranger.press_data(None, "like:2") == "This button is not valid any more."


@pytest.mark.asyncio
async def test_user_driver_messages_reach_the_bot(
    fake: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = fake.user(1004, first_name="Sun")
    await user.share_contact("+8613800000000")
    assert (await user.next_message()).text == "phone +8613800000000"
    photo = await user.send_photo("user-photo-1", caption="look")
    assert photo.photo == "user-photo-1"
    back = await user.next_message()
    assert back.photo == "user-photo-1" and back.caption == "same photo"
    await user.send_voice("voice-1", 4)
    await user.send_document("doc-1", "a.pdf", "application/pdf")
    await user.send_sticker("sticker-1")
    await user.send_location(31.2, 121.5)
    await fake.wait_idle()
    assert [m.kind for m in fake.user_messages[-4:]] == [
        "voice",
        "document",
        "sticker",
        "location",
    ]
    with pytest.raises(AssertionError, match=r"(?i)no bot message matching 'never'"):
        await user.wait_for("never", timeout=0.2)


# --- validation through the real Bot ------------------------------------------------------


@pytest.mark.asyncio
async def test_get_me_and_unknown_method(fake: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.can_join_groups) == (BOT_ID, BOT_USERNAME, True)
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendSomethingNew", api_kwargs={"chat_id": 1})
    assert fake.calls_to("sendSomethingNew")[0].status == 404
    async with Bot(TOKEN, base_url=fake.base_url) as raw:  # what a raw 404 looks like to PTB
        with pytest.raises(InvalidToken, match=r"(?i)not found"):
            await raw._post("sendSomethingNew")


@pytest.mark.asyncio
async def test_html_validation(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(2001)
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "script" at byte offset 0'):
        await bot.send_message(user.id, "<script>alert(1)</script>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(user.id, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(user.id, "Tom & Jerry", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't find end tag"):
        await bot.send_message(user.id, "<b>bold", parse_mode="HTML")
    evil = "<script>alert('x')</script> 1 < 2 & 3 > 2"
    sent = await bot.send_message(user.id, f"<b>{html.escape(evil)}</b>", parse_mode="HTML")
    assert sent.text == evil
    assert fake.sent_to(user.id)[-1].text == evil
    assert fake.sent_to(user.id)[-1].raw_text == f"<b>{html.escape(evil)}</b>"
    assert len(fake.sent_to(user.id)) == 1  # rejected messages are not delivered


@pytest.mark.asyncio
async def test_text_and_caption_limits(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(2002)
    await bot.send_message(user.id, "a" * 4096)
    await bot.send_message(user.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(user.id, "a" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(user.id, "  \n ")
    fake.register_file("photo-1", "photo")
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(user.id, "photo-1", caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hello")


@pytest.mark.asyncio
async def test_callback_data_is_limited_to_64_bytes(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(2003)
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="选" * 21)]])  # 63 B
    await bot.send_message(user.id, "fits", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="选" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(user.id, "22 chars but 66 bytes", reply_markup=too_long)


@pytest.mark.asyncio
async def test_blocked_user_and_migrated_group(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(2004)
    fake.block(user.id)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(user.id, "hi")
    fake.unblock(user.id)
    await bot.send_message(user.id, "hi again")
    fake.group(-555, "Old group")
    fake.migrate_group(-555, -100555)
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-555, "hi group")
    assert migrated.value.new_chat_id == -100555
    sent = await bot.send_message(-100555, "hi supergroup")
    assert sent.chat.type == "supergroup"


@pytest.mark.asyncio
async def test_rate_limits(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(2005)
    group = fake.group(-100777, "Busy")
    await bot.send_message(user.id, "1")
    await bot.send_message(user.id, "2")  # limits are off by default
    fake.enforce_limits(
        global_per_second=200, per_private_chat_per_second=1, per_group_per_minute=3
    )
    await bot.send_message(user.id, "3")
    with pytest.raises(RetryAfter):
        await bot.send_message(user.id, "4")
    assert fake.count_429 == 1
    limited = fake.calls_to("sendMessage")[-1]
    assert limited.status == 429
    assert limited.response is not None and limited.response["parameters"]["retry_after"] >= 1
    await bot.send_chat_action(user.id, "typing")  # chat actions are not counted
    for text in ("a", "b", "c"):
        await bot.send_message(group.id, text)
    with pytest.raises(RetryAfter):
        await bot.send_message(group.id, "d")
    assert fake.count_429 == 2
    fake.disable_limits()
    await bot.send_message(group.id, "e")


@pytest.mark.asyncio
async def test_global_rate_limit_sliding_window(fake: FakeBotApi, bot: Bot) -> None:
    users = [fake.user(3000 + i) for i in range(6)]
    fake.enforce_limits(global_per_second=5, per_private_chat_per_second=10)
    for user in users[:5]:
        await bot.send_message(user.id, "x")
    with pytest.raises(RetryAfter):
        await bot.send_message(users[5].id, "x")


@pytest.mark.asyncio
async def test_edit_message(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(2006)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(user.id, "<b>v1</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<strong>v1</strong>", user.id, sent.message_id, parse_mode="HTML", reply_markup=markup
        )
    await bot.edit_message_text("v1", user.id, sent.message_id, reply_markup=markup)  # no bold
    await bot.edit_message_text("v2", user.id, sent.message_id)
    record = user.inbox[0]
    assert record.text == "v2" and record.reply_markup is None
    assert [v.text for v in record.edited] == ["v1", "v1"]
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("v3", user.id, 999)
    await bot.edit_message_reply_markup(user.id, sent.message_id, reply_markup=markup)
    assert record.buttons == [("A", "a")]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(user.id, sent.message_id, reply_markup=markup)
    assert await bot.delete_message(user.id, sent.message_id)
    assert record.deleted and user.inbox == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)


@pytest.mark.asyncio
async def test_send_photo_upload_by_multipart_and_download(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(2007)
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    sent = await bot.send_photo(user.id, content, caption="<i>cap</i>", parse_mode="HTML")
    upload = fake.calls_to("sendPhoto")[0].params["photo"]
    assert upload.data == content
    file_id = sent.photo[-1].file_id
    record = user.last
    assert record is not None and record.photo == file_id and record.caption == "cap"
    telegram_file = await bot.get_file(file_id)
    assert bytes(await telegram_file.download_as_bytearray()) == content
    again = await bot.send_photo(user.id, file_id)  # resend by file_id
    assert again.photo[-1].file_id == file_id
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(user.id, "never-seen")
    doc = await bot.send_document(user.id, b"hello", filename="notes.txt")
    assert doc.document is not None and doc.document.file_name == "notes.txt"
    voice = await bot.send_voice(user.id, b"OggS", duration=2)
    assert voice.voice is not None and voice.voice.duration == dtm.timedelta(seconds=2)
    location = await bot.send_location(user.id, 31.2, 121.5)
    assert location.location is not None and location.location.latitude == 31.2


@pytest.mark.asyncio
async def test_copy_forward_chat_and_member(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(2008, first_name="Qian")
    admin = fake.user(2009, first_name="Admin")
    photo = await user.send_photo("p-1", caption="broken lamp")
    copied = await bot.copy_message(admin.id, user.id, photo.message_id, caption="from Qian")
    record = fake.message(admin.id, copied.message_id)
    assert record is not None and record.photo == "p-1" and record.caption == "from Qian"
    forwarded = await bot.forward_message(admin.id, user.id, photo.message_id)
    assert forwarded.forward_origin is not None
    chat = await bot.get_chat(user.id)
    assert (chat.type, chat.first_name) == ("private", "Qian")
    group = fake.group(-100900, "Volunteers")
    group.set_member(user, "administrator")
    member = await bot.get_chat_member(group.id, user.id)
    assert member.status == "administrator"
    assert (await bot.get_chat_member(group.id, admin.id)).status == "left"
    assert (await bot.get_chat_member(user.id, user.id)).status == "member"


@pytest.mark.asyncio
async def test_commands_webhook_and_menu(fake: FakeBotApi, bot: Bot) -> None:
    await bot.set_my_commands([("start", "开始"), ("help", "帮助")], language_code="zh")
    await bot.set_my_commands([("start", "Start")])
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["start", "help"]
    assert fake.get_commands()[0]["description"] == "Start"
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Start", "bad")])
    await bot.delete_my_commands(language_code="zh")
    assert await bot.get_my_commands(language_code="zh") == ()
    await bot.set_chat_menu_button()
    assert await bot.set_webhook("https://example.com/hook")
    assert (await bot.get_webhook_info()).url == "https://example.com/hook"
    assert await bot.delete_webhook()
    assert await bot.log_out() and await bot.close()


@pytest.mark.asyncio
async def test_fault_injection(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(2010)
    fake.fail_next("sendMessage", status=502, count=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(user.id, "x")
    await bot.send_message(user.id, "x")
    assert [c.status for c in fake.calls_to("sendMessage")] == [502, 502, 200]


@pytest.mark.asyncio
async def test_get_updates_long_polling(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(2011)
    started = time.monotonic()
    assert await bot.get_updates(timeout=0) == ()

    async def later() -> None:
        await asyncio.sleep(0.2)
        await user.send("ping")

    task = asyncio.create_task(later())
    updates = await bot.get_updates(timeout=5)
    await task
    assert time.monotonic() - started < 2
    assert len(updates) == 1 and updates[0].message is not None
    assert updates[0].message.text == "ping"
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]  # not confirmed yet
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert fake.pending_updates == []


@pytest.mark.asyncio
async def test_json_body_is_accepted(fake: FakeBotApi) -> None:
    user = fake.user(2012)
    payload = {
        "chat_id": user.id,
        "text": "123",
        "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    }
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"{fake.base_url}{TOKEN}/sendmessage", json=payload)
        body = await response.json()
    assert body["ok"] and body["result"]["text"] == "123"
    assert user.last is not None and user.last.buttons == [("A", "a")]
    assert fake.calls[-1].method == "sendMessage"


@pytest.mark.asyncio
async def test_bot_errors_are_telegram_errors(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(TelegramError):
        await bot.answer_callback_query("no-such-query")


def test_parse_html_entities() -> None:
    text, entities = parse_html(
        '<b>bold <i>both</i></b> <a href="https://x.y/?a=1&amp;b=2">link</a> '
        '<pre><code class="language-python">x = 1</code></pre> 😀<u>u</u> &#65;&quot;'
        "<blockquote expandable>q</blockquote><tg-spoiler>s</tg-spoiler>"
    )
    assert text == 'bold both link x = 1 😀u A"qs'
    assert {"type": "pre", "offset": 15, "length": 5, "language": "python"} in entities
    assert {"type": "underline", "offset": 23, "length": 1} in entities  # 😀 counts 2 in UTF-16
    assert {"type": "text_link", "offset": 10, "length": 4, "url": "https://x.y/?a=1&b=2"} in (
        entities
    )
    assert {"type": "expandable_blockquote", "offset": 27, "length": 1} in entities
    assert parse_html("a & b", strict_ampersand=False)[0] == "a & b"


@pytest.mark.asyncio
async def test_fake_user_is_reused(fake: FakeBotApi) -> None:
    assert isinstance(fake.user(5), FakeUser) and fake.user(5) is fake.user(5)


@pytest.mark.asyncio
async def test_second_poller_terminates_the_first(fake: FakeBotApi, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.2)
    async with Bot(TOKEN, base_url=fake.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getupdates request"):
        await first


@pytest.mark.asyncio
async def test_wait_idle_reports_unfetched_updates(fake: FakeBotApi) -> None:
    await fake.user(6).send("nobody polls")
    with pytest.raises(AssertionError, match=r"1 update\(s\) not fetched"):
        await fake.wait_idle(timeout=0.3)


def test_rate_limits_flag_uses_telegram_defaults() -> None:
    assert FakeBotApi(rate_limits=True).rate_limits == RateLimits(30, 1, 20)
    assert FakeBotApi().rate_limits is None
