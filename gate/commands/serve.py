"""`gate serve --config server.yaml`: answer GitHub's deployment protection rule requests.

Exit codes: 0 stopped by SIGTERM after in-flight decisions were finished or rejected; 2 configuration
error (server.yaml, the App's key, the webhook secret's variable); 3 the engine could not be started or
the port could not be bound; 130 interrupted (SIGINT), after the same shutdown as SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from gate.errors import EngineError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("serve", help="answer GitHub deployment protection rules (a GitHub App server)")
    p.add_argument("--config", "-c", default="server.yaml", type=Path,
                   help="server.yaml (default: ./server.yaml)")
    p.add_argument("--port", type=int,
                   help="listen on this port instead of server.yaml's listen.port (0: any free)")
    p.set_defaults(run=run)


def run(args) -> int:
    import dataclasses

    from gate.serve.config import load_server_config

    config = load_server_config(args.config)
    # decisions run in worker processes; the server's own threads (handing jobs over, answering GitHub) still
    # share the GIL with the event loop: a shorter switch interval lets it acknowledge between them
    sys.setswitchinterval(0.0005)
    if args.port is not None:
        config = dataclasses.replace(config, port=args.port)
    return asyncio.run(serve(config))


async def serve(config, ready=None) -> int:
    """Run until SIGTERM or SIGINT; ready(server) is called once it listens (tests, the benchmark)."""
    from gate.serve.app import Server

    server = Server(config)
    try:
        line = await asyncio.to_thread(server.start_engine)
    except EngineError as exc:
        raise EngineError(f"gate serve: cannot start the engine: {exc}") from None
    stop = asyncio.Event()
    received: list[int] = []
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda sig=sig: (received.append(sig), stop.set()))
    try:
        port = await server.listen()
    except OSError as exc:
        await asyncio.to_thread(server.engine.close)
        raise EngineError(f"gate serve: cannot listen on {config.host}:{config.port}: "
                          f"{exc.strerror or exc}") from None
    server._line({"event": "start", "listen": f"{config.host}:{port}", "engine": server.engine.kind,
                  "workers": config.limits.workers, "queue": config.limits.queue, "message": line})
    print(f"gate serve: listening on http://{config.host}:{port}; {line}", file=sys.stderr, flush=True)
    if ready is not None:
        ready(server)
    await stop.wait()
    counts = await server.shutdown()
    server._line({"event": "stop", "signal": signal.Signals(received[0]).name if received else None,
                  **counts})
    return 130 if received and received[0] == signal.SIGINT else 0
