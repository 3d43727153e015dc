from __future__ import annotations

import sys

from ingest.commands.cli import main

sys.exit(main())
