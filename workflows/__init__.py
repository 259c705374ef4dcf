"""The school's social media policy, one module per procedure.

Each module may offer `WORKFLOWS` (conversations), `COMMANDS` (instant answers),
`ACTIONS` (buttons on cards, named "<module>.<action>") and `SCHEDULES` (reminders
derived from the records). Adding a module here is all it takes to switch it on.
"""

from workflows import (
    accounts,
    compromising_image,
    home,
    incidents,
    leavers,
    media_enquiry,
    monitoring_items,
    monitoring_rota,
    new_account,
    photo_check,
    policy_acknowledgement,
    pupil_contact,
    report_abuse,
    slt_digest,
    training,
    waiting,
)

MODULES = (
    accounts,
    new_account,
    incidents,
    report_abuse,
    compromising_image,
    media_enquiry,
    pupil_contact,
    monitoring_rota,
    monitoring_items,
    policy_acknowledgement,
    training,
    leavers,
    photo_check,
    slt_digest,
    waiting,
    home,
)
