"""Python-state functions for the secrets tests: one echoes its parameter, one fails quoting it."""


def echo(context, x):
    return {"echo": x}


def fail_with(context, x):
    raise ValueError(f"could not log in with password {x}")
