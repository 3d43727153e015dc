"""The daemon: watching folders, settling, reconciling, the workers, the drop folder."""
