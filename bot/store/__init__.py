"""The store: tables of JSON records kept in a data folder, written crash-safely, with an audit trail.

The data folder (docs/store.md says more, for the people who look after it):
- ``live.json`` -- every table as of the last checkpoint, in TinyDB's format (checkpoint.py);
- ``journal.jsonl`` -- every commit since, one JSON line each (journal.py);
- ``audit.jsonl`` -- the audit trail, one JSON line per entry (audit.py);
- ``policybot.lock`` -- held while a process uses the folder (folder.py).

`Store` (store.py) ties them together over the tables in memory (tables.py); `Transaction`
(transaction.py) is how everyone reads and writes; `StoreTuning` and `Gaps` (tuning.py) are
what a store is given; repair.py checks a folder and sets damaged lines aside.
"""

from bot.store.audit import audit_problem
from bot.store.checkpoint import read_live
from bot.store.folder import AUDIT, JOURNAL, LIVE, LOCK, PREVIOUS, fsync_dir, lock_folder
from bot.store.journal import journal_problem
from bot.store.lines import Damage, Lines, read_lines
from bot.store.store import Store, iter_tables
from bot.store.tables import META, clone
from bot.store.transaction import Conflict, Transaction
from bot.store.tuning import Gaps, StoreTuning

__all__ = [
    "AUDIT",
    "JOURNAL",
    "LIVE",
    "LOCK",
    "META",
    "PREVIOUS",
    "Conflict",
    "Damage",
    "Gaps",
    "Lines",
    "Store",
    "StoreTuning",
    "Transaction",
    "audit_problem",
    "clone",
    "fsync_dir",
    "iter_tables",
    "journal_problem",
    "lock_folder",
    "read_lines",
    "read_live",
]
