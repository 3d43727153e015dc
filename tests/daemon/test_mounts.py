"""Which filesystem holds a path, and which ones must be polled."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.daemon.mounts import filesystem_type, is_network_fs

MOUNTINFO = r"""22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
25 22 0:22 / /proc rw,nosuid - proc proc rw
40 22 259:3 / /mnt/media rw,relatime shared:20 - ext4 /dev/sdb1 rw
41 22 0:50 / /mnt/media2 rw,relatime shared:21 master:3 - nfs4 nas:/export/media2 rw,vers=4.2
42 22 0:51 / /mnt/nas\040share rw,relatime - cifs //nas/share rw,vers=3.1.1
43 22 0:52 / /mnt/auto rw,relatime shared:30 - autofs systemd-1 rw,fd=52
44 43 0:53 / /mnt/auto rw,relatime - nfs nas:/auto rw
45 22 0:54 / /home/me/remote rw - fuse.sshfs me@box:/ rw
46 22 8:33 / /mnt/usb rw - fuseblk /dev/sdc1 rw
47 22 0:55 / /mnt/host rw - virtiofs hostshare rw
48 22 0:56 / /mnt/merged rw - fuse.mergerfs media rw
"""


@pytest.mark.parametrize(
    ("path", "fstype", "network"),
    [
        ("/mnt/media/tv/Show", "ext4", False),
        ("/mnt/media", "ext4", False),
        ("/mnt/media2/tv", "nfs4", True),
        ("/mnt/nas share/tv", "cifs", True),
        ("/mnt/auto/x", "nfs", True),
        ("/home/me/remote/x", "fuse.sshfs", True),
        ("/mnt/usb/films", "fuseblk", False),
        ("/mnt/host/drop", "virtiofs", True),
        ("/mnt/merged/tv", "fuse.mergerfs", True),
        ("/var/lib/x", "ext4", False),
    ],
)
def test_filesystem_type_from_mountinfo(tmp_path, path, fstype, network):
    sample = tmp_path / "mountinfo"
    sample.write_text(MOUNTINFO)
    assert filesystem_type(Path(path), sample) == fstype
    assert is_network_fs(Path(path), sample) is network


def test_filesystem_type_here(tmp_path):
    assert filesystem_type(tmp_path) not in ("", "unknown")
    assert is_network_fs(tmp_path) is False
    assert filesystem_type(tmp_path, tmp_path / "no-mountinfo") == "unknown"
