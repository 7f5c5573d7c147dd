"""``python -m ui [--host H] [--port P] [--open]``: serve the chat page."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve the page until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m ui", description="中文文档问答网页")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, this machine only; with 0.0.0.0 also set RAG_ALLOWED_HOSTS)",
    )
    parser.add_argument("--port", type=int, default=7860, help="port to serve on (default: 7860)")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    args = parser.parse_args(argv)

    from ui.command import STARTING

    print(STARTING, flush=True)  # said before the heavy imports: the first start never sits silent
    from rag.errors import RagError
    from rag.settings import settings_error
    from ui.app import launch  # gradio is heavy: import it only once the arguments are valid

    try:
        launch(args.host, args.port, open_browser=args.open)
    except RagError as exc:  # one line naming the fix, as the rag command prints it
        raise SystemExit(f"错误：{' '.join(str(exc).split())}") from None
    except Exception as exc:
        friendly = settings_error(exc)  # e.g. RAG_BACKEND=bogus: the setting, its allowed values, where to fix it
        if friendly is None:
            raise
        raise SystemExit(f"错误：{friendly}") from None


if __name__ == "__main__":
    main()
