"""One module per screen (healthchecks style: plain function views)."""
