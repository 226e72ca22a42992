"""Helper run in separate processes by the library tests: ``python -m tests.library.proc CMD ...``."""

from __future__ import annotations

import json
import os
import sys
import time

SPEC = 'name = "Shared"\ndsl = "start->step_{n};step_{n}->end;"\n'


def save_versions(db: str, workflow_id: str, n: int, tag: str, go: str) -> None:
    """Once ``go`` exists, save ``n`` new versions of ``workflow_id``; print their numbers as JSON."""
    from engine.library import save_workflow
    from engine.store import Store
    from engine.workflow_file import parse_workflow_text

    s = Store(db)
    while not os.path.exists(go):
        time.sleep(0.005)
    versions = []
    for i in range(n):
        spec = parse_workflow_text(SPEC.format(n=i))
        _, v = save_workflow(s, spec, workflow_id=workflow_id, change_note=f"{tag}-{i}")
        versions.append(v)
    s.close()
    print(json.dumps(versions), flush=True)


def import_file(db: str, path: str, go: str) -> None:
    """Once ``go`` exists, import the workflow file ``path``; print ``[id, version]`` as JSON."""
    from engine.library import import_workflow_file
    from engine.store import Store

    s = Store(db)
    while not os.path.exists(go):
        time.sleep(0.005)
    wid, version = import_workflow_file(s, path)
    s.close()
    print(json.dumps([wid, version]), flush=True)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "save_versions":
        save_versions(args[0], args[1], int(args[2]), args[3], args[4])
    elif cmd == "import_file":
        import_file(args[0], args[1], args[2])
    else:
        raise SystemExit(f"unknown command {cmd}")
