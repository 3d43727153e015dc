"""POST a JSON summary of each finished job to configured URLs.

Not written yet: this plugin implements no hooks.
"""
