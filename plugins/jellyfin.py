"""Tell Jellyfin about new subtitles so they appear without a library scan.

Not written yet: this plugin implements no hooks.
"""
