"""Tell Plex about new subtitles: a partial refresh of the section folder.

Not written yet: this plugin implements no hooks.
"""
