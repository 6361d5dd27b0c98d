"""Whether a person can be reached: Telegram tells the bot when someone blocks it or unblocks
it (a `my_chat_member` update in their private chat). Someone who blocked the bot is skipped
by offers and alerts; once they unblock it (or send /start), they get them again."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.ext import BaseHandler, ChatMemberHandler

from handlers.context import LinliContext

# A private chat's member statuses: "kicked" is the bot blocked, "member" the bot welcome.
BLOCKED = {ChatMember.BANNED}
OPEN = {ChatMember.MEMBER}


async def chat_status_changed(update: Update, context: LinliContext) -> None:
    change = update.my_chat_member
    if change is None or change.chat.type != change.chat.PRIVATE:
        return  # groups: the members' group is configured, not followed
    user = change.from_user
    if await context.services.users.get(user.id) is None:
        return  # not registered: nothing to mark
    status = change.new_chat_member.status
    if status in BLOCKED:
        await context.services.users.set_reachable(user.id, False)
    elif status in OPEN:
        await context.services.users.set_reachable(user.id, True)


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    return [ChatMemberHandler(chat_status_changed, ChatMemberHandler.MY_CHAT_MEMBER)]
