"""Front ends: the only code that knows a platform (the terminal, Slack, Teams)."""
