"""The school's social media policy, one module per procedure.

Each module may offer `WORKFLOWS` (conversations), `FOLLOW_UPS` (questions asked on their
own after a click or a command, with `Outcome.ask`), `COMMANDS` (instant answers),
`ACTIONS` (buttons on cards, named "<module>.<action>") and `SCHEDULES` (reminders
derived from the records), and declare for the core the `TABLES` it owns and the `GUARDS`
its procedure sets (bot/declarations.py). Adding a module to `MODULES` is all it takes to
switch it on; nothing registers itself when imported.
"""

from workflows import (
    account_handover,
    account_setup,
    accounts,
    application_chasing,
    application_decision,
    disclaimer,
    disclaimer_reminders,
    dnp_keeping,
    home,
    item_reminders,
    leavers,
    lookout,
    mentions,
    monitoring_items,
    monitoring_rota,
    new_account,
    people,
    photo_check,
    policy_acknowledgement,
    policy_review,
    post_check,
    post_log,
    reachability,
    rota_gaps,
    rota_swaps,
    slt_digest,
    training,
    training_expiry,
    waiting,
)
from workflows.incidents import chasing, lists, record, reporting, slt

MODULES = (
    accounts,
    new_account,
    application_decision,  # SLT approve or reject an application
    account_setup,  # an approved account is recorded in the register
    application_chasing,  # applications waiting for SLT or an administrator
    slt,  # SLT's handling of incidents
    lists,  # /incidents and /my-reports
    record,  # the incident record (its table)
    chasing,  # incidents nobody owns
    reporting,  # a conversation for each report type in workflows/incidents/
    monitoring_rota,  # /rota and /rota-set
    rota_swaps,  # /swap-duty
    rota_gaps,  # days with nobody on duty
    monitoring_items,
    item_reminders,  # reminders and escalation for monitoring items
    mentions,  # /log-post: posts about the school found elsewhere
    lookout,  # the weekly look-out for posts about the school
    policy_acknowledgement,
    policy_review,  # the policy's own review: /policy's dates, SLT's reminders
    disclaimer,  # /disclaimer: personal accounts that name the school
    disclaimer_reminders,  # its asks and Monday reminders
    training,
    training_expiry,  # training that lapses: reminders, /training-status, the digest's line
    people,  # a person's record (its table)
    leavers,
    account_handover,  # a leaver's accounts: transfer or close
    photo_check,
    dnp_keeping,  # /dnp-add, /dnp-remove, /dnp-list
    post_check,  # /post-check before a post goes out
    post_log,  # the post log (its table), second checks, /post-log
    slt_digest,
    waiting,
    reachability,
    home,
)
