#!/usr/bin/env python3
"""riskwatch runner — cron calls this. `python runner.py --help` lists commands and exit codes."""

import sys

from riskwatch.cli import main

if __name__ == "__main__":
    sys.exit(main())
