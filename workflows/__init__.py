"""The school's social media policy, one module per procedure.

Each module may offer `WORKFLOWS` (conversations), `COMMANDS` (instant answers),
`ACTIONS` (buttons on cards, named "<module>.<action>") and `SCHEDULES` (reminders
derived from the records). Adding a module here is all it takes to switch it on.
"""

from workflows import leavers, new_account, photo_check, policy_acknowledgement, slt_digest, training

MODULES = (new_account, policy_acknowledgement, training, leavers, photo_check, slt_digest)
