"""SQLAlchemy Core tables. Every change here comes with an Alembic migration."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from storage.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- organisation tree: District > Street > Community > Building ---------------------------

districts = Table(
    "districts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
)

streets = Table(
    "streets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("district_id", ForeignKey("districts.id"), nullable=False),
    Column("name", String(100), nullable=False),
)

communities = Table(
    "communities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("street_id", ForeignKey("streets.id"), nullable=False),
    Column("name", String(100), nullable=False),
)

buildings = Table(
    "buildings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("archived", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("community_id", "name", name="uq_buildings_community_name"),
)

# --- people --------------------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),  # Telegram user id
    Column("display_name", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("building_id", ForeignKey("buildings.id"), nullable=True),
    Column("room", String(32), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("announcements", Boolean, nullable=False, default=True),
    Column("quiet_start", Integer, nullable=False, default=22 * 60),
    Column("quiet_end", Integer, nullable=False, default=7 * 60),
    Column("unreachable", Boolean, nullable=False, default=False),
    Column("registered_at", UTCDateTime, nullable=False),
    # The community they live in and belong to; a member serves in it and reports to it (the
    # seeds' employed Party members report to the community of their home). Set on every
    # registration; nullable only because adding a NOT NULL column would rebuild this table.
    Column("community_id", ForeignKey("communities.id"), nullable=True),
    # A member agreed (in /profile) that residents whose wish they take see their phone.
    Column("share_phone", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_users_community", "community_id", "id"),
    # A building's people in id order: its members to offer a wish to, without a sort.
    Index("ix_users_building", "building_id", "id"),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("granted_by", BigInteger, nullable=True),
    Column("granted_at", UTCDateTime, nullable=False),
    # A coordinator's appointment: the node of the tree they see and act below (NodeKind).
    Column("node_kind", String(16), nullable=True),
    Column("node_id", Integer, nullable=True),
    Index("ix_user_roles_role", "role", "user_id"),
    Index("ix_user_roles_node", "node_kind", "node_id"),
)

user_skills = Table(
    "user_skills",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("skill", String(32), primary_key=True),
    Index("ix_user_skills_skill", "skill", "user_id"),
)

invites = Table(
    "invites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("created_by", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("max_uses", Integer, nullable=False),
    Column("uses", Integer, nullable=False, default=0),
    Column("revoked", Boolean, nullable=False, default=False),
    # Whoever joins with it becomes a member of this community.
    Column("community_id", ForeignKey("communities.id"), nullable=True),
)

member_applications = Table(
    "member_applications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("invite_id", ForeignKey("invites.id"), nullable=False),
    Column("building_id", ForeignKey("buildings.id"), nullable=True),
    Column("skills", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_by", BigInteger, nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Index("ix_member_applications_status", "status", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("actor_id", BigInteger, nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("at", UTCDateTime, nullable=False),
    # The community the action was about; None for a street or district of its own.
    Column("community_id", ForeignKey("communities.id"), nullable=True),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_community", "community_id", "id"),
)

# --- python-telegram-bot persistence (dialogue state survives restarts) --------------------

bot_state = Table(
    "bot_state",
    metadata,
    Column("kind", String(16), primary_key=True),  # conversation, user, chat, bot, callback
    Column("key", String(200), primary_key=True),
    Column("data", JSON, nullable=False),
)

# --- delivery: outbox, reminders, broadcasts -----------------------------------------------

broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_by", BigInteger, nullable=False),
    Column("audience", String(16), nullable=False),
    Column("audience_ref", BigInteger, nullable=True),
    Column("text", Text, nullable=True),
    Column("photo_file_id", String(200), nullable=True),
    Column("document_file_id", String(200), nullable=True),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False),
    Column("scheduled_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    # No longer written (the progress message is a live message now); left in place because
    # dropping them would rebuild this table on SQLite, which outbox rows reference.
    Column("progress_chat_id", BigInteger, nullable=True),
    Column("progress_message_id", BigInteger, nullable=True),
    # The node it goes to (its coordinator's): the audience is counted below it when it sends.
    Column("node_kind", String(16), nullable=True),
    Column("node_id", Integer, nullable=True),
    # An announcement whose body is data rendered in each reader's language (a monthly
    # digest): the kind names its renderer; None: the coordinator's text above.
    Column("content_kind", String(16), nullable=True),
    Column("content", JSON, nullable=True),
    Index("ix_broadcasts_status", "status", "scheduled_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("text", Text, nullable=True),
    Column("photo_file_id", String(200), nullable=True),
    Column("document_file_id", String(200), nullable=True),
    Column("parse_mode", String(16), nullable=True),
    Column("buttons", JSON, nullable=True),
    Column("dedupe_key", String(200), nullable=True, unique=True),
    Column("not_before", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("sent_message_id", BigInteger, nullable=True),
    Column("broadcast_id", ForeignKey("broadcasts.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    # A notice (rendered by the feature's views when sent): its kind, parameters, and the
    # recipient's language. Rows with a kind have no text of their own.
    Column("kind", String(64), nullable=True),
    Column("params", JSON, nullable=True),
    Column("language", String(8), nullable=True),
    Index("ix_outbox_due", "status", "not_before", "id"),
    Index("ix_outbox_broadcast", "broadcast_id", "status"),
    # The news archive: the broadcasts one chat received.
    Index("ix_outbox_chat_broadcast", "chat_id", "broadcast_id"),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subject", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("recipient_id", BigInteger, nullable=True),
    Column("payload", JSON, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("stale_after", UTCDateTime, nullable=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("done_at", UTCDateTime, nullable=True),
    Index("ix_reminders_due", "status", "due_at"),
    Index("ix_reminders_subject", "subject", "status"),
)

recurring_schedules = Table(
    "recurring_schedules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subject", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("recipient_id", BigInteger, nullable=True),
    Column("payload", JSON, nullable=False),
    Column("frequency", String(16), nullable=False),  # daily, weekly, monthly
    Column("local_time", String(5), nullable=False),  # HH:MM in the community's zone
    Column("weekday", Integer, nullable=True),  # 0 = Monday, for weekly
    Column("day_of_month", Integer, nullable=True),  # for monthly
    Column("stale_minutes", Integer, nullable=True),
    Column("expanded_until", UTCDateTime, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Index("ix_recurring_schedules_subject", "subject"),
)

# --- micro-wishes and service teams --------------------------------------------------------

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("leader_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_by", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("community_id", "name", name="uq_teams_community_name"),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", UTCDateTime, nullable=False),
    Index("ix_team_members_user", "user_id", "team_id"),
)

wishes = Table(
    "wishes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("building_id", ForeignKey("buildings.id"), nullable=True),
    Column("posted_by", ForeignKey("users.id"), nullable=False),
    # On behalf of someone without a phone: who they are and how to reach them.
    Column("for_name", String(64), nullable=True),
    Column("for_room", String(32), nullable=True),
    Column("for_phone", String(32), nullable=True),
    Column("category", String(24), nullable=False),
    Column("text", Text, nullable=True),
    Column("photo_file_id", String(200), nullable=True),
    Column("voice_file_id", String(200), nullable=True),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False),
    Column("needed_by", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("claimed_by", ForeignKey("users.id"), nullable=True),
    Column("team_id", ForeignKey("teams.id"), nullable=True),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("done_at", UTCDateTime, nullable=True),
    Column("done_note", Text, nullable=True),
    Column("done_photo_file_id", String(200), nullable=True),
    Column("done_voice_file_id", String(200), nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("rating", Integer, nullable=True),
    Column("thanks", Text, nullable=True),
    Column("thanks_voice_file_id", String(200), nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),  # coordinators were asked to help
    # The handshake at the door: a code only the resident sees, given to the helper when the
    # work is done; entering it confirms the wish. Wrong tries are counted and lock it.
    Column("handshake_code", String(8), nullable=True),
    Column("handshake_tries", Integer, nullable=False, default=0, server_default="0"),
    Column("handshake_locked", Boolean, nullable=False, default=False, server_default=false()),
    # Keyset pages of open wishes, newest first: all, by category, by building.
    Index("ix_wishes_community_status", "community_id", "status", "id"),
    Index("ix_wishes_community_status_category", "community_id", "status", "category", "id"),
    Index("ix_wishes_building_status", "building_id", "status", "id"),
    # My wishes, my tasks, a team's tasks; and the limits counted at post and claim time.
    Index("ix_wishes_posted_by", "posted_by", "id"),
    Index("ix_wishes_claimed_by", "claimed_by", "status", "id"),
    Index("ix_wishes_team", "team_id", "status", "id"),
    # The wishes posted in a period (statistics): a community's, a building's.
    Index("ix_wishes_community_created", "community_id", "created_at"),
    Index("ix_wishes_building_created", "building_id", "created_at"),
)

wish_events = Table(
    "wish_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("wish_id", ForeignKey("wishes.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("actor_id", BigInteger, nullable=True),  # None: the system
    Column("at", UTCDateTime, nullable=False),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=True),
    Column("note", Text, nullable=True),
    Column("voice_file_id", String(200), nullable=True),  # "not done" said as a voice note
    Index("ix_wish_events_wish", "wish_id", "id"),
    Index("ix_wish_events_actor", "actor_id", "kind", "id"),  # a member's latest confirmation
    # The few wishes given back or handed on: their first claim is not their claimed_at
    # (statistics read the set once; the events of the rest are never looked at).
    Index(
        "ix_wish_events_given_back",
        "wish_id",
        sqlite_where=text("kind IN ('released', 'reassigned')"),
        postgresql_where=text("kind IN ('released', 'reassigned')"),
    ),
)

# Who a team leader put on a team-claimed wish (cleared when the wish is released).
wish_assignments = Table(
    "wish_assignments",
    metadata,
    Column("wish_id", ForeignKey("wishes.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("assigned_by", BigInteger, nullable=False),
    Column("assigned_at", UTCDateTime, nullable=False),
    Index("ix_wish_assignments_user", "user_id", "wish_id"),
)

# Who is credited for a confirmed wish; written once, when the resident confirms.
wish_participants = Table(
    "wish_participants",
    metadata,
    Column("wish_id", ForeignKey("wishes.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("team_id", ForeignKey("teams.id"), nullable=True),
    Column("credited_at", UTCDateTime, nullable=False),
    Index("ix_wish_participants_user", "user_id", "credited_at"),
    Index("ix_wish_participants_credited", "credited_at", "wish_id"),
)

# --- the love-savings passbook --------------------------------------------------------------

# Append-only: a row is never updated or deleted; a correction is a new row that names the
# one it corrects. (member, kind, ref) is unique, so the same thing is never credited twice —
# whatever retries, restarts or races — on SQLite and PostgreSQL alike.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("member_id", ForeignKey("users.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("ref", String(48), nullable=False),  # what it is for: "wish:12", "adjust:<token>"
    Column("points", Integer, nullable=False),
    Column("quarter", String(6), nullable=False),  # "2026Q4", in the community's time zone
    Column("reason", Text, nullable=True),  # required for adjustments and corrections
    Column("corrects_id", ForeignKey("ledger_entries.id"), nullable=True),
    Column("granted_by", BigInteger, nullable=True),  # a coordinator; None: the bot's rules
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("member_id", "kind", "ref", name="uq_ledger_entries_member_kind_ref"),
    Index("ix_ledger_entries_member", "member_id", "id"),  # a passbook page, newest first
    Index("ix_ledger_entries_community_quarter", "community_id", "quarter", "id"),
    # Points earned between two instants, per member (statistics of a month): read from
    # the index alone.
    Index(
        "ix_ledger_entries_community_created", "community_id", "created_at", "member_id", "points"
    ),
)

# The balances the ledger adds up to, kept in the same transaction as each entry (the
# passbook and the ranking read these instead of summing millions of rows). `period` is a
# quarter ("2026Q4") or "all".
ledger_totals = Table(
    "ledger_totals",
    metadata,
    Column("member_id", ForeignKey("users.id"), primary_key=True),
    Column("community_id", ForeignKey("communities.id"), primary_key=True),
    Column("period", String(6), primary_key=True),
    Column("points", Integer, nullable=False),
    Index("ix_ledger_totals_ranking", "community_id", "period", "points"),
)

# Points per kind of work, set per community by its coordinators (defaults in the code).
point_rules = Table(
    "point_rules",
    metadata,
    Column("community_id", ForeignKey("communities.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("points", Integer, nullable=False),
    Column("changed_by", BigInteger, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
)

# A quarter a community's coordinators closed (recognition sent, sheet made): once each.
quarter_closes = Table(
    "quarter_closes",
    metadata,
    Column("community_id", ForeignKey("communities.id"), primary_key=True),
    Column("quarter", String(6), primary_key=True),
    Column("closed_by", BigInteger, nullable=False),
    Column("closed_at", UTCDateTime, nullable=False),
)

# --- twinning (结对帮扶) ------------------------------------------------------------------

# A household looked after by twinned members; it need not be on Telegram. `phone` is read by
# one repository function only (storage.twinning.contact_of).
households = Table(
    "households",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("building_id", ForeignKey("buildings.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("room", String(32), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("notes", Text, nullable=True),
    # A registered resident of the household: told of their pairs, and found by their user.
    Column("resident_id", ForeignKey("users.id"), nullable=True),
    Column("consent_by", BigInteger, nullable=False),  # who recorded the household's consent
    Column("consent_at", UTCDateTime, nullable=False),
    Column("created_by", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_households_community_building", "community_id", "building_id", "id"),
    Index("ix_households_resident", "resident_id"),
)

# A row per circumstance (as user_skills): counted and filtered by an index, not a LIKE.
household_circumstances = Table(
    "household_circumstances",
    metadata,
    Column("household_id", ForeignKey("households.id", ondelete="CASCADE"), primary_key=True),
    Column("circumstance", String(24), primary_key=True),
    Index("ix_household_circumstances_circumstance", "circumstance", "household_id"),
)

pairs = Table(
    "pairs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", ForeignKey("users.id"), nullable=False),
    Column("household_id", ForeignKey("households.id"), nullable=False),
    # The household's place, copied: the totals per building and community need no join.
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("building_id", ForeignKey("buildings.id"), nullable=False),
    Column("cadence_days", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("created_by", BigInteger, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("end_reason", Text, nullable=True),
    Column("ended_by", BigInteger, nullable=True),
    # At most one active pair of a member and a household, whatever races.
    Index(
        "uq_pairs_active",
        "member_id",
        "household_id",
        unique=True,
        sqlite_where=text("ended_at IS NULL"),
        postgresql_where=text("ended_at IS NULL"),
    ),
    Index("ix_pairs_member", "member_id", "id"),
    Index("ix_pairs_household", "household_id", "id"),
    Index("ix_pairs_community_started", "community_id", "started_at"),
)

# Append-only. (member_id, token) is unique: a "save" sent twice makes one visit.
visits = Table(
    "visits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pair_id", ForeignKey("pairs.id"), nullable=False),
    Column("household_id", ForeignKey("households.id"), nullable=False),
    Column("member_id", ForeignKey("users.id"), nullable=False),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("building_id", ForeignKey("buildings.id"), nullable=False),
    Column("visited_on", Date, nullable=False),  # in the community's time zone
    Column("categories", String(200), nullable=False),  # comma-separated VisitCategory values
    Column("text", Text, nullable=True),
    Column("voice_file_id", String(200), nullable=True),
    Column("photo_file_id", String(200), nullable=True),
    Column("help_kind", String(16), nullable=True),
    Column("help_fen", BigInteger, nullable=False),  # RMB in fen: exact, no floats
    Column("wellbeing", Integer, nullable=True),
    Column("wellbeing_note", Text, nullable=True),
    Column("token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("member_id", "token", name="uq_visits_member_token"),
    Index("ix_visits_household", "household_id", "visited_on", "id"),
    Index("ix_visits_pair", "pair_id", "visited_on"),
    Index("ix_visits_community_on", "community_id", "visited_on"),
)

# --- slots: a time people sign up for, are reminded of and check in to -----------------------
# Patrol shifts and study sessions are both slots; each feature keeps its own details in a
# table of its own (patrol_shifts, study_sessions) keyed by the slot.

slots = Table(
    "slots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # SlotKind
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    # A study session for one building's members; a patrol shift's first building (its post's).
    Column("building_id", ForeignKey("buildings.id"), nullable=True),
    # The first slot made in the same step (a repeat "every evening for a month"), or None.
    Column("series_id", Integer, nullable=True),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("capacity", Integer, nullable=True),  # None: as many as come
    # Sign-ups going, kept in the transaction that changes them: a guarded UPDATE
    # (taken < capacity) is how a full slot refuses the next one, whatever races.
    Column("taken", Integer, nullable=False, server_default=text("0")),
    Column("status", String(16), nullable=False),  # SlotStatus
    Column("created_by", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Index("ix_slots_community_kind_starts", "community_id", "kind", "starts_at"),
    Index("ix_slots_series", "series_id"),
)

slot_signups = Table(
    "slot_signups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slot_id", ForeignKey("slots.id"), nullable=False),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("status", String(16), nullable=False),  # SignupStatus
    Column("reason", Text, nullable=True),  # why excused, or why dropping out
    # The slot's times, copied: a member's overlapping and upcoming slots are an index read.
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("checked_in_at", UTCDateTime, nullable=True),
    Column("checked_out_at", UTCDateTime, nullable=True),
    Column("latitude", Float, nullable=True),  # where they checked in, when they shared it
    Column("longitude", Float, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("slot_id", "user_id", name="uq_slot_signups_slot_user"),
    Index("ix_slot_signups_user_starts", "user_id", "starts_at"),
    Index("ix_slot_signups_slot_status", "slot_id", "status"),
)

# A member offering their shift to others; the first to accept takes it (a guarded UPDATE).
slot_swaps = Table(
    "slot_swaps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slot_id", ForeignKey("slots.id"), nullable=False),
    Column("from_user_id", ForeignKey("users.id"), nullable=False),
    Column("taken_by", BigInteger, nullable=True),
    Column("status", String(16), nullable=False),  # SwapStatus
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    # One open offer per member and slot.
    Index(
        "uq_slot_swaps_open",
        "slot_id",
        "from_user_id",
        unique=True,
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
)

patrol_posts = Table(
    "patrol_posts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("area", Text, nullable=True),  # what the post covers, in words
    Column("archived", Boolean, nullable=False, server_default=false()),
    Column("created_by", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_patrol_posts_community", "community_id", "id"),
)

patrol_post_buildings = Table(
    "patrol_post_buildings",
    metadata,
    Column("post_id", ForeignKey("patrol_posts.id", ondelete="CASCADE"), primary_key=True),
    Column("building_id", ForeignKey("buildings.id"), primary_key=True),
)

patrol_shifts = Table(
    "patrol_shifts",
    metadata,
    Column("slot_id", ForeignKey("slots.id"), primary_key=True),
    Column("post_id", ForeignKey("patrol_posts.id"), nullable=False),
    Index("ix_patrol_shifts_post", "post_id", "slot_id"),
)

# What a member on patrol saw. Append-only but for its handling: handled, or a wish made of
# it (wish_id), by a coordinator.
patrol_findings = Table(
    "patrol_findings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slot_id", ForeignKey("slots.id"), nullable=False),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("building_id", ForeignKey("buildings.id"), nullable=True),
    Column("reported_by", ForeignKey("users.id"), nullable=False),
    Column("text", Text, nullable=True),
    Column("voice_file_id", String(200), nullable=True),
    Column("photo_file_id", String(200), nullable=True),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("status", String(16), nullable=False),  # FindingStatus
    Column("handled_by", BigInteger, nullable=True),
    Column("handled_at", UTCDateTime, nullable=True),
    Column("wish_id", ForeignKey("wishes.id"), nullable=True),
    Column("token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("reported_by", "token", name="uq_patrol_findings_reporter_token"),
    Index("ix_patrol_findings_community_status", "community_id", "status", "id"),
    Index("ix_patrol_findings_slot", "slot_id", "id"),
    Index("ix_patrol_findings_community_created", "community_id", "created_at"),
)

study_sessions = Table(
    "study_sessions",
    metadata,
    Column("slot_id", ForeignKey("slots.id"), primary_key=True),
    Column("title", String(120), nullable=False),
    Column("topic", Text, nullable=True),
    Column("place", String(200), nullable=True),
    Column("link", String(500), nullable=True),  # an online session's link
    Column("material_file_id", String(200), nullable=True),  # a document sent with it
    Column("material_name", String(200), nullable=True),
    Column("material_link", String(500), nullable=True),
    Column("audience", String(16), nullable=False),  # StudyAudience (building: slots.building_id)
    Column("recurrence", String(16), nullable=False),  # Recurrence
    # The check-in code shown at the session; valid in its window only.
    Column("code", String(8), nullable=False),
)

# --- suggestions (社区智囊团) ---------------------------------------------------------------

# A view or suggestion left with the community. `author_id` is who sent it through the bot (a
# resident, or the member who wrote down one heard face to face: `heard_from` names the
# resident); replies go to them. When `anonymous`, nothing a coordinator sees or exports
# names the author — the column is read only to address the author's own notices.
suggestions = Table(
    "suggestions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("building_id", ForeignKey("buildings.id"), nullable=True),
    Column("author_id", ForeignKey("users.id"), nullable=False),
    Column("anonymous", Boolean, nullable=False, default=False),
    Column("heard_from", String(64), nullable=True),  # recorded face to face for this resident
    Column("topic", String(16), nullable=False),  # SuggestionTopic
    Column("text", Text, nullable=True),
    Column("photo_file_id", String(200), nullable=True),
    Column("voice_file_id", String(200), nullable=True),
    Column("status", String(16), nullable=False),  # SuggestionStatus
    Column("token", String(64), nullable=False),  # a double send makes one suggestion
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("answered_at", UTCDateTime, nullable=True),  # the first reply
    UniqueConstraint("author_id", "token", name="uq_suggestions_author_token"),
    Index("ix_suggestions_community_status", "community_id", "status", "id"),
    Index("ix_suggestions_community_created", "community_id", "created_at"),
    Index("ix_suggestions_author", "author_id", "id"),
)

# A coordinator's answer to a suggestion; the author receives each one.
suggestion_replies = Table(
    "suggestion_replies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("suggestion_id", ForeignKey("suggestions.id", ondelete="CASCADE"), nullable=False),
    Column("replied_by", ForeignKey("users.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_suggestion_replies_suggestion", "suggestion_id", "id"),
)

# What answered a suggestion: a wish, a patrol finding, an announcement (SuggestionLinkKind).
suggestion_links = Table(
    "suggestion_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("suggestion_id", ForeignKey("suggestions.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("ref_id", BigInteger, nullable=False),
    Column("linked_by", ForeignKey("users.id"), nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
    UniqueConstraint("suggestion_id", "kind", "ref_id", name="uq_suggestion_links_ref"),
)

live_messages = Table(
    "live_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(120), nullable=False, unique=True),
    Column("thing", String(64), nullable=False),
    Column("view", String(32), nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("message_id", BigInteger, nullable=True),
    Column("outbox_id", ForeignKey("outbox.id"), nullable=True),
    Column("viewer_id", BigInteger, nullable=True),
    Column("language", String(8), nullable=False),
    # The refresh queued and not yet sent: a second change before it leaves needs no other.
    Column("pending_outbox_id", ForeignKey("outbox.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_live_messages_thing", "thing", "id"),
    # The foreign keys' own indexes: without them SQLite plans a scan of this table for every
    # outbox row added or removed.
    Index("ix_live_messages_outbox", "outbox_id"),
    Index("ix_live_messages_pending", "pending_outbox_id"),
    # Ids are never reused: a follow-up that names an id must not land on a newer row.
    sqlite_autoincrement=True,
)

# --- "you said, we did" (你说我做): the monthly digests sent ----------------------------------

digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id"), nullable=False),
    Column("month", Date, nullable=False),  # its first day
    Column("broadcast_id", ForeignKey("broadcasts.id"), nullable=False),
    Column("sent_by", BigInteger, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    # One digest per community and month, whoever presses send and however often.
    UniqueConstraint("community_id", "month", name="uq_digests_community_month"),
)
