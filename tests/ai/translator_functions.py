"""Python-state functions for the translator's end-to-end tests: a check that passes, one that fails."""


def passes(context):
    return {"checked": True}


def fails(context):
    raise ValueError("the tone check found a problem")
