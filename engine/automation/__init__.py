"""Automation: schedules, webhook and file triggers (docs/automation.md).

``specs`` holds the workflow-file shapes and the time arithmetic, ``schedules`` the schedule registry and
the once-only fire claims, ``triggers`` webhook checks and file-version claims, ``loop`` the service
thread that fires them.
"""
