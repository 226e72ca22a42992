"""``workbench serve``: the workbench as a service (FastAPI on uvicorn) that drives runs on its own."""
from __future__ import annotations

import os
import sys


def cmd_serve(args) -> int:
    import uvicorn

    from engine.service import create_app
    from engine.service import logs

    if args.log_level:
        os.environ["WORKBENCH_LOG_LEVEL"] = args.log_level
    logs.configure(args.log_format)
    app = create_app(connect_ray=not args.no_ray)
    print(f"workbench service on http://{args.host}:{args.port} (API /api/v1, docs /docs, metrics /metrics)",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False,
                log_level=logs.log_level(), timeout_graceful_shutdown=5)
    return 0


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the REST API (/api/v1) and drive runs in this process")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--log-format", choices=["json", "text"], default="json",
                   help="json: one object per line on stderr (default); text: for people")
    p.add_argument("--log-level", help="debug|info|warning|error (default: WORKBENCH_LOG_LEVEL or info)")
    p.add_argument("--no-ray", action="store_true", help="do not connect Ray at start-up (it connects on the "
                   "first run that needs it)")
    p.set_defaults(func=cmd_serve)
