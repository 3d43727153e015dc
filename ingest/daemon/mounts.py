"""Which filesystem holds a path, read from the mount table, and whether inotify sees it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")

# Filesystems whose changes may come from elsewhere (another host, the VM host) and so
# raise no inotify events here. virtiofs and 9p share a host folder into a VM and vboxsf
# does so for VirtualBox: files the host drops there are invisible to the guest's inotify.
# Cluster filesystems (ceph, lustre, ...) behave the same for writes from other nodes.
# autofs is the trigger under an automounted share, almost always NFS or SMB.
_NETWORK_FS = frozenset(
    (
        *("cifs", "smb3", "smbfs", "smb2", "nfs", "nfs4", "afs", "coda", "davfs", "fuse", "autofs"),
        *("9p", "virtiofs", "vboxsf", "ceph", "glusterfs", "lustre", "gpfs", "beegfs", "ocfs2", "gfs2"),
    )
)
_MOUNTINFO_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    """Undo mountinfo's octal escapes (``\\040`` is a space)."""
    return _MOUNTINFO_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def _mounts(mountinfo: Path) -> Iterator[tuple[str, str]]:
    """(mount point, fstype) for each line of a mountinfo file, in mount order."""
    for line in mountinfo.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        fields = line.split(" ")  # spaces inside fields are escaped
        sep = fields.index("-", 6) if "-" in fields[6:] else len(fields)  # optional fields end at a lone "-"
        if sep + 1 < len(fields):
            yield _unescape(fields[4]), fields[sep + 1]


def filesystem_type(path: Path, mountinfo: Path = MOUNTINFO) -> str:
    """The fstype of the mount holding ``path`` ("unknown" when mountinfo cannot be read)."""
    target = os.path.realpath(path)
    best, fstype = -1, "unknown"
    try:
        mounts = list(_mounts(mountinfo))
    except OSError:
        return fstype
    for mount_point, kind in mounts:  # on a tie the later mount is the one on top
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= best:
            best, fstype = len(mount_point), kind
    return fstype


def is_network_fs(path: Path, mountinfo: Path = MOUNTINFO) -> bool:
    """True where inotify may miss changes: network, cluster, VM-shared and FUSE filesystems.

    ``fuseblk`` (ntfs-3g, exfat on a local disk) stays native: every write passes
    through this kernel, so inotify sees it.
    """
    fstype = filesystem_type(path, mountinfo)
    return fstype in _NETWORK_FS or fstype.startswith("fuse.")
