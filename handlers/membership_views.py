"""What the membership feature tells people later, through the outbox: coordinators hear of a
new application, the applicant hears the decision."""

from __future__ import annotations

from bot.i18n import esc
from bot.services.membership import ApplicationApproved, ApplicationRejected, NewApplication
from handlers.admin.buttons import ReviewApplications
from handlers.notices import Shown, ViewEnv, notice_view


@notice_view(NewApplication)
async def new_application(notice: NewApplication, env: ViewEnv) -> Shown:
    t = env.t
    return Shown(
        t("New member application from {name}. Open /admin to decide.").format(
            name=f"<b>{esc(notice.name)}</b>"
        ),
        (((t("Review applications"), ReviewApplications().pack()),),),
    )


@notice_view(ApplicationApproved)
async def approved(notice: ApplicationApproved, env: ViewEnv) -> Shown:
    return Shown(env.t("Welcome aboard! You are now a member. Send /help to see what you can do."))


@notice_view(ApplicationRejected)
async def rejected(notice: ApplicationRejected, env: ViewEnv) -> Shown:
    return Shown(
        env.t("Your member application was not approved. Reason: {reason}").format(
            reason=esc(notice.reason)
        )
    )
