"""The HTTP service: app factory, auth, uploads and spool, routes per API, webhooks in."""
