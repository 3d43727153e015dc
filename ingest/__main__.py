from __future__ import annotations

import sys

from ingest.cli import main

sys.exit(main())
