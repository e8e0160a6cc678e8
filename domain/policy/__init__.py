"""The one place that decides who may see and do what (SPEC §3.3, rules V1–V9, and §4).

Every page, JSON endpoint, export, calendar feed, count, search and Socket.IO handler asks
here. Functions read the database (no caching across requests), so a change of group, role or
extension takes effect on the next request or event (V9). Within one HTTP request or Socket.IO
event the same membership, authorship, mute, extension or own-review question is read once
(``_read``); any write, flush, commit or rollback forgets those answers. Time is always a
parameter: ``now`` is passed in, so tests are plain tables of viewer × moment × expected.
"""
from domain.policy.membership import (  # noqa: F401
    can_edit_schedule,
    can_manage_course,
    can_view_integrity,
    course_role,
    is_author,
    is_instructor,
    is_member,
    is_staff,
    is_student,
)
from domain.policy.panel import (  # noqa: F401
    ASK_PHASES,
    PUBLIC_QUESTION_STATES,
    ROOM_AUTHOR,
    ROOM_CRITIC,
    ROOM_MODERATOR,
    VERDICT_PHASES,
    asker_label,
    audience_asker_label,
    audience_sees_question,
    audience_sees_verdict,
    can_answer,
    can_ask,
    can_cast_verdict,
    can_follow_up,
    can_moderate,
    can_see_question,
    can_view_transcript,
    can_vote,
    is_muted,
    load_room,
    role_sees_question,
    room_role,
)
from domain.policy.reviews import (  # noqa: F401
    can_edit_submitted,
    can_grade_review,
    can_read_others,
    can_view_feedback,
    can_view_review,
    can_view_revisions,
    can_write_review,
    extension_for,
    is_released,
    must_review,
    own_review,
    personal_deadline,
    pseudonym,
    release_at,
    reviewer_label,
    reviewers_of,
    submission_closes_at,
    submission_window,
    visible_review,
    visible_review_count,
    visible_reviews,
)
from domain.policy.schedule import (  # noqa: F401
    can_edit_slides,
    can_sign_up,
    can_view_summary,
    can_write_summary,
    is_summary_open,
)
