"""The clinic app: models, the one access helper, the course bridge and the screens."""
