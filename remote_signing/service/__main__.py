"""``python -m remote_signing.service [--host 127.0.0.1] [--port 8100]``"""

from __future__ import annotations

import argparse

from . import serve


def main() -> None:
    parser = argparse.ArgumentParser(description="embedded remote signing service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    serve(args.host, args.port, threads=args.threads)


if __name__ == "__main__":
    main()
