"""Run a command without the power to bypass file permissions, even as root.

CI and developer machines here run as root, which reads and writes anywhere;
dropping CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH makes permission bits bite again.
"""

from __future__ import annotations

import os

CAPS = "-dac_override,-dac_read_search"


def prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--inh-caps={CAPS}", f"--bounding-set={CAPS}"]
