"""Helpers shared by the tests: real daemon processes, media made at test time, a
recording HTTP server, unprivileged runs, word error rate, plugin-test scaffolding."""
