"""Skip files that already have subtitles in the wanted language (sidecar or embedded).

Not written yet: this plugin implements no hooks.
"""
